"""Each dataset's tallies: how many ready examples have each value of each stored check, and each
near-duplicate fingerprint (DatasetTally, DatasetFingerprint). The dataset page's report
(dialogs.datasets.report) reads the whole dataset's figures from them.

They move with every change of an example, in its transaction: `checks.issues_save` takes away
what the example counted for as it was read (`Example.stored`, with its issues as stored) and adds
what it counts for now. A full re-validation ends by counting them again from the examples
(`rebuild`), which is also the way back should they ever be wrong.
"""

from collections import Counter
from collections.abc import Iterable, Mapping

from django.db import connection

from ..models import DatasetFingerprint, DatasetTally, Example, ExampleIssue

MEASURES = ("token_count", "assistant_tokens", "message_count", "pair_count", "image_count")
FIELDS = Example.TALLIED
CHUNK = 500  # rows per INSERT

Key = tuple[int, str, int]  # (dataset, measure, value); measure "near" for a fingerprint


def keys(values: Mapping, issues: Iterable[tuple[str, str]] = ()) -> list[Key]:
    """What one example counts for: nothing unless ready. `values` holds FIELDS; `issues` its
    (code, severity) pairs."""
    if values["status"] != Example.Status.READY:
        return []
    dataset = values["dataset_id"]
    draw = values["split_draw"]
    counted = [(dataset, name, values[name]) for name in MEASURES]
    counted.append((dataset, f"kind:{values['kind']}", 0))
    counted.append((dataset, f"split:{values['split'] or 'auto'}", -1 if draw is None else draw))
    if values["near_fingerprint"] is not None:
        counted.append((dataset, "near", values["near_fingerprint"]))
    counted.extend((dataset, f"issue:{code}:{severity}", 0) for code, severity in issues)
    return counted


def stored_keys(examples: list[Example]) -> Counter:
    """What the examples counted for as they were read, with their stored issues."""
    read = [example for example in examples if getattr(example, "stored", None) is not None]
    if not read:
        return Counter()
    issues: dict[int, list[tuple[str, str]]] = {}
    rows = ExampleIssue.objects.filter(example__in=[example.pk for example in read], ready=True)
    for pk, code, severity in rows.values_list("example_id", "code", "severity"):
        issues.setdefault(pk, []).append((code, severity))
    counted: Counter = Counter()
    for example in read:
        missing = [name for name in FIELDS if name not in example.stored]
        if missing:
            raise ValueError(f"example {example.pk} was read without {', '.join(missing)}: its tallies are unknown")
        counted.update(keys(example.stored, issues.get(example.pk, ())))
    return counted


def current_keys(examples: list[Example]) -> Counter:
    """What the examples count for now, with the issues `checks.refresh` found."""
    counted: Counter = Counter()
    for example in examples:
        issues = [(issue.code, issue.severity) for issue in getattr(example, "checked_issues", ())]
        counted.update(keys({name: getattr(example, name) for name in FIELDS}, issues))
    return counted


def move(before: Counter, after: Counter) -> None:
    """Change the tallies by what changed from `before` to `after`; the examples are read as
    stored now."""
    change = Counter(after)
    change.subtract(before)
    figures = sorted((key, number) for key, number in change.items() if number and key[1] != "near")
    fingerprints = sorted(((key[0], key[2]), number) for key, number in change.items() if number and key[1] == "near")
    _add(DatasetTally, ("dataset_id", "measure", "value"), figures)
    _add(DatasetFingerprint, ("dataset_id", "fingerprint"), fingerprints)


def remember(examples: Iterable[Example]) -> None:
    """The examples are stored as they are now: the next change starts from here."""
    for example in examples:
        example.stored = {name: getattr(example, name) for name in FIELDS}


def _add(model, key_columns: tuple[str, ...], changes: list[tuple[tuple, int]]) -> None:
    """Add each number to its row's count (a new row if none), in key order, so that concurrent
    changes lock the rows they share in the same order; rows down to zero are deleted."""
    if not changes:
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(column) for column in (*key_columns, "count"))
    keys_sql = ", ".join(quote(column) for column in key_columns)
    count = quote("count")
    placeholders = f"({', '.join(['%s'] * (len(key_columns) + 1))})"
    with connection.cursor() as cursor:
        for start in range(0, len(changes), CHUNK):
            chunk = changes[start : start + CHUNK]
            values = ", ".join([placeholders] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values} "  # noqa: S608 -- names from the model, values as parameters
                f"ON CONFLICT ({keys_sql}) DO UPDATE SET {count} = {table}.{count} + excluded.{count}",
                [part for key, number in chunk for part in (*key, number)],
            )
        gone = [key for key, number in changes if number < 0]
        if gone:
            match = " AND ".join(f"{quote(column)} = %s" for column in key_columns)
            cursor.executemany(f"DELETE FROM {table} WHERE {match} AND {count} = 0", gone)  # noqa: S608 -- as above


def rebuild(dataset_id: int) -> None:
    """Count the dataset's tallies again from its examples (a full re-validation ends with it)."""
    quote = connection.ops.quote_name
    examples = quote(Example._meta.db_table)
    where = f"{quote('dataset_id')} = %s AND {quote('status')} = %s"
    ready = [dataset_id, Example.Status.READY]
    split = f"'split:' || CASE WHEN {quote('split')} = '' THEN 'auto' ELSE {quote('split')} END"
    draw = f"COALESCE({quote('split_draw')}, -1)"
    parts = [(f"'{name}'", quote(name), quote(name)) for name in MEASURES]
    parts += [(f"'kind:' || {quote('kind')}", "0", quote("kind")), (split, draw, f"{quote('split')}, {draw}")]
    selects = [
        f"SELECT {quote('dataset_id')}, {measure}, {value}, COUNT(*) FROM {examples} WHERE {where} "  # noqa: S608 -- as above
        f"GROUP BY {quote('dataset_id')}, {group}"
        for measure, value, group in parts
    ]
    issues = quote(ExampleIssue._meta.db_table)
    code, severity = quote("code"), quote("severity")
    selects.append(
        f"SELECT {quote('dataset_id')}, 'issue:' || {code} || ':' || {severity}, 0, COUNT(*) FROM {issues} "  # noqa: S608 -- as above
        f"WHERE {quote('dataset_id')} = %s AND {quote('ready')} = %s GROUP BY {quote('dataset_id')}, {code}, {severity}"
    )
    near = quote("near_fingerprint")
    tally, fingerprints = quote(DatasetTally._meta.db_table), quote(DatasetFingerprint._meta.db_table)
    columns = ", ".join(quote(name) for name in ("dataset_id", "measure", "value", "count"))
    # Counted again over what is there: a row an edit added meanwhile takes the new count too.
    recount = f"ON CONFLICT ({{keys}}) DO UPDATE SET {quote('count')} = excluded.{quote('count')}"
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {tally} WHERE {quote('dataset_id')} = %s", [dataset_id])  # noqa: S608 -- as above
        cursor.execute(f"DELETE FROM {fingerprints} WHERE {quote('dataset_id')} = %s", [dataset_id])  # noqa: S608 -- as above
        tally_keys = ", ".join(quote(name) for name in ("dataset_id", "measure", "value"))
        cursor.execute(
            f"INSERT INTO {tally} ({columns}) SELECT * FROM ({' UNION ALL '.join(selects)}) AS counted WHERE true "  # noqa: S608 -- as above
            + recount.format(keys=tally_keys),
            ready * len(parts) + [dataset_id, True],
        )
        cursor.execute(
            f"INSERT INTO {fingerprints} ({quote('dataset_id')}, {quote('fingerprint')}, {quote('count')}) "  # noqa: S608 -- as above
            f"SELECT {quote('dataset_id')}, {near}, COUNT(*) FROM {examples} WHERE {where} AND {near} IS NOT NULL "
            f"GROUP BY {quote('dataset_id')}, {near} "
            + recount.format(keys=f"{quote('dataset_id')}, {quote('fingerprint')}"),
            ready,
        )
