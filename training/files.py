"""Where training keeps its files: the `training` storage (Django's storage API, so S3 works too).

Layout::

    files/<sha256>.jsonl                      training files, content-addressed
    jobs/<job>/adapter/…                      the trained adapter and its manifest
    jobs/<job>/checkpoints/<step>/…           the latest resumable state (another host can go on)
    jobs/<job>/merged/…                       the merged model, made on request
    jobs/<job>/trainer.log                    the trainer's whole log
"""

import hashlib
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, storages

FILE_PREFIX = "file-"


def storage() -> Storage:
    return storages["training"]


def file_store(content: bytes) -> str:
    """Keep a training file once per content; its id, as a provider's files API would give one."""
    digest = hashlib.sha256(content).hexdigest()
    name = f"files/{digest}.jsonl"
    if not storage().exists(name):
        storage().save(name, ContentFile(content))
    return f"{FILE_PREFIX}{digest}"


def file_exists(file_id: str) -> bool:
    return file_id.startswith(FILE_PREFIX) and storage().exists(_file_name(file_id))


def _file_name(file_id: str) -> str:
    digest = file_id.removeprefix(FILE_PREFIX)
    if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
        raise ValueError(f"not a training file id: {file_id}")
    return f"files/{digest}.jsonl"


def file_copy_to(file_id: str, path: Path) -> Path:
    with storage().open(_file_name(file_id), "rb") as source, open(path, "wb") as target:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            target.write(chunk)
    return path


def job_prefix(public_id: str) -> str:
    return f"jobs/{public_id}"


def tree_upload(local: Path, prefix: str) -> list[str]:
    """Copy a local directory into storage under `prefix`, replacing what was there."""
    tree_delete(prefix)
    names = []
    for path in sorted(local.rglob("*")):
        if path.is_file():
            name = f"{prefix}/{path.relative_to(local).as_posix()}"
            with open(path, "rb") as handle:
                names.append(storage().save(name, File(handle)))
    return names


def tree_files(prefix: str) -> list[str]:
    """Storage names under `prefix`, sorted."""
    found: list[str] = []
    if not prefix:
        return found
    try:
        folders, files = storage().listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return found
    found.extend(f"{prefix}/{name}" for name in files)
    for folder in folders:
        found.extend(tree_files(f"{prefix}/{folder}"))
    return sorted(found)


def tree_download(prefix: str, local: Path) -> bool:
    """Copy what storage holds under `prefix` into `local`; False when there is nothing."""
    names = tree_files(prefix)
    for name in names:
        target = local / name.removeprefix(prefix + "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        with storage().open(name, "rb") as source, open(target, "wb") as handle:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                handle.write(chunk)
    return bool(names)


def tree_delete(prefix: str) -> None:
    for name in tree_files(prefix):
        storage().delete(name)


class _Chunks:
    """A write-only file that zipfile writes into and the response reads from, piece by piece."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.offset = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def zip_stream(prefix: str, *, root: str) -> Iterator[bytes]:
    """The files under `prefix` as a ZIP archive, streamed (memory stays flat even for a merged
    model of many gigabytes); the entries are named `root/<path under prefix>`."""
    sink = _Chunks()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name in tree_files(prefix):
            entry = f"{root}/{name.removeprefix(prefix + '/')}"
            with storage().open(name, "rb") as source, archive.open(entry, "w", force_zip64=True) as target:
                for chunk in iter(lambda: source.read(1 << 20), b""):
                    target.write(chunk)
                    yield sink.take()
            yield sink.take()
    yield sink.take()


def storage_size(prefix: str) -> int:
    return sum(storage().size(name) for name in tree_files(prefix))


def local_tail(path: Path, *, lines: int = 40) -> str:
    """The last lines of a local log file."""
    if not path.exists():
        return ""
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 64 * 1024))
        text = handle.read().decode("utf-8", errors="replace")
    # Progress bars redraw with carriage returns: keep what a terminal would show last.
    kept = [line.rsplit("\r", 1)[-1] for line in text.splitlines()]
    return "\n".join([line for line in kept if line.strip()][-lines:])
