import difflib
from dataclasses import dataclass

from .models import InstructionsVersion


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
