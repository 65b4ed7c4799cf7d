"""Token statistics of a dataset, the default number of epochs and what training would cost.

Everything here works from the token counts that `validation` already produced (an
`ExampleReport` per example), so showing statistics never tokenizes the dataset a second time.
"""

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from llm.catalog import SFT, ModelInfo, default_epochs, tunable_models

from .reports import ExampleReport

CENT = Decimal("0.01")
PER_MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Distribution:
    """Summary of one per-example measure; percentiles interpolate linearly (numpy's default)."""

    count: int
    total: int
    min: int
    p10: float
    median: float
    p90: float
    max: int


@dataclass(frozen=True)
class Bin:
    """One bar of a histogram: values from `low` to `high` inclusive."""

    low: int
    high: int
    count: int
    height: int  # percent of the tallest bar, for a CSS bar chart


@dataclass(frozen=True)
class CostEstimate:
    model: ModelInfo
    method: str
    epochs: int
    billable_tokens: int
    cost: Decimal  # US dollars, rounded to cents


@dataclass(frozen=True)
class DatasetStats:
    examples: int
    messages: Distribution | None  # None for an empty dataset
    total_tokens: Distribution | None
    assistant_tokens: Distribution | None
    histogram: list[Bin]  # of total tokens per example
    epochs: int
    costs: list[CostEstimate]


Values = Sequence[int] | Mapping[int, int]  # the values, or how many times each value occurs


def _counted(values: Values) -> list[tuple[int, int]]:
    """(value, how many times) in increasing order of value."""
    counts = values if isinstance(values, Mapping) else Counter(values)
    return sorted((value, count) for value, count in counts.items() if count)


def distribution(values: Values) -> Distribution | None:
    """min, p10, median, p90 and max of the values; None when there are none."""
    counted = _counted(values)
    if not counted:
        return None
    size = sum(count for _value, count in counted)
    return Distribution(
        count=size,
        total=sum(value * count for value, count in counted),
        min=counted[0][0],
        p10=_percentile(counted, size, 0.10),
        median=_percentile(counted, size, 0.50),
        p90=_percentile(counted, size, 0.90),
        max=counted[-1][0],
    )


def _percentile(counted: list[tuple[int, int]], size: int, fraction: float) -> float:
    position = fraction * (size - 1)
    below = math.floor(position)
    above = min(below + 1, size - 1)
    low, high = _nth(counted, below), _nth(counted, above)
    return low + (high - low) * (position - below)


def _nth(counted: list[tuple[int, int]], index: int) -> int:
    """The value at `index` of the values in order."""
    seen = 0
    for value, count in counted:
        seen += count
        if index < seen:
            return value
    raise IndexError(index)


def histogram(values: Values, *, bins: int = 10) -> list[Bin]:
    """Equal-width bars over [min, max] (at most `bins` of them), with heights relative to the tallest."""
    counted = _counted(values)
    if not counted:
        return []
    low, high = counted[0][0], counted[-1][0]
    width = max(1, math.ceil((high - low + 1) / bins))
    count = math.ceil((high - low + 1) / width)
    counts = [0] * count
    for value, times in counted:
        counts[(value - low) // width] += times
    tallest = max(counts)
    return [
        Bin(low=low + i * width, high=min(high, low + (i + 1) * width - 1), count=n, height=round(n * 100 / tallest))
        for i, n in enumerate(counts)
    ]


def billable_tokens(token_counts: Values, *, limit: int | None, epochs: int) -> int:
    """Σ min(limit, tokens of example) × epochs: longer examples are truncated, not billed in full."""
    counted = _counted(token_counts)
    if limit is None:
        return sum(tokens * times for tokens, times in counted) * epochs
    return sum(min(limit, tokens) * times for tokens, times in counted) * epochs


def training_cost(tokens: int, *, price_per_million: Decimal) -> Decimal:
    """US dollars for training on `tokens` tokens, rounded to cents."""
    return (Decimal(tokens) * price_per_million / PER_MILLION).quantize(CENT, rounding=ROUND_HALF_UP)


def estimate_costs(
    token_counts: Values, *, provider_kind: str, method: str = SFT, epochs: int | None = None
) -> list[CostEstimate]:
    """What training would cost on each model the provider kind can fine-tune with `method`.

    Assumptions, to keep the estimate simple and honest about being one: the catalog's
    `price_training` per 1M trained tokens; DPO billed like supervised training, per trained
    token (OpenAI's rule), with a pair's tokens being its input plus both answers; `epochs`
    defaults to `default_epochs`. Models without a training price are left out.
    """
    epochs = epochs or default_epochs(_size(token_counts))
    estimates = []
    for model in tunable_models(provider_kind):
        if method not in model.methods or model.price_training is None:
            continue
        tokens = billable_tokens(token_counts, limit=model.training_token_limit, epochs=epochs)
        cost = training_cost(tokens, price_per_million=model.price_training)
        estimates.append(CostEstimate(model=model, method=method, epochs=epochs, billable_tokens=tokens, cost=cost))
    return estimates


def dataset_stats(
    reports: Sequence[ExampleReport],
    *,
    provider_kind: str | None,
    method: str = SFT,
    epochs: int | None = None,
    bins: int = 10,
) -> DatasetStats:
    """Statistics, histogram, epochs and costs for the examples that `validate_dataset` checked.

    `provider_kind` (an `llm.catalog` provider kind) selects the models to price; None prices none.
    """
    return measures_stats(
        total_tokens=[report.total_tokens for report in reports],
        assistant_tokens=[report.assistant_tokens for report in reports],
        messages=[report.messages for report in reports],
        provider_kind=provider_kind,
        method=method,
        epochs=epochs,
        bins=bins,
    )


def measures_stats(
    *,
    total_tokens: Values,
    assistant_tokens: Values,
    messages: Values,
    provider_kind: str | None,
    method: str = SFT,
    epochs: int | None = None,
    bins: int = 10,
) -> DatasetStats:
    """`dataset_stats` from each example's measures, or from how many examples have each value
    (as the database counts them)."""
    examples = _size(total_tokens)
    epochs = epochs or default_epochs(examples)
    return DatasetStats(
        examples=examples,
        messages=distribution(messages),
        total_tokens=distribution(total_tokens),
        assistant_tokens=distribution(assistant_tokens),
        histogram=histogram(total_tokens, bins=bins),
        epochs=epochs,
        costs=estimate_costs(total_tokens, provider_kind=provider_kind, method=method, epochs=epochs)
        if provider_kind
        else [],
    )


def _size(values: Values) -> int:
    return sum(values.values()) if isinstance(values, Mapping) else len(values)
