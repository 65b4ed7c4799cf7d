"""Curation: datasets and their examples. Every change to an example goes through `example_change`,
which checks the version the editor started from (a stale edit is a conflict, never an overwrite),
records a revision and refreshes the example's token and issue counts.

Examples are OpenAI chat messages (see `dialogs.models.Example`); `training_row` and `dpo_rows`
turn them into the lines of a training file.
"""

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from assistants.models import Assistant
from courses.models import Course
from llm.catalog import get_model
from trainingfiles.pii import find_pii
from trainingfiles.validation import validate_example
from trainingfiles.vision import content_text

from ..models import Dataset, Dialog, Example, ExampleRevision, Message
from ..records.counters import dialogs_examples_recount
from . import checks
from .copies import messages_from_dialog
from .edits import Change, redact
from .lines import PROGRESS_EVERY, system_message, training_row


class ExampleConflict(Exception):
    """The example changed since the editor loaded it. `current` is the example as it is now."""

    def __init__(self, current: Example):
        super().__init__(_("Someone else changed this example meanwhile."))
        self.current = current


# Datasets ------------------------------------------------------------------------------------


def dataset_create(
    *, course: Course, name: str, user: User | None, assistant: Assistant | None = None, **fields: Any
) -> Dataset:
    if assistant is None:
        assistant = course.assistants.order_by("pk").first()
    if not fields.get("base_model") and assistant is not None and get_model(assistant.model):
        fields["base_model"] = assistant.model
    dataset = Dataset(course=course, name=name, assistant=assistant, created_by=user, **fields)
    dataset.checks_system = checks.system_digest(dataset)  # no example: nothing to check yet
    dataset.save(force_insert=True)
    return dataset


DATASET_FIELDS = ("name", "description", "assistant", "base_model", "validation_percent")


def dataset_update(*, dataset: Dataset, **fields: Any) -> Dataset:
    """Change the dataset's settings. A new assistant (its instructions are the default system
    message) or base model (its token limit) changes the examples' checks: they are made again
    (in the worker for a large dataset)."""
    recheck = any(
        fields.get(name, getattr(dataset, name)) != getattr(dataset, name) for name in ("assistant", "base_model")
    )
    for name, value in fields.items():
        if name not in DATASET_FIELDS:
            raise TypeError(name)
        setattr(dataset, name, value)
    dataset.full_clean()
    dataset.save()
    if recheck:
        checks.dataset_revalidate_start(dataset)
    return dataset


def dataset_for_assistant(*, assistant: Assistant, user: User | None) -> Dataset:
    """Where 🎓 puts an example when the curator has not chosen a dataset: the dataset of the
    dialog's assistant, made on first use."""
    name = _assistant_dataset_name(assistant)
    candidates = Dataset.objects.filter(course=assistant.course).filter(Q(assistant=assistant) | Q(name=name))
    return assistant_dataset(assistant, candidates) or dataset_create(
        course=assistant.course, name=name, user=user, assistant=assistant
    )


def assistant_dataset(assistant: Assistant, datasets: Iterable[Dataset]) -> Dataset | None:
    """Of the course's `datasets`, the one 🎓 uses for the assistant's dialogs, if it exists yet:
    the first dataset of the assistant, else the one named after it ("Tutor examples")."""
    datasets = list(datasets)
    mine = [dataset for dataset in datasets if dataset.assistant_id == assistant.pk]
    if mine:
        return min(mine, key=lambda dataset: dataset.pk)
    name = _assistant_dataset_name(assistant)
    return min((dataset for dataset in datasets if dataset.name == name), key=lambda dataset: dataset.pk, default=None)


def _assistant_dataset_name(assistant: Assistant) -> str:
    return _("%(assistant)s examples") % {"assistant": assistant.name}


# Making examples ----------------------------------------------------------------------------


@transaction.atomic
def example_from_dialog(*, dialog: Dialog, dataset: Dataset, user: User | None, upto: Message | None = None) -> Example:
    """🎓: copy the dialog (cut after the answer `upto`, if given) into a draft example."""
    messages, tools = messages_from_dialog(dialog, upto=upto)
    example = Example(
        dataset=dataset,
        messages=messages,
        tools=tools,
        source_dialog=dialog,
        source_message=upto,
        created_by=user,
        updated_by=user,
    )
    checks.refresh(example, dataset)
    example.save()
    checks.issues_save([example])
    _revise(example, user, _("Added from dialog #%(dialog)s") % {"dialog": dialog.pk})
    dialogs_examples_recount([dialog.pk])
    return example


class NoDefaultDataset(Exception):
    """🎓 with no dataset chosen, for a dialog whose assistant was deleted: it has no default."""


def graduation_answers(dialog: Dialog) -> QuerySet[Message]:
    """The answers 🎓 may cut the dialog after: active and finished."""
    open_statuses = (Message.Status.PENDING, Message.Status.STREAMING)
    return dialog.messages.filter(role=Message.Role.ASSISTANT, replaced_at__isnull=True).exclude(
        status__in=open_statuses
    )


def dialog_graduate(
    *, dialog: Dialog, dataset: Dataset | None, user: User | None, upto: Message | None = None
) -> Example:
    """🎓: copy the dialog (cut after the answer `upto`, if given) into a draft example of
    `dataset`, or — none chosen — of its assistant's dataset; raise NoDefaultDataset when the
    dialog has no assistant any more."""
    if dataset is None:
        if dialog.assistant is None:
            raise NoDefaultDataset
        dataset = dataset_for_assistant(assistant=dialog.assistant, user=user)
    return example_from_dialog(dialog=dialog, dataset=dataset, user=user, upto=upto)


@dataclass(frozen=True)
class BulkAdded:
    added: list[Example]
    skipped: list[Dialog]  # already in the dataset they would have gone to


@transaction.atomic
def examples_from_dialogs(*, dialogs: Iterable[Dialog], dataset: Dataset | None, user: User | None) -> BulkAdded:
    """🎓 for several dialogs at once: each becomes a draft example of `dataset`, or — when none is
    chosen — of its assistant's dataset. A dialog already in that dataset is skipped, so pressing
    the button twice does not make duplicates."""
    added: list[Example] = []
    skipped: list[Dialog] = []
    for dialog in dialogs:
        target = dataset
        if target is None:
            if dialog.assistant is None:
                skipped.append(dialog)
                continue
            target = dataset_for_assistant(assistant=dialog.assistant, user=user)
        if target.examples.filter(source_dialog=dialog).exists():
            skipped.append(dialog)
            continue
        added.append(example_from_dialog(dialog=dialog, dataset=target, user=user))
    return BulkAdded(added=added, skipped=skipped)


def examples_create(
    *,
    dataset: Dataset,
    rows: Iterable[dict],
    user: User | None,
    summary: str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Imported lines become ready examples, all in one transaction (all or nothing)."""
    return examples_save(
        examples_build(dataset=dataset, rows=rows, user=user, progress=progress), user=user, summary=summary
    )


def examples_build(
    *, dataset: Dataset, rows: Iterable[dict], user: User | None, progress: Callable[[int], None] | None = None
) -> list[Example]:
    """Unsaved ready examples for imported lines, counted and checked. This is the slow part of an
    import (tokenizing), so it runs before the transaction and tells `progress(n)` how far it got."""
    examples = []
    for number, row in enumerate(rows, start=1):
        messages = list(row.get("messages") or [])
        system, overridden = "", False
        if messages and messages[0].get("role") == "system":
            system, overridden = messages.pop(0).get("content") or "", True
        if overridden and system == dataset.system_prompt():
            system, overridden = "", False
        example = Example(
            dataset=dataset,
            status=Example.Status.READY,
            messages=messages,
            system=system,
            system_overridden=overridden,
            tools=row.get("tools") or [],
            created_by=user,
            updated_by=user,
        )
        checks.refresh(example, dataset)
        examples.append(example)
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress(number)
    return examples


@transaction.atomic
def examples_save(examples: list[Example], *, user: User | None, summary: str) -> int:
    """Save built examples and their first revisions in one transaction."""
    # SQLite and PostgreSQL both return the new ids from bulk_create: the revisions can follow.
    created = Example.objects.bulk_create(examples, batch_size=500)
    checks.issues_save(created)
    ExampleRevision.objects.bulk_create([_revision(example, user, summary) for example in created], batch_size=500)
    return len(created)


# Changing examples ---------------------------------------------------------------------------


@transaction.atomic
def example_change(*, example: Example, version: int, user: User | None, change: Change) -> Example:
    """Apply `change` if nobody changed the example since `version`; raise ExampleConflict if
    somebody did. Records a revision and refreshes the counts."""
    current = Example.objects.select_for_update(of=("self",)).select_related("dataset__assistant").get(pk=example.pk)
    if current.version != version:
        raise ExampleConflict(current)
    change.apply(current)
    current.version += 1
    current.updated_by = user
    checks.refresh(current, current.dataset)
    current.save()
    checks.issues_save([current])
    _revise(current, user, change.summary)
    return current


@transaction.atomic
def example_delete(*, example: Example, version: int) -> None:
    """Delete an example (a ready one too) unless somebody changed it since `version`: a curator
    deletes what they saw, never a newer text they have not read."""
    current = Example.objects.select_for_update().get(pk=example.pk)
    if current.version != version:
        raise ExampleConflict(current)
    checks.examples_forget([current])
    current.delete()
    if current.source_dialog_id:
        dialogs_examples_recount([current.source_dialog_id])


def has_pii(example: Example) -> bool:
    """Whether `redact()` would change anything in the example."""
    texts = [content_text(message.get("content")) for message in example.messages]
    if example.system_overridden:
        texts.append(example.system)
    return any(find_pii(text) for text in texts)


def dataset_redact(*, dataset: Dataset, user: User | None) -> int:
    """Redact personal data in every example of the dataset that has some (each change a revision
    of its own, as if redacted one by one); returns how many examples changed."""
    fields = ("pk", "version", "messages", "system", "system_overridden")
    candidates = [example for example in dataset.examples.only(*fields).order_by("pk") if has_pii(example)]
    changed = 0
    for example in candidates:
        try:
            example_change(example=example, version=example.version, user=user, change=redact())
        except ExampleConflict as conflict:  # edited meanwhile: redact what it holds now
            example_change(example=example, version=conflict.current.version, user=user, change=redact())
        changed += 1
    return changed


@transaction.atomic
def example_discard(*, example: Example) -> bool:
    """Discard drops a draft that was never saved; a ready example stays (delete it instead)."""
    deleted, _rows = Example.objects.filter(pk=example.pk, status=Example.Status.DRAFT).delete()
    if deleted and example.source_dialog_id:
        dialogs_examples_recount([example.source_dialog_id])
    return bool(deleted)


# Revisions and counts ------------------------------------------------------------------------


def _revision(example: Example, user: User | None, summary: str) -> ExampleRevision:
    return ExampleRevision(
        example=example,
        version=example.version,
        summary=summary[:200],
        messages=copy.deepcopy(example.messages),
        system=example.system,
        system_overridden=example.system_overridden,
        status=example.status,
        author=user,
    )


def _revise(example: Example, user: User | None, summary: str) -> ExampleRevision:
    revision = _revision(example, user, summary)
    revision.save()
    return revision


def example_report(example: Example, dataset: Dataset):
    """The example's own validation report: tokens, errors and warnings (no dataset-wide checks)."""
    return validate_example(
        training_row(example, system_message(example, dataset)),
        token_limit=checks.token_limit(dataset),
        key=example.pk,
        image_cost=checks.image_cost(dataset),
    )
