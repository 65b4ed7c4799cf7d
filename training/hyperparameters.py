"""The hyperparameters of a self-hosted LoRA run, each with a documented automatic default.

A curator sets any of them on the start page; the others are chosen here, from the number of
training examples and the base model, before the job is queued, so the run page shows every value
the trainer used:

- `n_epochs`: OpenAI's rule for "auto" (3, more for small sets, fewer for very large ones).
- `batch_size`: one example per 32, between 1 and 16 (small sets learn from more, smaller steps).
- `learning_rate`: 2e-4, the usual rate for LoRA adapters; 1e-3 for a run of fewer than 300 steps
  (the demo's 13 examples, 91 steps: at 2e-4 SmolLM2 had not learned its answers, at 1e-3 it gave
  each word for word).
- `lora_rank`: 16; `lora_alpha`: twice the rank; `lora_dropout`: 0.05. A run that continues an
  earlier adapter keeps that adapter's rank, alpha and dropout.
- `max_length`: the base model's context length, at most 2048 tokens. Longer examples are left
  out (never cut), and the run says which before training starts.
- `beta` (DPO): 0.1, TRL's default.
"""

import math
from typing import Any

from llm.catalog import DPO, default_epochs

NAMES = ("n_epochs", "batch_size", "learning_rate", "lora_rank", "lora_alpha", "lora_dropout", "max_length", "beta")
ADAPTER_SHAPE = ("lora_rank", "lora_alpha", "lora_dropout")  # fixed once an adapter exists
DEFAULT_LEARNING_RATE = 2e-4
SHORT_RUN_LEARNING_RATE = 1e-3
SHORT_RUN_STEPS = 300
DEFAULT_RANK = 16
DEFAULT_DROPOUT = 0.05
MAX_DEFAULT_LENGTH = 2048
DEFAULT_BETA = 0.1


def default_batch_size(examples: int) -> int:
    return max(1, min(16, examples // 32))


def resolve(
    requested: dict[str, Any],
    *,
    examples: int,
    context_length: int | None,
    method: str,
    adapter: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every hyperparameter with a value: the requested ones, the defaults for the rest.

    `adapter`: the hyperparameters of the adapter a continued run starts from.
    """
    given = {name: value for name, value in requested.items() if name in NAMES and value not in (None, "")}
    rank = int(given.get("lora_rank") or DEFAULT_RANK)
    epochs = int(given.get("n_epochs") or default_epochs(examples))
    batch_size = int(given.get("batch_size") or default_batch_size(examples))
    short = math.ceil(examples / batch_size) * epochs < SHORT_RUN_STEPS
    values: dict[str, Any] = {
        "n_epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": float(
            given.get("learning_rate") or (SHORT_RUN_LEARNING_RATE if short else DEFAULT_LEARNING_RATE)
        ),
        "lora_rank": rank,
        "lora_alpha": int(given.get("lora_alpha") or 2 * rank),
        "lora_dropout": float(given.get("lora_dropout", DEFAULT_DROPOUT)),
        "max_length": int(given.get("max_length") or min(context_length or MAX_DEFAULT_LENGTH, MAX_DEFAULT_LENGTH)),
    }
    if adapter:
        values.update({name: adapter[name] for name in ADAPTER_SHAPE if name in adapter})
    if method == DPO:
        values["beta"] = float(given.get("beta") or DEFAULT_BETA)
    return values
