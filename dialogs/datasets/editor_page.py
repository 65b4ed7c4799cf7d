"""What the example editor shows: its messages as rows with their issues, the issues panel, and
the page's context (the views in views_editor render it)."""

import functools
from dataclasses import dataclass, field
from typing import Any

from courses.access import CourseAccess
from trainingfiles.reports import Issue
from trainingfiles.vision import content_text

from ..models import Example
from . import checks, edits, lines, services
from .forms import other_datasets
from .images import ShownImage, shown_images


@dataclass(frozen=True)
class Row:
    """One message as the editor shows it."""

    index: int
    message: dict
    issues: list[Issue] = field(default_factory=list)

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def role(self) -> str:
        return self.message.get("role", "")

    @property
    def text(self) -> str:
        return content_text(self.message.get("content"))

    @functools.cached_property
    def images(self) -> list[ShownImage]:
        return shown_images(self.message.get("content"))

    @property
    def rejected(self) -> str | None:
        """The recorded answer a curator rewrote: the rejected side of a DPO pair."""
        return lines.rewritten_from(self.message)


@dataclass(frozen=True)
class PanelIssue:
    issue: Issue
    index: int | None  # editor index of the message concerned; -1 is the system message

    @property
    def number(self) -> int | None:
        return None if self.index is None else self.index + 1

    @property
    def is_pii(self) -> bool:
        return self.issue.code.startswith("pii_")


def editor_context(access: CourseAccess, example: Example, **extra: Any) -> dict[str, Any]:
    dataset = example.dataset
    report = services.example_report(example, dataset)
    system = lines.system_message(example, dataset)
    # The report counts the system message, which the training line puts first.
    offset = 1 if system else 0
    by_index: dict[int, list[Issue]] = {}
    panel_issues = []
    for issue in report.issues:
        index = None if issue.message_index is None else issue.message_index - offset
        panel_issues.append(PanelIssue(issue, index))
        if index is not None:
            by_index.setdefault(index, []).append(issue)
    return {
        "course": access.course,
        "access": access,
        "dataset": dataset,
        "example": example,
        "system": system,
        "system_issues": by_index.get(-1, []),
        "rows": [Row(index, message, by_index.get(index, [])) for index, message in enumerate(example.messages)],
        "report": report,
        "issues": panel_issues,
        "token_limit": checks.token_limit(dataset),
        "roles": edits.EDITABLE_ROLES,
        "splits": Example.Split.choices,
        "other_datasets": list(other_datasets(example)),
        "revisions": example.revisions.select_related("author")[:50],
        "editing": None,
        **extra,
    }
