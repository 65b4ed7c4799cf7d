"""The dataset page's validation report, from the examples' stored checks (dialogs.checks).

What concerns the dataset as a whole (size, kinds, exact and near duplicates, the split, the token
statistics, epochs and cost) is computed from the stored columns in the database on each load: a
fixed number of queries, whatever the size of the dataset or of the page. Messages are made in the
reader's language for the issues the page lists (at most ISSUES_PER_CHECK per check), from those
examples alone.
"""

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from llm.catalog import get_model
from trainingfiles.inspection import Inspection, token_limit_message
from trainingfiles.reports import ERROR, DatasetReport, Issue
from trainingfiles.stats import DatasetStats, measures_stats
from trainingfiles.validation import dataset_issues, duplicate_issue, near_duplicate_issue

from ..models import Dataset, Example, ExampleIssue
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

    def add(self, issue: Issue) -> None:
        """Count the issue; list it while fewer than ISSUES_PER_CHECK are listed."""
        if issue.severity == ERROR:
            self.errors += 1
        else:
            self.warnings += 1
        if len(self.issues) < ISSUES_PER_CHECK:
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
    for issue in dataset_issues(count, kinds=measures.kinds, kind=measures.kind, base_model=base_model):
        _result_for(issue.code, results, other).add(issue)

    duplicates = _duplicates(dataset)
    for pk, first_exact, first_near in duplicates:
        if pk != first_exact:
            results[_CHECK_OF_CODE["duplicate"]].add(duplicate_issue(pk, first_exact))
        else:
            results[_CHECK_OF_CODE["near_duplicate"]].add(near_duplicate_issue(pk, first_near))
    _add_stored_issues(dataset, results, other)

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
    """The ready examples' figures: how many, of how many kinds, split, pairs, and how many
    examples have each value of each measure (token counts repeat: a few thousand values)."""

    count: int
    validation: int
    pairs: int
    kinds: int  # 0, 1, or 2 for "more than one"
    kind: str | None  # when there is one
    values: dict[str, dict[int, int]]


def ready_measures(dataset: Dataset) -> Measures:
    """One query: on PostgreSQL one scan of the covering index (GROUPING SETS), elsewhere one
    scan per measure (UNION ALL)."""
    quote = connection.ops.quote_name
    table = quote(Example._meta.db_table)
    where = f"{quote('dataset_id')} = %s AND {quote('status')} = %s"
    params = [dataset.pk, Example.Status.READY]
    validation = (
        f"CASE WHEN {quote('split')} = %s OR ({quote('split')} = %s AND {quote('split_draw')} < %s) THEN 1 ELSE 0 END"
    )
    totals = f"COUNT(*), SUM({validation}), SUM({quote('pair_count')}), MIN({quote('kind')}), MAX({quote('kind')})"
    totals_params = [Example.Split.VALIDATION, Example.Split.AUTO, dataset.validation_percent]
    if connection.vendor == "postgresql":
        # The totals apart: computed for every grouping set they cost more than their own scan.
        columns = ", ".join(quote(name) for name in MEASURES)
        sets = ", ".join(f"({quote(name)})" for name in MEASURES)
        grouped = f"SELECT GROUPING({columns}), {columns}, COUNT(*), NULL, NULL, NULL, NULL"
        sql = f"{grouped} FROM {table} WHERE {where} GROUP BY GROUPING SETS ({sets})"
        total = f"SELECT -1, NULL, NULL, NULL, {totals} FROM {table} WHERE {where}"  # noqa: S608 -- as below
        sql = f"{sql} UNION ALL {total}"
        arguments = params + totals_params + params
    else:
        parts, arguments = [], []
        for number, name in enumerate(MEASURES):
            others = ", ".join(quote(other) if other == name else "NULL" for other in MEASURES)
            select = f"SELECT {number}, {others}, COUNT(*), 0, 0, '', ''"
            parts.append(f"{select} FROM {table} WHERE {where} GROUP BY {quote(name)}")
            arguments += params
        # Names from the model, values as parameters.
        parts.append(f"SELECT -1, NULL, NULL, NULL, {totals} FROM {table} WHERE {where}")  # noqa: S608
        arguments += totals_params + params
        sql = " UNION ALL ".join(parts)
    values: dict[str, dict[int, int]] = {name: {} for name in MEASURES}
    count = validation_count = pairs = 0
    low = high = None
    with connection.cursor() as cursor:
        cursor.execute(sql, arguments)
        for group, *row in cursor.fetchall():
            measured, (examples, validated, paired, least, most) = row[: len(MEASURES)], row[len(MEASURES) :]
            name = _measure_of(group, connection.vendor)
            if name is None:
                count, validation_count, pairs, low, high = examples, validated or 0, paired or 0, least, most
            else:
                values[name][measured[MEASURES.index(name)]] = examples
    kinds = 0 if not low else 1 if low == high else 2
    return Measures(count, validation_count, pairs, kinds, low if kinds == 1 else None, values)


def _measure_of(group: int, vendor: str) -> str | None:
    """Which measure a row of `ready_measures` counts (None: the totals)."""
    if vendor == "postgresql" and group >= 0:  # GROUPING(a, b, c): a bit for each column not grouped by
        grouped = [number for number in range(len(MEASURES)) if not group & (1 << (len(MEASURES) - 1 - number))]
        return MEASURES[grouped[0]] if grouped else None
    return MEASURES[group] if group >= 0 else None


def _duplicates(dataset: Dataset) -> list[tuple[int, int, int]]:
    """(pk, first with the same fingerprint, first with the same near fingerprint) of each
    duplicate, by pk: the first of a group is the original, as when the examples are read in order
    (`validate_dataset`). An exact duplicate has the near fingerprint of its original too, so the
    examples that share a near fingerprint with another hold every duplicate: one query finds them,
    in the fingerprints' index. (On PostgreSQL as `= ANY(ARRAY(…))`, which the planner computes
    once; as `IN (…)` it chose to join a second scan of the whole dataset to the grouping.)"""
    quote = connection.ops.quote_name
    table, near = quote(Example._meta.db_table), quote("near_fingerprint")
    where = f"{quote('dataset_id')} = %s AND {quote('status')} = %s"
    shared = f"SELECT {near} FROM {table} WHERE {where} AND {near} IS NOT NULL GROUP BY {near} HAVING COUNT(*) > 1"  # noqa: S608 -- names from the model, values as parameters
    among = f"= ANY(ARRAY({shared}))" if connection.vendor == "postgresql" else f"IN ({shared})"
    columns = f"{quote('id')}, {quote('exact_fingerprint')}, {near}"
    sql = f"SELECT {columns} FROM {table} WHERE {where} AND {near} {among} ORDER BY {quote('id')}"  # noqa: S608 -- as above
    params = [dataset.pk, Example.Status.READY] * 2
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


def _add_stored_issues(dataset: Dataset, results: list[CheckResult], other: CheckResult) -> None:
    """Count the ready examples' stored issues by code, and list the first of each check with
    their messages made again from those examples."""
    issues = ExampleIssue.objects.filter(dataset=dataset, ready=True)
    for row in issues.values("code", "severity").annotate(count=Count("pk")).order_by():
        result = _result_for(row["code"], results, other)
        if row["severity"] == ERROR:
            result.errors += row["count"]
        else:
            result.warnings += row["count"]
    first = issues.annotate(
        rank=Window(RowNumber(), partition_by=[F("code")], order_by=[F("example_id"), F("position")])
    ).filter(rank__lte=ISSUES_PER_CHECK)
    listed = sorted(first.values_list("example_id", "position", "code", "severity", "message_index"))
    messages = _messages(dataset, {row[0] for row in listed})
    for pk, position, code, severity, index in listed:
        result = _result_for(code, results, other)
        if len(result.issues) < ISSUES_PER_CHECK:
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
