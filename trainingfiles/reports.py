"""What validation finds: issues, each example's report and the dataset's."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal, NamedTuple

ERROR: Literal["error"] = "error"
WARNING: Literal["warning"] = "warning"
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    code: str  # a stable machine name, e.g. "missing_assistant_message"
    severity: Severity
    message: str  # user-facing, translated
    example_key: object | None = None
    message_index: int | None = None  # 0-based position in the example's messages (DPO: input messages)


class ExampleReport(NamedTuple):
    """One example's findings. A named tuple rather than a frozen dataclass: a dataset makes
    one per example, and a frozen dataclass took four times as long to build."""

    key: object | None
    kind: str | None  # llm.catalog.SFT or DPO; None when the shape is unrecognisable
    issues: tuple[Issue, ...]
    messages: int
    total_tokens: int  # per the guide's rule; DPO: input plus both outputs
    assistant_tokens: int  # content of assistant turns (DPO: both outputs)
    images: int = 0  # image parts of its messages

    @property
    def errors(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity == ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity == WARNING]

    @property
    def is_valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class DatasetReport:
    examples: tuple[ExampleReport, ...]
    issues: tuple[Issue, ...]  # about the dataset as a whole, or between examples (duplicates)
    kind: str | None  # SFT or DPO when every recognisable example agrees

    def all_issues(self) -> Iterator[Issue]:
        yield from self.issues
        for report in self.examples:
            yield from report.issues

    def issues_by_example(self) -> dict[object, list[Issue]]:
        """Every issue that concerns one example (duplicates included), by example key."""
        grouped: dict[object, list[Issue]] = {}
        for issue in self.all_issues():
            if issue.example_key is not None:
                grouped.setdefault(issue.example_key, []).append(issue)
        return grouped

    @property
    def error_count(self) -> int:
        return sum(1 for issue in self.all_issues() if issue.severity == ERROR)

    @property
    def warning_count(self) -> int:
        return sum(1 for issue in self.all_issues() if issue.severity == WARNING)

    @property
    def is_blocked(self) -> bool:
        """Training must not start: at least one error."""
        return any(issue.severity == ERROR for issue in self.all_issues())


def names_listed(names: Iterable[object]) -> str:
    """Names (keys, ids, roles) as a message lists them: "a, b, c"."""
    return ", ".join(str(name) for name in names)
