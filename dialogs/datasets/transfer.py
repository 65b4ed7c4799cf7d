"""Imports into and exports out of a dataset: streamed in the request when small, run by django-q2
with a progress bar when large (`settings.DATASET_BACKGROUND_EXAMPLES`).

An uploaded file is kept in Django's storage, under a random name, between the preview and the
confirmation; views reach it only through its `Transfer` row (of the dataset, so of the course),
never through a path the browser sends. Tasks may run more than once: a finished transfer is
left alone, and an import saves its examples and marks itself done in one transaction.
"""

import tempfile
from collections.abc import Callable, Iterator
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from accounts.models import User
from core.background import requeue_stalled
from llm.catalog import SFT
from trainingfiles.formats import (
    ImportResult,
    LineError,
    export_dpo,
    export_hf_chat,
    export_supervised,
    parse_csv,
    parse_jsonl,
)

from ..models import Dataset, Example, Transfer
from . import lines, services
from .images import imported_images_clean
from .revisions import message_text

EXPORT_FORMATS = (Transfer.Format.SUPERVISED, Transfer.Format.DPO, Transfer.Format.HF_CHAT)
SPLITS = ("", Example.Split.TRAIN, Example.Split.VALIDATION)
JSONL_CONTENT_TYPE = "application/jsonl; charset=utf-8"
IMPORT_EXTENSIONS = {
    ".jsonl": Transfer.Format.SUPERVISED,
    ".json": Transfer.Format.SUPERVISED,
    ".csv": Transfer.Format.CSV,
}


def runs_in_background(examples: int) -> bool:
    return examples > settings.DATASET_BACKGROUND_EXAMPLES


# Export --------------------------------------------------------------------------------------


def export_lines(
    dataset: Dataset, *, format: str, split: str = "", progress: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The dataset's ready examples (of one split, or all) as JSONL lines in `format`, read in chunks."""
    kind = "dpo" if format == Transfer.Format.DPO else "sft"
    rows = lines.dataset_rows(dataset, kind=kind, split=split or None, progress=progress)
    if format == Transfer.Format.DPO:
        return export_dpo(rows)
    if format == Transfer.Format.HF_CHAT:
        return export_hf_chat(rows)
    return export_supervised(rows)


def export_filename(dataset: Dataset, *, format: str, split: str = "") -> str:
    parts = [slugify(dataset.name) or "dataset", format.replace("_", "-")]
    if split:
        parts.append(split)
    return "-".join(parts) + ".jsonl"


def ready_count(dataset: Dataset) -> int:
    return dataset.examples.filter(status=Example.Status.READY).count()


def transfer_export_start(*, dataset: Dataset, format: str, split: str, user: User | None) -> Transfer:
    """Queue an export to a file in storage (for datasets too large to stream in a request)."""
    if format not in EXPORT_FORMATS or split not in SPLITS:
        raise ValueError((format, split))
    transfer = Transfer.objects.create(
        kind=Transfer.Kind.EXPORT,
        dataset=dataset,
        format=format,
        split=split,
        total=ready_count(dataset),
        name=export_filename(dataset, format=format, split=split),
        created_by=user,
    )
    transaction.on_commit(lambda: async_task("dialogs.tasks.transfer_run", transfer.pk))
    return transfer


def transfer_export_run(transfer: Transfer) -> None:
    """Write the export to a temporary file, line by line (memory stays flat), then to storage."""
    dataset = transfer.dataset
    _progress(transfer, 0, status=Transfer.Status.RUNNING)
    with tempfile.TemporaryFile() as spool:
        lines = export_lines(
            dataset, format=transfer.format, split=transfer.split, progress=lambda n: _progress(transfer, n)
        )
        for line in lines:
            spool.write(line)
        spool.seek(0)
        transfer.file.save(transfer.name, File(spool), save=False)
    transfer.status = Transfer.Status.DONE
    transfer.done = transfer.total
    transfer.save(update_fields=["file", "status", "done", "updated_at"])


# Import --------------------------------------------------------------------------------------


def transfer_upload(*, dataset: Dataset, upload: UploadedFile, user: User | None) -> Transfer:
    """Keep an uploaded file for its preview. Raises ValidationError for a file we will not read."""
    limit = settings.DATASET_IMPORT_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        message = _(
            "The file is %(size)s; the largest file an import accepts is %(limit)s. Split it into smaller files."
        )
        raise ValidationError(message % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)})
    format = IMPORT_EXTENSIONS.get(PurePath(upload.name or "").suffix.lower())
    if format is None:
        raise ValidationError(
            _("Choose a .jsonl file (OpenAI chat format) or a .csv file (question and answer columns).")
        )
    name = PurePath(upload.name).name[:255]
    upload.name = f"upload{PurePath(name).suffix.lower()}"  # stored under our name, shown under theirs
    return Transfer.objects.create(
        kind=Transfer.Kind.IMPORT,
        dataset=dataset,
        format=format,
        status=Transfer.Status.UPLOADED,
        file=upload,
        name=name,
        created_by=user,
    )


def transfer_parse(transfer: Transfer) -> ImportResult:
    """Read the uploaded file: every example, or none and a report naming each bad line. Its
    images are checked and cleaned as the chat's uploads are (images.imported_images_clean)."""
    parse = parse_csv if transfer.format == Transfer.Format.CSV else parse_jsonl
    limits = {"max_bytes": settings.DATASET_IMPORT_MAX_BYTES, "max_lines": settings.DATASET_IMPORT_MAX_EXAMPLES}
    with transfer.file.open("rb") as source:
        result = parse(source, **limits)
    if result.ok and result.kind != SFT:
        message = _("The file holds preference pairs (DPO); a dataset imports chat examples only.")
        return ImportResult(errors=[LineError(0, message)])
    if result.ok and (problems := imported_images_clean(result.examples)):
        return ImportResult(errors=[LineError(0, problem) for problem in problems])
    return result


def import_preview(result: ImportResult, count: int) -> list[dict]:
    """The first `count` examples as the preview shows them: each message's text, with
    "[image 640×480]" for each image (never its data)."""
    return [
        {"messages": [{**message, "content": message_text(message)} for message in example["messages"]]}
        for example in result.examples[:count]
    ]


def transfer_import_confirm(*, transfer: Transfer) -> Transfer:
    """Import the previewed file: at once when small, in the background when large."""
    if transfer.status != Transfer.Status.UPLOADED:
        return transfer
    transfer.total = _line_count(transfer)
    transfer.status = Transfer.Status.QUEUED
    transfer.save(update_fields=["total", "status", "updated_at"])
    if runs_in_background(transfer.total):
        transaction.on_commit(lambda: async_task("dialogs.tasks.transfer_run", transfer.pk))
    else:
        transfer_import_run(transfer)
        transfer.refresh_from_db()
    return transfer


def transfer_import_run(transfer: Transfer) -> None:
    _progress(transfer, 0, status=Transfer.Status.RUNNING)
    result = transfer_parse(transfer)
    if not result.ok:
        _fail(transfer, "\n".join(str(error) for error in result.errors))
        return
    transfer.total = len(result.examples)
    Transfer.objects.filter(pk=transfer.pk).update(total=transfer.total, updated_at=timezone.now())
    examples = services.examples_build(
        dataset=transfer.dataset,
        rows=result.examples,
        user=transfer.created_by,
        progress=lambda n: _progress(transfer, n),
    )
    with transaction.atomic():
        # A second run of the task (at-least-once delivery) finds the first one's work done.
        locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
        if locked.status == Transfer.Status.DONE:
            return
        summary = _("Imported from %(file)s") % {"file": transfer.name}
        services.examples_save(examples, user=transfer.created_by, summary=summary)
        Transfer.objects.filter(pk=transfer.pk).update(
            status=Transfer.Status.DONE, done=len(examples), total=len(examples)
        )
    # Imported: the upload is not needed any more.
    transfer.file.storage.delete(transfer.file.name)
    Transfer.objects.filter(pk=transfer.pk).update(file="")


def _line_count(transfer: Transfer) -> int:
    """About how many examples the file holds (its lines), to choose where the import runs."""
    lines, last = 0, b"\n"
    with transfer.file.open("rb") as source:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    lines += last != b"\n"
    return max(0, lines - (transfer.format == Transfer.Format.CSV))  # a CSV's first line is its header


# Both ----------------------------------------------------------------------------------------


def transfer_run(transfer_id: int) -> None:
    """The background task's work (see dialogs.tasks). Safe to run again."""
    transfer = Transfer.objects.select_related("dataset__assistant", "created_by").filter(pk=transfer_id).first()
    if transfer is None or transfer.status in (Transfer.Status.DONE, Transfer.Status.FAILED):
        return
    try:
        if transfer.kind == Transfer.Kind.EXPORT:
            transfer_export_run(transfer)
        else:
            transfer_import_run(transfer)
    except Exception as error:
        _fail(transfer, _("The transfer stopped: %(error)s") % {"error": error})
        raise


def transfers_recover() -> int:
    """Queue the task again for transfers that lost theirs (see core.background)."""
    unfinished = Transfer.objects.filter(status__in=[Transfer.Status.QUEUED, Transfer.Status.RUNNING])
    return requeue_stalled(unfinished, "dialogs.tasks.transfer_run")


def _progress(transfer: Transfer, done: int, *, status: str | None = None) -> None:
    # A small UPDATE outside any transaction: the page's polling sees it at once, and the new
    # `updated_at` tells transfers_recover that the task is alive.
    fields: dict = {"done": done, "updated_at": timezone.now()}
    if status:
        fields["status"] = status
    Transfer.objects.filter(pk=transfer.pk).update(**fields)
    transfer.done = done
    if status:
        transfer.status = status


def _fail(transfer: Transfer, error: str) -> None:
    Transfer.objects.filter(pk=transfer.pk).update(status=Transfer.Status.FAILED, error=error)
    transfer.status, transfer.error = Transfer.Status.FAILED, error
