"""Curation: datasets and their examples. Every change to an example goes through `example_change`,
which checks the version the editor started from (a stale edit is a conflict, never an overwrite),
records a revision and refreshes the example's token and issue counts.

Examples are OpenAI chat messages (see `dialogs.models.Example`); `training_row` and `dpo_rows`
turn them into the lines of a training file.
"""

import copy
import datetime
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from assistants.models import Assistant
from assistants.tools import tool_definition
from courses.models import Course
from llm.catalog import get_model
from trainingfiles.pii import find_pii, redact_pii
from trainingfiles.reports import DatasetReport
from trainingfiles.validation import validate_dataset, validate_example

from .counters import dialogs_examples_recount
from .models import Dataset, Dialog, Example, ExampleRevision, Message

EDITABLE_ROLES = ("user", "assistant", "system", "developer", "tool")
GRADCAP_KEYS = frozenset({"original"})  # ours, never written to a training file
PROGRESS_EVERY = 500  # examples between two progress reports of a long import or export


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
    return Dataset.objects.create(course=course, name=name, assistant=assistant, created_by=user, **fields)


DATASET_FIELDS = ("name", "description", "assistant", "base_model", "validation_percent")


def dataset_update(*, dataset: Dataset, **fields: Any) -> Dataset:
    """Change the dataset's settings. A new assistant (its instructions are the default system
    message) or base model (its token limit) changes the examples' counts: they are refreshed."""
    recount = any(
        fields.get(name, getattr(dataset, name)) != getattr(dataset, name) for name in ("assistant", "base_model")
    )
    for name, value in fields.items():
        if name not in DATASET_FIELDS:
            raise TypeError(name)
        setattr(dataset, name, value)
    dataset.full_clean()
    dataset.save()
    if recount:
        _recount(dataset)
    return dataset


def _recount(dataset: Dataset) -> None:
    # In batches by pk, so no read cursor stays open while the batch is written (SQLite).
    fields = ("pk", "dataset_id", "messages", "system", "system_overridden", "tools")
    pks = list(dataset.examples.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), PROGRESS_EVERY):
        batch = list(dataset.examples.only(*fields).filter(pk__in=pks[start : start + PROGRESS_EVERY]))
        for example in batch:
            _refresh_counts(example, dataset)
        Example.objects.bulk_update(batch, ["token_count", "error_count", "warning_count"])


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


def split_of(example: Example, validation_percent: int) -> str:
    """train or validation: the curator's choice, otherwise a deterministic draw by primary key,
    so the split does not change between exports and adding examples never moves old ones."""
    if example.split:
        return example.split
    digest = hashlib.sha256(f"gradcap-split:{example.pk}".encode()).digest()
    draw = int.from_bytes(digest[:4], "big") % 100
    return Example.Split.VALIDATION if draw < validation_percent else Example.Split.TRAIN


# Examples as training lines ------------------------------------------------------------------


def system_message(example: Example, dataset: Dataset) -> str:
    return example.system if example.system_overridden else dataset.system_prompt()


def _clean(message: dict) -> dict:
    if GRADCAP_KEYS.isdisjoint(message):
        return message
    return {key: value for key, value in message.items() if key not in GRADCAP_KEYS}


def training_row(example: Example, system: str) -> dict:
    """The example as one line of OpenAI's chat fine-tuning file."""
    messages = [_clean(message) for message in example.messages]
    if system:
        messages.insert(0, {"role": "system", "content": system})
    row: dict[str, Any] = {"messages": messages}
    if example.tools:
        row["tools"] = example.tools
    return row


def dpo_rows(example: Example, system: str) -> Iterator[dict]:
    """One preference pair per rewritten assistant answer: the rewrite is preferred, the recorded
    answer is not; the conversation before it is the input."""
    before: list[dict] = [{"role": "system", "content": system}] if system else []
    for message in example.messages:
        if (original := rewritten_from(message)) is not None:
            pair: dict[str, Any] = {
                "input": {"messages": list(before)},
                "preferred_output": [{"role": "assistant", "content": message.get("content") or ""}],
                "non_preferred_output": [{"role": "assistant", "content": original}],
            }
            if example.tools:
                pair["input"]["tools"] = example.tools
            yield pair
        cleaned = {key: value for key, value in _clean(message).items() if key != "weight"}
        before.append(cleaned)


def rewritten_from(message: dict) -> str | None:
    """The recorded answer a curator rewrote (a DPO pair's rejected side), or None."""
    original = message.get("original")
    if message.get("role") == "assistant" and original is not None and original != message.get("content"):
        return original
    return None


def dataset_examples(
    dataset: Dataset, *, split: str | None = None, ready_only: bool = True, since: datetime.datetime | None = None
) -> Iterator[Example]:
    """The dataset's examples in a stable order, read in chunks (memory stays flat); with `since`,
    only those created or changed after that moment."""
    examples: QuerySet[Example] = dataset.examples.order_by("pk")
    if ready_only:
        examples = examples.filter(status=Example.Status.READY)
    if since is not None:
        examples = examples.filter(updated_at__gt=since)
    fields = ("pk", "dataset_id", "messages", "system", "system_overridden", "tools", "split", "status")
    for example in examples.only(*fields).iterator(chunk_size=1000):
        if split is None or split_of(example, dataset.validation_percent) == split:
            yield example


def dataset_rows(
    dataset: Dataset,
    *,
    kind: str = "sft",
    split: str | None = None,
    ready_only: bool = True,
    since: datetime.datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[dict]:
    """Training lines (dicts) of the dataset: chat examples (`sft`) or preference pairs (`dpo`).

    `progress(n)` is told every `PROGRESS_EVERY` examples how many have been read (background exports).
    """
    examples = _examples_with_system(dataset, split, ready_only, since)
    for number, (example, system) in enumerate(examples, start=1):
        if kind == "dpo":
            yield from dpo_rows(example, system)
        else:
            yield training_row(example, system)
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress(number)


def _examples_with_system(
    dataset: Dataset, split: str | None, ready_only: bool, since: datetime.datetime | None = None
) -> Iterator[tuple[Example, str]]:
    system = dataset.system_prompt()
    for example in dataset_examples(dataset, split=split, ready_only=ready_only, since=since):
        yield example, (example.system if example.system_overridden else system)


def pair_count(example: Example) -> int:
    """How many DPO pairs the example gives: its rewritten assistant answers."""
    return sum(1 for message in example.messages if rewritten_from(message) is not None)


@dataclass(frozen=True)
class DatasetCheck:
    """What the dataset page shows about the examples that would be exported (the ready ones)."""

    report: DatasetReport
    train: int
    validation: int
    pairs: int
    drafts: int


def dataset_check(dataset: Dataset) -> DatasetCheck:
    """Validate the ready examples' training lines (issues keyed by example pk) with the dataset's
    base model, counting the split and the DPO pairs in the same pass."""
    counts = {Example.Split.TRAIN: 0, Example.Split.VALIDATION: 0}
    pairs = 0

    def keyed_rows() -> Iterator[tuple[int, dict]]:
        nonlocal pairs
        for example, system in _examples_with_system(dataset, None, True):
            counts[split_of(example, dataset.validation_percent)] += 1
            pairs += pair_count(example)
            yield example.pk, training_row(example, system)

    base_model = get_model(dataset.base_model) if dataset.base_model else None
    report = validate_dataset(keyed_rows(), base_model=base_model)
    drafts = dataset.examples.filter(status=Example.Status.DRAFT).count()
    return DatasetCheck(
        report=report,
        train=counts[Example.Split.TRAIN],
        validation=counts[Example.Split.VALIDATION],
        pairs=pairs,
        drafts=drafts,
    )


# Making examples ----------------------------------------------------------------------------


def _function_tool(name: str) -> dict | None:
    tool = tool_definition(name)
    if tool is None:
        return None
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
    }


def messages_from_dialog(dialog: Dialog, *, upto: Message | None = None) -> tuple[list[dict], list[dict]]:
    """The dialog's active turns (up to and including `upto`) as example messages, and the tools
    they call. Function calls become an assistant message with `tool_calls` and a tool message
    per output, as OpenAI's format wants them."""
    recorded = dialog.messages.filter(replaced_at__isnull=True).order_by("position")
    if upto is not None:
        recorded = recorded.filter(position__lte=upto.position)
    messages: list[dict] = []
    tool_names: dict[str, None] = {}
    for message in recorded.only("role", "content", "tool_calls", "question_sent"):
        answered = message.role == Message.Role.ASSISTANT and messages and messages[-1]["role"] == Message.Role.USER
        if answered and message.question_sent:
            # The model got the question with gradcap's passages (context mode): so does the example.
            messages[-1]["content"] = message.question_sent
        if message.role == Message.Role.ASSISTANT and message.tool_calls:
            calls = [call for call in message.tool_calls if call.get("call_id")]
            if calls:
                messages.append(
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "id": call["call_id"],
                                "type": "function",
                                "function": {"name": call["name"], "arguments": call.get("arguments") or "{}"},
                            }
                            for call in calls
                        ],
                        "weight": 0,
                    }
                )
                for call in calls:
                    tool_names[call["name"]] = None
                    output = call.get("output")
                    content = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
                    messages.append({"role": "tool", "tool_call_id": call["call_id"], "content": content})
        entry: dict[str, Any] = {"role": message.role, "content": message.content}
        if message.role == Message.Role.ASSISTANT:
            entry["weight"] = 1
        messages.append(entry)
    tools = [tool for tool in map(_function_tool, tool_names) if tool is not None]
    return messages, tools


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
    _refresh_counts(example, dataset)
    example.save()
    _revise(example, user, _("Added from dialog #%(dialog)s") % {"dialog": dialog.pk})
    dialogs_examples_recount([dialog.pk])
    return example


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
        _refresh_counts(example, dataset)
        examples.append(example)
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress(number)
    return examples


@transaction.atomic
def examples_save(examples: list[Example], *, user: User | None, summary: str) -> int:
    """Save built examples and their first revisions in one transaction."""
    # SQLite and PostgreSQL both return the new ids from bulk_create: the revisions can follow.
    created = Example.objects.bulk_create(examples, batch_size=500)
    ExampleRevision.objects.bulk_create([_revision(example, user, summary) for example in created], batch_size=500)
    return len(created)


# Changing examples ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """What `example_change` does to an example's fields, named for the revision log."""

    summary: str
    apply: Callable[[Example], None]


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
    _refresh_counts(current, current.dataset)
    current.save()
    _revise(current, user, change.summary)
    return current


def _message_at(example: Example, index: int) -> dict:
    if not 0 <= index < len(example.messages):
        raise IndexError(index)
    return example.messages[index]


def set_content(index: int, content: str) -> Change:
    def apply(example: Example) -> None:
        message = _message_at(example, index)
        if message.get("role") == "assistant" and "original" not in message and message.get("content") != content:
            message["original"] = message.get("content") or ""  # the recorded answer: DPO's rejected side
        message["content"] = content
        if message.get("original") == content:
            del message["original"]

    return Change(_("Edited message %(number)s") % {"number": index + 1}, apply)


def delete_message(index: int) -> Change:
    def apply(example: Example) -> None:
        _message_at(example, index)
        del example.messages[index]

    return Change(_("Deleted message %(number)s") % {"number": index + 1}, apply)


def insert_message(index: int, role: str, content: str = "") -> Change:
    """Insert before `index` (`len(messages)` appends)."""
    if role not in EDITABLE_ROLES:
        raise ValueError(role)

    def apply(example: Example) -> None:
        if not 0 <= index <= len(example.messages):
            raise IndexError(index)
        message: dict[str, Any] = {"role": role, "content": content}
        if role == "assistant":
            message["weight"] = 1
        example.messages.insert(index, message)

    return Change(_("Inserted message %(number)s") % {"number": index + 1}, apply)


def set_role(index: int, role: str) -> Change:
    if role not in EDITABLE_ROLES:
        raise ValueError(role)

    def apply(example: Example) -> None:
        message = _message_at(example, index)
        message["role"] = role
        if role == "assistant":
            message.setdefault("weight", 1)
        else:
            for key in ("weight", "tool_calls", "original"):
                message.pop(key, None)
        if role != "tool":
            message.pop("tool_call_id", None)

    return Change(_("Changed the role of message %(number)s") % {"number": index + 1}, apply)


def set_weight(index: int, learn: bool) -> Change:
    def apply(example: Example) -> None:
        message = _message_at(example, index)
        if message.get("role") != "assistant":
            raise ValueError(index)
        message["weight"] = 1 if learn else 0

    summary = _("Learn from answer %(number)s") if learn else _("Do not learn from answer %(number)s")
    return Change(summary % {"number": index + 1}, apply)


def set_system(text: str | None) -> Change:
    """An own system message, or None to follow the assistant's current instructions."""

    def apply(example: Example) -> None:
        example.system_overridden = text is not None
        example.system = text or ""

    return Change(
        _("Changed the system message") if text is not None else _("System message follows the assistant"), apply
    )


def set_status(status: str) -> Change:
    def apply(example: Example) -> None:
        example.status = status

    return Change(_("Marked ready") if status == Example.Status.READY else _("Marked as draft"), apply)


def set_split(split: str) -> Change:
    def apply(example: Example) -> None:
        example.split = split

    return Change(_("Split set to %(split)s") % {"split": Example.Split(split).label}, apply)


def move_to(dataset: Dataset) -> Change:
    """Into another dataset of the same course; its revisions go with it."""

    def apply(example: Example) -> None:
        if dataset.course_id != example.dataset.course_id or dataset.pk == example.dataset_id:
            raise ValueError(dataset)
        example.dataset = dataset

    return Change(_("Moved to the dataset %(name)s") % {"name": dataset.name}, apply)


def redact(index: int | None = None) -> Change:
    """Replace emails, phone numbers and card numbers in one message (or all of them)."""

    def apply(example: Example) -> None:
        targets = [_message_at(example, index)] if index is not None else example.messages
        for message in targets:
            if isinstance(message.get("content"), str):
                message["content"] = redact_pii(message["content"])
        if index is None and example.system_overridden:
            example.system = redact_pii(example.system)

    return Change(_("Removed personal data"), apply)


@transaction.atomic
def example_delete(*, example: Example, version: int) -> None:
    """Delete an example (a ready one too) unless somebody changed it since `version`: a curator
    deletes what they saw, never a newer text they have not read."""
    current = Example.objects.select_for_update().get(pk=example.pk)
    if current.version != version:
        raise ExampleConflict(current)
    current.delete()
    if current.source_dialog_id:
        dialogs_examples_recount([current.source_dialog_id])


def has_pii(example: Example) -> bool:
    """Whether `redact()` would change anything in the example."""
    texts = [message.get("content") for message in example.messages]
    if example.system_overridden:
        texts.append(example.system)
    return any(isinstance(text, str) and find_pii(text) for text in texts)


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


def token_limit(dataset: Dataset) -> int | None:
    model = get_model(dataset.base_model) if dataset.base_model else None
    return model.training_token_limit if model else None


def example_report(example: Example, dataset: Dataset):
    """The example's own validation report: tokens, errors and warnings (no dataset-wide checks)."""
    return validate_example(
        training_row(example, system_message(example, dataset)), token_limit=token_limit(dataset), key=example.pk
    )


def _refresh_counts(example: Example, dataset: Dataset) -> None:
    report = example_report(example, dataset)
    example.token_count = report.total_tokens
    example.error_count = len(report.errors)
    example.warning_count = len(report.warnings)
