"""The dataset page's validation report, from the examples' stored checks (dialogs.datasets.checks).

What concerns the dataset as a whole (size, kinds, exact and near duplicates, the split, the token
statistics, epochs and cost) comes from the dataset's tallies (dialogs.datasets.tallies), which every
change of an example keeps up to date: a fixed number of small queries, whatever the size of the
dataset or of the page. Messages are made in the reader's language for the issues the page lists
(at most ISSUES_PER_CHECK per check), from those examples alone.
"""

from dataclasses import dataclass, field

from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from llm.catalog import get_model
from trainingfiles.inspection import Inspection, token_limit_message
from trainingfiles.reports import ERROR, DatasetReport, Issue
from trainingfiles.stats import DatasetStats, measures_stats
from trainingfiles.validation import dataset_issues, duplicate_issue, near_duplicate_issue

from ..models import Dataset, DatasetFingerprint, DatasetTally, Example, ExampleIssue
from . import checks
from .lines import system_message, training_row

ISSUES_PER_CHECK = 50  # a check failing everywhere lists its first examples, then a count

# The checks of the report, in the order of OpenAI's data-preparation guide, then ours. Each
# names the issue codes of `trainingfiles` it covers.
CHECKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (gettext_lazy("Each example is a JSON object"), ("data_type",)),
    (gettext_lazy("Each example has a list of messages"), ("missing_messages_list",)),
    (gettext_lazy("No unknown keys"), ("unrecognized_key", "message_unrecognized_key")),
    (
        gettext_lazy("Each message has a role and content"),
        ("message_not_object", "message_missing_key", "missing_content"),
    ),
    (gettext_lazy("Only known roles"), ("unrecognized_role",)),
    (
        gettext_lazy("An assistant answer to learn from"),
        ("missing_assistant_message", "nothing_to_learn", "last_message_not_assistant"),
    ),
    (gettext_lazy("Empty answers and messages"), ("empty_content",)),
    (gettext_lazy("Weights and names"), ("weight_not_on_assistant", "bad_weight", "bad_name")),
    (
        gettext_lazy("Tools and tool calls"),
        (
            "bad_tools",
            "bad_parallel_tool_calls",
            "bad_tool_call",
            "unknown_tool",
            "bad_tool_arguments",
            "missing_tool_call_id",
            "unmatched_tool_call",
            "unanswered_tool_call",
        ),
    ),
    (gettext_lazy("Preference pairs"), ("bad_dpo_output", "identical_outputs", "input_ends_with_assistant")),
    (gettext_lazy("The base model's token limit"), ("token_limit",)),
    (gettext_lazy("Enough examples"), ("too_few_examples", "few_examples")),
    (gettext_lazy("One kind of example the model can learn"), ("mixed_kinds", "method_not_supported")),
    (gettext_lazy("Exact duplicates"), ("duplicate",)),
    (gettext_lazy("Near duplicates"), ("near_duplicate",)),
    (gettext_lazy("Personal data"), ("pii_email", "pii_phone", "pii_card")),
)
_CHECK_OF_CODE = {code: number for number, (_title, codes) in enumerate(CHECKS) for code in codes}


@dataclass
class CheckResult:
    title: str
    errors: int = 0
    warnings: int = 0
    issues: list[Issue] = field(default_factory=list)  # the first ISSUES_PER_CHECK
    pii_examples: list[object] = field(default_factory=list)  # of the listed issues: redaction is offered

    @property
    def more(self) -> int:
        return self.errors + self.warnings - len(self.issues)

    @property
    def full(self) -> bool:
        return len(self.issues) >= ISSUES_PER_CHECK

    def add(self, issue: Issue) -> None:
        """Count the issue; list it while fewer than ISSUES_PER_CHECK are listed."""
        if issue.severity == ERROR:
            self.errors += 1
        else:
            self.warnings += 1
        if not self.full:
            self._list(issue)

    def _list(self, issue: Issue) -> None:
        self.issues.append(issue)
        if issue.code.startswith("pii_") and issue.example_key not in self.pii_examples:
            self.pii_examples.append(issue.example_key)


def _results() -> tuple[list[CheckResult], CheckResult]:
    return [CheckResult(title=str(title)) for title, _codes in CHECKS], CheckResult(title=_("Other problems"))


def _result_for(code: str, results: list[CheckResult], other: CheckResult) -> CheckResult:
    number = _CHECK_OF_CODE.get(code)
    return results[number] if number is not None else other


def report_by_check(report: DatasetReport) -> list[CheckResult]:
    """A report made in memory (`validate_dataset`) grouped by check; every check listed, passed ones too."""
    results, other = _results()
    for issue in report.all_issues():
        _result_for(issue.code, results, other).add(issue)
    return results + ([other] if other.issues else [])


@dataclass(frozen=True)
class Verdict:
    error_count: int
    warning_count: int

    @property
    def is_blocked(self) -> bool:
        return self.error_count > 0


@dataclass(frozen=True)
class DatasetCheck:
    """What the dataset page shows about the examples that would be exported (the ready ones)."""

    report: Verdict
    checks: list[CheckResult]
    stats: DatasetStats
    train: int
    validation: int
    pairs: int
    drafts: int
    shared_issues: dict[int, int]  # example pk → dataset-wide issues about it (duplicates)
    duplicates: list[int]  # the duplicates' primary keys


def dataset_check(dataset: Dataset, *, provider_kind: str | None = None) -> DatasetCheck:
    """The report of the ready examples from their stored checks, with the dataset-wide checks
    computed in the database."""
    measures = ready_measures(dataset)
    drafts = dataset.examples.filter(status=Example.Status.DRAFT).count()
    base_model = get_model(dataset.base_model) if dataset.base_model else None
    results, other = _results()
    count = measures.count
    figures = {"kinds": measures.kinds, "kind": measures.kind, "with_images": measures.with_images}
    for issue in dataset_issues(count, base_model=base_model, **figures):
        _result_for(issue.code, results, other).add(issue)

    duplicates = _duplicates(dataset)
    exact, near = results[_CHECK_OF_CODE["duplicate"]], results[_CHECK_OF_CODE["near_duplicate"]]
    for pk, first_exact, first_near in duplicates:
        result = exact if pk != first_exact else near
        if result.full:  # counted; its message would not be shown
            result.warnings += 1
        elif pk != first_exact:
            result.add(duplicate_issue(pk, first_exact))
        else:
            result.add(near_duplicate_issue(pk, first_near))
    _add_stored_issues(dataset, measures.issues, results, other)

    stats = measures_stats(
        total_tokens=measures.values["token_count"],
        assistant_tokens=measures.values["assistant_tokens"],
        messages=measures.values["message_count"],
        provider_kind=provider_kind,
    )
    errors = sum(result.errors for result in (*results, other))
    warnings = sum(result.warnings for result in (*results, other))
    return DatasetCheck(
        report=Verdict(error_count=errors, warning_count=warnings),
        checks=results + ([other] if other.issues else []),
        stats=stats,
        train=count - measures.validation,
        validation=measures.validation,
        pairs=measures.pairs,
        drafts=drafts,
        shared_issues={pk: 1 for pk, _exact, _near in duplicates},
        duplicates=[pk for pk, _exact, _near in duplicates],
    )


MEASURES = ("token_count", "assistant_tokens", "message_count")


@dataclass(frozen=True)
class Measures:
    """The ready examples' figures: how many, of how many kinds, split, pairs, how many examples
    have each value of each measure (token counts repeat: a few thousand values), and how many
    issues of each code they have."""

    count: int
    validation: int
    pairs: int
    kinds: int  # 0, 1, or 2 for "more than one"
    kind: str | None  # when there is one
    values: dict[str, dict[int, int]]
    issues: dict[tuple[str, str], int]  # (code, severity) → how many
    with_images: int = 0  # examples with images


def ready_measures(dataset: Dataset) -> Measures:
    """One query, of the dataset's tallies (dialogs.datasets.tallies): a few thousand rows however many
    examples it has."""
    values: dict[str, dict[int, int]] = {name: {} for name in MEASURES}
    pairs = validation = with_images = 0
    kinds: list[str] = []
    issues: dict[tuple[str, str], int] = {}
    for measure, value, count in DatasetTally.objects.filter(dataset=dataset, count__gt=0).values_list(
        "measure", "value", "count"
    ):
        family, _colon, name = measure.partition(":")
        if measure in values:
            values[measure][value] = count
        elif measure == "pair_count":
            pairs += value * count
        elif measure == "image_count":
            with_images += count if value else 0
        elif family == "kind":
            kinds.append(name)
        elif family == "split" and (
            name == Example.Split.VALIDATION or (name == "auto" and 0 <= value < dataset.validation_percent)
        ):
            validation += count
        elif family == "issue":
            code, _colon, severity = name.rpartition(":")
            issues[(code, severity)] = count
    low, high = (min(kinds), max(kinds)) if kinds else (None, None)
    number = 0 if not low else 1 if low == high else 2
    count = sum(values["token_count"].values())
    kind = low if number == 1 else None
    return Measures(count, validation, pairs, number, kind, values, issues, with_images)


def _duplicates(dataset: Dataset) -> list[tuple[int, int, int]]:
    """(pk, first with the same fingerprint, first with the same near fingerprint) of each
    duplicate, by pk: the first of a group is the original, as when the examples are read in order
    (`validate_dataset`). An exact duplicate has the near fingerprint of its original too, so the
    examples that share a near fingerprint with another (DatasetFingerprint, count > 1) hold every
    duplicate: one query finds them, in the fingerprints' index. (On PostgreSQL as
    `= ANY(ARRAY(…))`, which the planner computes once; as `IN (…)` it may join instead.)"""
    quote = connection.ops.quote_name
    table, near = quote(Example._meta.db_table), quote("near_fingerprint")
    where = f"{quote('dataset_id')} = %s AND {quote('status')} = %s"
    fingerprints = quote(DatasetFingerprint._meta.db_table)
    shared = (
        f"SELECT {quote('fingerprint')} FROM {fingerprints} WHERE {quote('dataset_id')} = %s AND {quote('count')} > 1"  # noqa: S608 -- names from the model, values as parameters
    )
    among = f"= ANY(ARRAY({shared}))" if connection.vendor == "postgresql" else f"IN ({shared})"
    columns = f"{quote('id')}, {quote('exact_fingerprint')}, {near}"
    sql = f"SELECT {columns} FROM {table} WHERE {where} AND {near} {among} ORDER BY {quote('id')}"  # noqa: S608 -- as above
    params = [dataset.pk, Example.Status.READY, dataset.pk]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        members = cursor.fetchall()
    first_exact: dict[int, int] = {}
    first_near: dict[int, int] = {}
    duplicates = []
    for pk, exact, near in members:
        if exact in first_exact:
            duplicates.append((pk, first_exact[exact], first_near[near]))
            continue
        first_exact[exact] = pk
        if near in first_near:
            duplicates.append((pk, pk, first_near[near]))
        else:
            first_near[near] = pk
    return duplicates


def _add_stored_issues(
    dataset: Dataset, counts: dict[tuple[str, str], int], results: list[CheckResult], other: CheckResult
) -> None:
    """Count the ready examples' stored issues by code (from the tallies), and list the first of
    each check with their messages made again from those examples."""
    for (code, severity), count in counts.items():
        result = _result_for(code, results, other)
        if severity == ERROR:
            result.errors += count
        else:
            result.warnings += count
    # The first of each code, each from the report's index: one query, a short read per code.
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in ("example_id", "position", "code", "severity", "message_index"))
    table = quote(ExampleIssue._meta.db_table)
    where = f"{quote('dataset_id')} = %s AND {quote('ready')} = %s AND {quote('code')} = %s"
    order = f"{quote('example_id')}, {quote('position')}"
    first = (
        f"SELECT * FROM (SELECT {columns} FROM {table} WHERE {where} ORDER BY {order} LIMIT {ISSUES_PER_CHECK}) AS f"  # noqa: S608 -- names from the model, values as parameters
    )
    codes = sorted({code for code, _severity in counts})
    listed = []
    if codes:
        with connection.cursor() as cursor:
            cursor.execute(
                " UNION ALL ".join([first] * len(codes)), [p for code in codes for p in (dataset.pk, True, code)]
            )
            listed = sorted(cursor.fetchall())
    messages = _messages(dataset, {row[0] for row in listed})
    for pk, position, code, severity, index in listed:
        result = _result_for(code, results, other)
        if not result.full:
            text = messages.get((pk, position, code)) or messages.get((pk, code)) or result.title
            result._list(Issue(code, severity, text, pk, index))


def _messages(dataset: Dataset, pks: set[int]) -> dict[tuple, str]:
    """The messages of the examples' issues in the reader's language, by (pk, position, code) and
    by (pk, code): the examples are inspected again (their texts are not tokenized again)."""
    limit = checks.token_limit(dataset)
    messages: dict[tuple, str] = {}
    for example in Example.objects.filter(pk__in=pks).only(*checks.ROW_FIELDS, "token_count"):
        inspection = Inspection(example.pk, count_tokens=False)
        inspection.run(training_row(example, system_message(example, dataset)))
        for position, issue in enumerate(inspection.issues):
            messages[(example.pk, position, issue.code)] = issue.message
            messages.setdefault((example.pk, issue.code), issue.message)
        if limit is not None:
            messages[(example.pk, "token_limit")] = token_limit_message(example.token_count, limit)
    return messages
