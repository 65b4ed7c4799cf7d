"""Examples as training lines: an example's system message, its line of OpenAI's chat fine-tuning
file or its preference pairs, its split, and a dataset's lines in a stable order."""

import datetime
import hashlib
from collections.abc import Callable, Iterator
from typing import Any

from django.db.models import QuerySet

from ..models import Dataset, Example

GRADCAP_KEYS = frozenset({"original"})  # ours, never written to a training file
PROGRESS_EVERY = 500  # examples between two progress reports of a long import or export


def split_draw(pk: int) -> int:
    """0–99, drawn from the primary key: an example whose draw is below the dataset's validation
    share goes to validation. Stored as `Example.split_draw`, so the database can count the split."""
    digest = hashlib.sha256(f"gradcap-split:{pk}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100


def split_of(example: Example, validation_percent: int) -> str:
    """train or validation: the curator's choice, otherwise a deterministic draw by primary key,
    so the split does not change between exports and adding examples never moves old ones."""
    if example.split:
        return example.split
    draw = example.split_draw if example.split_draw is not None else split_draw(example.pk)
    return Example.Split.VALIDATION if draw < validation_percent else Example.Split.TRAIN


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
    fields = ("pk", "dataset_id", "messages", "system", "system_overridden", "tools", "split", "split_draw", "status")
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
