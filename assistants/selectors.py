from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery

from core.diffs import DiffLine, line_diff

from .models import Assistant, InstructionsVersion


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
