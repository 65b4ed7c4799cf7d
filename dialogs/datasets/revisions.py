"""What changed between two states of an example, message by message and line by line. The
history shows it per revision; the conflict notice shows what the other curator changed."""

import difflib
import json
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Protocol

from django.utils.translation import gettext as _

from core.diffs import DiffLine, line_diff
from trainingfiles.vision import content_text

from ..models import Example, ExampleRevision
from .images import image_label, image_urls


class ExampleState(Protocol):
    """An example or one of its revisions: both carry these fields."""

    messages: list[dict]
    system: str
    system_overridden: bool


@dataclass(frozen=True)
class MessageChange:
    kind: str  # "added", "removed" or "changed"
    label: str  # "Message 2 · assistant", "System message"
    notes: list[str] = field(default_factory=list)  # what changed besides the text: role, weight
    lines: list[DiffLine] = field(default_factory=list)


def message_text(message: dict) -> str:
    """The text a curator reads for a message: its content ("[image 640×480]" for each image,
    never its data), then any tool calls it makes."""
    content = message.get("content")
    if isinstance(content, list):
        text = "\n".join([content_text(content), *map(image_label, image_urls(content))]).strip("\n")
    else:
        text = (
            content
            if isinstance(content, str)
            else ("" if content is None else json.dumps(content, ensure_ascii=False))
        )
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        text += f"\n→ {function.get('name', '?')}({function.get('arguments', '')})"
    return text.strip("\n")


def _label(index: int, message: dict) -> str:
    return _("Message %(number)s · %(role)s") % {"number": index + 1, "role": message.get("role", "?")}


def _learns(message: dict) -> bool:
    return message.get("weight", 1) != 0


def _notes(before: dict, after: dict) -> list[str]:
    notes = []
    if before.get("role") != after.get("role"):
        notes.append(_("role: %(before)s → %(after)s") % {"before": before.get("role"), "after": after.get("role")})
    if after.get("role") == "assistant" and before.get("role") == "assistant" and _learns(before) != _learns(after):
        notes.append(_("learn from this answer: on") if _learns(after) else _("learn from this answer: off"))
    return notes


def _system_change(before: ExampleState | None, after: ExampleState) -> MessageChange | None:
    old_own = before.system_overridden if before else False
    old_text = before.system if before and before.system_overridden else ""
    new_text = after.system if after.system_overridden else ""
    if old_own == after.system_overridden and old_text == new_text:
        return None
    notes = []
    if old_own != after.system_overridden:
        notes.append(
            _("own system message for this example")
            if after.system_overridden
            else _("follows the assistant's instructions")
        )
    return MessageChange("changed", _("System message"), notes, line_diff(old_text, new_text))


def example_changes(before: ExampleState | None, after: ExampleState) -> list[MessageChange]:
    """The messages added, removed or changed from `before` (None: an empty example) to `after`.
    Messages are matched as a sequence, so an insertion does not show every later message as changed."""
    changes = [change for change in [_system_change(before, after)] if change]
    old = before.messages if before else []
    new = after.messages

    def key(message: dict) -> str:
        return json.dumps(message, sort_keys=True, ensure_ascii=False)

    matcher = difflib.SequenceMatcher(None, [key(m) for m in old], [key(m) for m in new], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for i, j in zip_longest(range(i1, i2), range(j1, j2)):
            if i is None:
                changes.append(MessageChange("added", _label(j, new[j]), [], line_diff("", message_text(new[j]))))
            elif j is None:
                changes.append(MessageChange("removed", _label(i, old[i]), [], line_diff(message_text(old[i]), "")))
            else:
                lines = line_diff(message_text(old[i]), message_text(new[j]))
                changes.append(MessageChange("changed", _label(j, new[j]), _notes(old[i], new[j]), lines))
    return changes


def revision_changes(revision: ExampleRevision) -> list[MessageChange]:
    """What this revision changed against the one before it."""
    previous = (
        ExampleRevision.objects.filter(example_id=revision.example_id, version__lt=revision.version)
        .order_by("-version")
        .first()
    )
    return example_changes(previous, revision)


def changes_since(example: Example, version: int) -> list[MessageChange]:
    """What others changed since `version` (the one an editor loaded), up to the example as it is."""
    seen = ExampleRevision.objects.filter(example=example, version=version).first()
    return example_changes(seen, example) if seen else []
