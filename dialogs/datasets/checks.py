"""Each example's checks, stored with it: the dataset page's report (dialogs.datasets.report) is made of them.

Each example's own checks (format, personal data, the token limit), its token counts and its
duplicate fingerprints are stored whenever it changes (`refresh` + `issues_save`, called by the
services that change examples); its issues are ExampleIssue rows.

A full re-validation (`dataset_revalidate`: the page's button, `manage.py revalidate_datasets`,
in the worker for large datasets) checks every example again; it gives the same report as the
stored checks (a test), and is what a change of the assistant's instructions or of the base model
asks for: the page notices a system message other than the one the examples were checked with.
"""

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_q.tasks import async_task

from core.background import requeue_stalled
from llm.catalog import get_model
from llm.vision import ImageCost
from trainingfiles.validation import Checked, check_examples

from ..models import Dataset, Example, ExampleIssue
from . import tallies
from .lines import PROGRESS_EVERY, pair_count, split_draw, system_message, training_row

CHECKED_FIELDS = (
    "token_count",
    "error_count",
    "warning_count",
    "assistant_tokens",
    "message_count",
    "kind",
    "pair_count",
    "exact_fingerprint",
    "near_fingerprint",
    "split_draw",
    "image_count",
)
ROW_FIELDS = ("pk", "dataset_id", "status", "messages", "system", "system_overridden", "tools", "split_draw")


# Storing each example's checks ---------------------------------------------------------------


def token_limit(dataset: Dataset) -> int | None:
    model = get_model(dataset.base_model) if dataset.base_model else None
    return model.training_token_limit if model else None


def image_cost(dataset: Dataset) -> ImageCost | None:
    """What the base model's images cost in tokens (llm.vision); None counts them as gpt-4o's."""
    model = get_model(dataset.base_model) if dataset.base_model else None
    return model.image_cost if model else None


def system_digest(dataset: Dataset) -> str:
    """Which system message the stored checks were made with (examples without their own use it)."""
    return hashlib.sha256(dataset.system_prompt().encode()).hexdigest()


def refresh(example: Example, dataset: Dataset, checked: Checked | None = None) -> None:
    """Set the example's stored checks (unsaved) from `checked`, or from checking it now; its
    issues wait in `example.checked_issues` for `issues_save`, once it has a primary key."""
    if checked is None:
        row = training_row(example, system_message(example, dataset))
        limits = {"token_limit": token_limit(dataset), "image_cost": image_cost(dataset)}
        checked = next(check_examples([(example.pk, row)], stored=True, **limits))
    report = checked.report
    example.token_count = report.total_tokens
    example.assistant_tokens = report.assistant_tokens
    example.message_count = report.messages
    example.error_count = len(report.errors)
    example.warning_count = len(report.warnings)
    example.kind = report.kind or ""
    example.pair_count = pair_count(example)
    example.image_count = report.images
    example.exact_fingerprint, example.near_fingerprint = checked.exact_fingerprint, checked.near_fingerprint
    if example.pk is not None:
        example.split_draw = split_draw(example.pk)
    example.checked_issues = report.issues


def issues_save(examples: Iterable[Example], *, tallied: bool = True) -> None:
    """Store the issues `refresh` found (replacing the examples' old ones) and the split draw of
    examples that were new, and move the dataset's tallies from what the examples counted for as
    they were read to what they count for now (a full re-validation counts them again instead)."""
    examples = list(examples)
    new = [example for example in examples if example.split_draw is None]
    for example in new:
        example.split_draw = split_draw(example.pk)
    if new:
        _update(new, ("split_draw",))
    before = tallies.stored_keys(examples) if tallied else None
    ExampleIssue.objects.filter(example__in=[example.pk for example in examples]).delete()
    ExampleIssue.objects.bulk_create(
        (
            ExampleIssue(
                example_id=example.pk,
                dataset_id=example.dataset_id,
                ready=example.status == Example.Status.READY,
                position=position,
                code=issue.code,
                severity=issue.severity,
                message_index=issue.message_index,
            )
            for example in examples
            for position, issue in enumerate(getattr(example, "checked_issues", ()))
        ),
        batch_size=1000,
    )
    if before is not None:
        tallies.move(before, tallies.current_keys(examples))
        tallies.remember(examples)


def examples_forget(examples: Iterable[Example]) -> None:
    """The examples are about to be deleted: they count for nothing any more."""
    tallies.move(tallies.stored_keys(list(examples)), Counter())


# Full re-validation --------------------------------------------------------------------------


def revalidation_due(dataset: Dataset) -> bool:
    """The stored checks were made with another system message (the assistant's instructions
    changed, or the dataset was never checked whole), and no re-validation is running."""
    return dataset.checks_upto is None and dataset.checks_system != system_digest(dataset)


def dataset_revalidate_start(dataset: Dataset) -> bool:
    """Check every example again: now when the dataset is small, else in the worker (returns True)."""
    total = dataset.examples.count()
    if total <= settings.DATASET_BACKGROUND_EXAMPLES:
        dataset_revalidate(dataset)
        return False
    with transaction.atomic():
        started = Dataset.objects.filter(pk=dataset.pk, checks_upto__isnull=True).update(
            checks_upto=0, checks_total=total
        )
        if started:  # one task per re-validation, however many curators press the button
            transaction.on_commit(lambda: async_task("dialogs.tasks.dataset_revalidate", dataset.pk))
    dataset.refresh_from_db(fields=["checks_upto", "checks_total", "updated_at"])
    return True


def dataset_revalidate(dataset: Dataset, *, progress: Callable[[int], None] | None = None) -> int:
    """Check every example again, from where a running re-validation got to; returns how many it
    checked. Each batch is checked and written in one transaction holding its rows, so an edit
    made meanwhile is never overwritten by its older copy."""
    digest = system_digest(dataset)
    start = dataset.checks_upto or 0
    done = dataset.examples.filter(pk__lte=start).count() if start else 0
    limits = {"token_limit": token_limit(dataset), "image_cost": image_cost(dataset)}
    while True:
        with transaction.atomic():
            batch = list(
                Example.objects.select_for_update()
                .filter(dataset=dataset, pk__gt=start)
                .only(*ROW_FIELDS)
                .order_by("pk")[:PROGRESS_EVERY]
            )
            if not batch:
                break
            _check_batch(batch, dataset, limits)
            start = batch[-1].pk
            done += len(batch)
            if dataset.checks_upto is not None:  # a background run: its progress, and a sign of life
                Dataset.objects.filter(pk=dataset.pk).update(checks_upto=start, updated_at=timezone.now())
        if progress is not None:
            progress(done)
    with transaction.atomic():
        tallies.rebuild(dataset.pk)
        Dataset.objects.filter(pk=dataset.pk).update(checks_system=digest, checks_upto=None, checks_total=0)
    dataset.checks_system, dataset.checks_upto, dataset.checks_total = digest, None, 0
    return done


def _check_batch(batch: list[Example], dataset: Dataset, limits: dict) -> None:
    rows = ((example.pk, training_row(example, system_message(example, dataset))) for example in batch)
    for example, checked in zip(batch, check_examples(rows, stored=True, **limits), strict=True):
        refresh(example, dataset, checked)
    _update(batch, CHECKED_FIELDS)
    issues_save(batch, tallied=False)  # counted again at the end


def _update(examples: list[Example], fields: tuple[str, ...]) -> None:
    """One UPDATE per example, sent together (`executemany`): `bulk_update` builds a CASE per field
    and row, which took a hundred times as long for a batch of checks."""
    columns = [Example._meta.get_field(name).column for name in fields]
    assignments = ", ".join(f"{connection.ops.quote_name(column)} = %s" for column in columns)
    table = connection.ops.quote_name(Example._meta.db_table)
    sql = f"UPDATE {table} SET {assignments} WHERE {connection.ops.quote_name('id')} = %s"  # noqa: S608 -- names from the model, values as parameters
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[getattr(example, name) for name in fields] + [example.pk] for example in examples])


def dataset_revalidate_task(dataset_id: int) -> None:
    dataset = Dataset.objects.select_related("assistant").filter(pk=dataset_id).first()
    if dataset is not None and dataset.checks_upto is not None:  # not done by an earlier delivery
        dataset_revalidate(dataset)


def revalidations_recover() -> int:
    """Queue the task again for re-validations that lost theirs (see core.background)."""
    return requeue_stalled(Dataset.objects.filter(checks_upto__isnull=False), "dialogs.tasks.dataset_revalidate")
