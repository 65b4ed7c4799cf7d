import difflib
from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery

from .models import Assistant, InstructionsVersion


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "added", "removed", "same", "gap"
    text: str


@dataclass(frozen=True)
class VersionChange:
    version: InstructionsVersion
    lines: list[DiffLine]


def instructions_history(*, versions: list[InstructionsVersion]) -> list[VersionChange]:
    """Each version with the line diff from the one before it (newest first)."""
    ordered = sorted(versions, key=lambda v: v.number)
    changes = []
    previous = ""
    for version in ordered:
        changes.append(VersionChange(version=version, lines=line_diff(previous, version.instructions)))
        previous = version.instructions
    return changes[::-1]


def line_diff(before: str, after: str) -> list[DiffLine]:
    """The lines that changed from `before` to `after`, with two lines of context (the history
    pages of instructions and of examples show them)."""
    lines = []
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=2)
    for raw in diff:
        if raw.startswith(("---", "+++")):
            continue
        if raw.startswith("@@"):
            lines.append(DiffLine("gap", "…"))
        elif raw.startswith("+"):
            lines.append(DiffLine("added", raw[1:]))
        elif raw.startswith("-"):
            lines.append(DiffLine("removed", raw[1:]))
        else:
            lines.append(DiffLine("same", raw[1:]))
    return lines


def assistants_for_chat(course) -> list[Assistant]:
    """A course's assistants as the chat asks them: with the provider, and the id of the current
    instructions version (`current_version_id`), which a new answer records."""
    current = InstructionsVersion.objects.filter(assistant=OuterRef("pk")).order_by("-number").values("pk")[:1]
    queryset: QuerySet[Assistant] = course.assistants.select_related("provider")
    return list(queryset.annotate(current_version_id=Subquery(current)))


def current_version_id(assistant: Assistant) -> int | None:
    """The id of the assistant's current instructions version (read with it by assistants_for_chat)."""
    if hasattr(assistant, "current_version_id"):
        return assistant.current_version_id
    return assistant.versions.values_list("pk", flat=True).first()
