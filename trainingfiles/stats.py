"""Token statistics of a dataset, the default number of epochs and what training would cost.

Everything here works from the token counts that `validation` already produced (an
`ExampleReport` per example), so showing statistics never tokenizes the dataset a second time.
"""

import math
from collections.abc import Iterable, Sequence
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


def distribution(values: Sequence[int]) -> Distribution | None:
    """min, p10, median, p90 and max of the values; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return Distribution(
        count=len(ordered),
        total=sum(ordered),
        min=ordered[0],
        p10=_percentile(ordered, 0.10),
        median=_percentile(ordered, 0.50),
        p90=_percentile(ordered, 0.90),
        max=ordered[-1],
    )


def _percentile(ordered: Sequence[int], fraction: float) -> float:
    position = fraction * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def histogram(values: Sequence[int], *, bins: int = 10) -> list[Bin]:
    """Equal-width bars over [min, max] (at most `bins` of them), with heights relative to the tallest."""
    if not values:
        return []
    low, high = min(values), max(values)
    width = max(1, math.ceil((high - low + 1) / bins))
    count = math.ceil((high - low + 1) / width)
    counts = [0] * count
    for value in values:
        counts[(value - low) // width] += 1
    tallest = max(counts)
    return [
        Bin(low=low + i * width, high=min(high, low + (i + 1) * width - 1), count=n, height=round(n * 100 / tallest))
        for i, n in enumerate(counts)
    ]


def billable_tokens(token_counts: Iterable[int], *, limit: int | None, epochs: int) -> int:
    """Σ min(limit, tokens of example) × epochs: longer examples are truncated, not billed in full."""
    if limit is None:
        return sum(token_counts) * epochs
    return sum(min(limit, tokens) for tokens in token_counts) * epochs


def training_cost(tokens: int, *, price_per_million: Decimal) -> Decimal:
    """US dollars for training on `tokens` tokens, rounded to cents."""
    return (Decimal(tokens) * price_per_million / PER_MILLION).quantize(CENT, rounding=ROUND_HALF_UP)


def estimate_costs(
    token_counts: Sequence[int], *, provider_kind: str, method: str = SFT, epochs: int | None = None
) -> list[CostEstimate]:
    """What training would cost on each model the provider kind can fine-tune with `method`.

    Assumptions, to keep the estimate simple and honest about being one: the catalog's
    `price_training` per 1M trained tokens; DPO billed like supervised training, per trained
    token (OpenAI's rule), with a pair's tokens being its input plus both answers; `epochs`
    defaults to `default_epochs`. Models without a training price are left out.
    """
    epochs = epochs or default_epochs(len(token_counts))
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
    totals = [report.total_tokens for report in reports]
    epochs = epochs or default_epochs(len(reports))
    return DatasetStats(
        examples=len(reports),
        messages=distribution([report.messages for report in reports]),
        total_tokens=distribution(totals),
        assistant_tokens=distribution([report.assistant_tokens for report in reports]),
        histogram=histogram(totals, bins=bins),
        epochs=epochs,
        costs=estimate_costs(totals, provider_kind=provider_kind, method=method, epochs=epochs)
        if provider_kind
        else [],
    )
