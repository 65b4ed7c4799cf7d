"""The editor's changes to an example, as values: each builder checks its arguments and returns a
`Change`, which `services.example_change` applies under the version check (a stale edit is a
conflict, never an overwrite) and records as a revision under its summary."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from core.images import CleanImage, check_count
from trainingfiles.pii import redact_pii

from ..models import Dataset, Example
from . import images

EDITABLE_ROLES = ("user", "assistant", "system", "developer", "tool")


@dataclass(frozen=True)
class Change:
    """What `example_change` does to an example's fields, named for the revision log."""

    summary: str
    apply: Callable[[Example], None]


def _message_at(example: Example, index: int) -> dict:
    if not 0 <= index < len(example.messages):
        raise IndexError(index)
    return example.messages[index]


def set_content(index: int, content: str) -> Change:
    def apply(example: Example) -> None:
        message = _message_at(example, index)
        if message.get("role") == "assistant" and "original" not in message and message.get("content") != content:
            message["original"] = message.get("content") or ""  # the recorded answer: DPO's rejected side
        message["content"] = images.with_text(message.get("content"), content)  # its images stay
        if message.get("original") == content:
            del message["original"]

    return Change(_("Edited message %(number)s") % {"number": index + 1}, apply)


def delete_message(index: int) -> Change:
    def apply(example: Example) -> None:
        _message_at(example, index)
        del example.messages[index]

    return Change(_("Deleted message %(number)s") % {"number": index + 1}, apply)


def insert_message(index: int, role: str, content: str = "") -> Change:
    """Insert before `index` (`len(messages)` appends)."""
    if role not in EDITABLE_ROLES:
        raise ValueError(role)

    def apply(example: Example) -> None:
        if not 0 <= index <= len(example.messages):
            raise IndexError(index)
        message: dict[str, Any] = {"role": role, "content": content}
        if role == "assistant":
            message["weight"] = 1
        example.messages.insert(index, message)

    return Change(_("Inserted message %(number)s") % {"number": index + 1}, apply)


def set_role(index: int, role: str) -> Change:
    if role not in EDITABLE_ROLES:
        raise ValueError(role)

    def apply(example: Example) -> None:
        message = _message_at(example, index)
        message["role"] = role
        if role == "assistant":
            message.setdefault("weight", 1)
        else:
            for key in ("weight", "tool_calls", "original"):
                message.pop(key, None)
        if role != "tool":
            message.pop("tool_call_id", None)

    return Change(_("Changed the role of message %(number)s") % {"number": index + 1}, apply)


def set_weight(index: int, learn: bool) -> Change:
    def apply(example: Example) -> None:
        message = _message_at(example, index)
        if message.get("role") != "assistant":
            raise ValueError(index)
        message["weight"] = 1 if learn else 0

    summary = _("Learn from answer %(number)s") if learn else _("Do not learn from answer %(number)s")
    return Change(summary % {"number": index + 1}, apply)


def set_system(text: str | None) -> Change:
    """An own system message, or None to follow the assistant's current instructions."""

    def apply(example: Example) -> None:
        example.system_overridden = text is not None
        example.system = text or ""

    return Change(
        _("Changed the system message") if text is not None else _("System message follows the assistant"), apply
    )


def set_status(status: str) -> Change:
    def apply(example: Example) -> None:
        example.status = status

    return Change(_("Marked ready") if status == Example.Status.READY else _("Marked as draft"), apply)


def set_split(split: str) -> Change:
    def apply(example: Example) -> None:
        example.split = split

    return Change(_("Split set to %(split)s") % {"split": Example.Split(split).label}, apply)


def move_to(dataset: Dataset) -> Change:
    """Into another dataset of the same course; its revisions go with it."""

    def apply(example: Example) -> None:
        if dataset.course_id != example.dataset.course_id or dataset.pk == example.dataset_id:
            raise ValueError(dataset)
        example.dataset = dataset

    return Change(_("Moved to the dataset %(name)s") % {"name": dataset.name}, apply)


def redact(index: int | None = None) -> Change:
    """Replace emails, phone numbers and card numbers in one message (or all of them)."""

    def apply(example: Example) -> None:
        targets = [_message_at(example, index)] if index is not None else example.messages
        for message in targets:
            content = message.get("content")
            if isinstance(content, str):
                message["content"] = redact_pii(content)
            elif isinstance(content, list):  # the text parts; images are left as they are
                for part in content:
                    if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
                        part["text"] = redact_pii(part["text"])
        if index is None and example.system_overridden:
            example.system = redact_pii(example.system)

    return Change(_("Removed personal data"), apply)


def remove_image(index: int, number: int) -> Change:
    """Take the `number`th image (from 1) out of a message; its text stays."""

    def apply(example: Example) -> None:
        message = _message_at(example, index)
        message["content"] = images.without_image(message.get("content"), number)

    return Change(_("Image removed from message %(number)s") % {"number": index + 1}, apply)


def add_image(index: int, image: CleanImage) -> Change:
    """Add a cleaned image (core.images.clean_image) to a user message, after its others, within
    CHAT_IMAGE_MAX_COUNT images a message (ImageRefused beyond: a ValueError with a message)."""

    def apply(example: Example) -> None:
        message = _message_at(example, index)
        if message.get("role") != "user":
            raise ValueError(index)  # OpenAI trains on images in user messages only
        check_count(len(images.image_urls(message.get("content"))) + 1)
        message["content"] = images.with_image(message.get("content"), image.data_url)

    return Change(_("Image added to message %(number)s") % {"number": index + 1}, apply)
