from decimal import Decimal

import pytest

from llm.catalog import AZURE, DPO, OPENAI, default_epochs, get_model
from tests.trainingfiles.examples import demo_examples
from trainingfiles.stats import billable_tokens, dataset_stats, distribution, estimate_costs, histogram, training_cost
from trainingfiles.validation import validate_dataset


@pytest.mark.parametrize(
    ("examples", "epochs"),
    [(1, 25), (3, 25), (10, 10), (33, 3), (34, 3), (100, 3), (8_333, 3), (8_334, 2), (12_500, 2), (30_000, 1)],
)
def test_it_picks_epochs_like_openai(examples, epochs):
    assert default_epochs(examples) == epochs


def test_it_summarises_a_distribution():
    summary = distribution([10, 1, 7, 3, 5, 9, 2, 8, 4, 6])

    assert (summary.count, summary.total, summary.min, summary.max) == (10, 55, 1, 10)
    assert summary.median == 5.5
    assert summary.p10 == pytest.approx(1.9)
    assert summary.p90 == pytest.approx(9.1)
    assert distribution([]) is None
    assert distribution([42]).p90 == 42


def test_it_bins_values_for_a_bar_chart():
    bins = histogram([1, 2, 2, 3, 10, 11, 20], bins=4)

    assert [(b.low, b.high, b.count) for b in bins] == [(1, 5, 4), (6, 10, 1), (11, 15, 1), (16, 20, 1)]
    assert [b.height for b in bins] == [100, 25, 25, 25]
    assert histogram([]) == []
    assert [(b.low, b.high, b.count, b.height) for b in histogram([7, 7, 7])] == [(7, 7, 3, 100)]


def test_it_bills_long_examples_only_up_to_the_limit():
    assert billable_tokens([100, 200, 70_000], limit=65_536, epochs=3) == (100 + 200 + 65_536) * 3
    assert billable_tokens([100, 200], limit=None, epochs=2) == 600


def test_it_rounds_cost_to_cents():
    assert training_cost(1_000_000, price_per_million=Decimal("25.00")) == Decimal("25.00")
    assert training_cost(1_234, price_per_million=Decimal("3.00")) == Decimal("0.00")
    assert training_cost(1_700, price_per_million=Decimal("3.00")) == Decimal("0.01")


def test_it_estimates_cost_for_each_model_the_provider_can_tune():
    estimates = estimate_costs([1_000] * 100, provider_kind=OPENAI)

    assert [(e.model.id, e.epochs, e.billable_tokens, e.cost) for e in estimates] == [
        ("gpt-4.1-2025-04-14", 3, 300_000, Decimal("7.50")),
        ("gpt-4.1-mini-2025-04-14", 3, 300_000, Decimal("1.50")),
    ]


def test_it_prices_dpo_only_on_models_that_learn_it():
    supervised = {e.model.id for e in estimate_costs([500] * 20, provider_kind=AZURE)}
    preference = {e.model.id for e in estimate_costs([500] * 20, provider_kind=AZURE, method=DPO)}

    assert "gpt-4o-mini-2024-07-18" in supervised
    assert "gpt-4o-mini-2024-07-18" not in preference
    assert preference < supervised


def test_it_describes_a_validated_dataset():
    examples = demo_examples()
    report = validate_dataset(enumerate(examples), base_model=get_model("gpt-4.1-mini"))

    stats = dataset_stats(report.examples, provider_kind=OPENAI, epochs=4)

    assert stats.examples == len(examples)
    assert stats.messages.min == 3 and stats.messages.max == 7
    assert stats.total_tokens.total == sum(r.total_tokens for r in report.examples)
    assert stats.assistant_tokens.max == max(r.assistant_tokens for r in report.examples)
    assert sum(b.count for b in stats.histogram) == len(examples)
    assert stats.epochs == 4
    mini = next(e for e in stats.costs if e.model.id == "gpt-4.1-mini-2025-04-14")
    assert mini.billable_tokens == stats.total_tokens.total * 4
    assert mini.cost == (Decimal(mini.billable_tokens) * Decimal("5.00") / 1_000_000).quantize(Decimal("0.01"))


def test_it_describes_an_empty_dataset():
    stats = dataset_stats([], provider_kind=None)

    assert (stats.examples, stats.messages, stats.histogram, stats.costs) == (0, None, [], [])
