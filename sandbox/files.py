"""Files: uploads with their bytes, kept in the database."""

from pathlib import PurePath

from django.utils import timezone

from .errors import invalid, not_found
from .models import File, new_id, unix

UPLOAD_PURPOSES = (File.Purpose.FINE_TUNE, File.Purpose.ASSISTANTS, File.Purpose.USER_DATA)


def file_to_dict(file: File) -> dict:
    return {
        "id": file.public_id,
        "object": "file",
        "bytes": file.size,
        "created_at": unix(file.created_at),
        "filename": file.filename,
        "purpose": file.purpose,
        "status": "processed",
        "expires_at": None,
        "status_details": None,
    }


def file_create(*, filename: str, content: bytes, purpose: str) -> File:
    """Store an upload. Fine-tuning files must be .jsonl, as OpenAI requires at upload time."""
    if purpose not in UPLOAD_PURPOSES:
        allowed = ", ".join(f"'{p}'" for p in UPLOAD_PURPOSES)
        raise invalid(f"'{purpose}' is not one of {allowed} - 'purpose'", param="purpose")
    filename = PurePath(filename or "upload").name
    if purpose == File.Purpose.FINE_TUNE and not filename.lower().endswith(".jsonl"):
        raise invalid(
            f"Invalid file format for Fine-Tuning API. Must be .jsonl (got '{filename}').",
            param="file",
            code="invalid_file_format",
        )
    return File.objects.create(
        public_id=new_id("file-"),
        filename=filename,
        purpose=purpose,
        content=content,
        size=len(content),
        created_at=timezone.now(),
    )


def file_get(file_id: str, *, param: str = "id") -> File:
    file = File.objects.filter(public_id=file_id).first()
    if file is None:
        raise not_found("File", file_id, param=param)
    return file


def file_delete(file_id: str) -> str:
    file = file_get(file_id)
    file.delete()
    return file_id
