"""How the trainer talks to its runner: one JSON object per line on stdout.

Every line has an `event`; the runner (`training/runner.py`, through `training/trainer_output.py`)
turns them into the run's events, metrics and checkpoints. Logs of the libraries go to stderr,
which the runner keeps as the trainer's log. In a run over several processes (accelerate), only the
main process speaks.

Events:
- `loaded`: the base model is in memory (`parameters`, `trainable`, `device`, `dtype`, `seconds`).
- `prepared`: the examples are tokenized (`examples`, `validation_examples`, `skipped` line numbers
  with `skipped_reason`, `max_length`, `longest`, `tokens`, `epochs`, `total_steps`, `batch_size`).
- `metrics`: one training step (`step`, `total_steps`, `train_loss`, `valid_loss`?, `learning_rate`,
  `train_mean_token_accuracy`?, `tokens_seen`, `tokens_per_second`, `eta_seconds`, `epoch`).
- `checkpoint`: a resumable state was written (`step`, `path`).
- `stopped`: the run stopped on request (`reason`: "pause" or "cancel", `step`, `checkpoint`?).
- `done`: the adapter and its manifest are written (`adapter_dir`, `manifest`).
- `error`: the run cannot go on (`code`, `detail`, and what the code needs, e.g. `step`).
"""

import json
import os
import sys
from typing import Any

# Error codes the runner explains to curators (training/messages.py).
MODEL_MISSING = "model_missing"  # no such directory or hub id
MODEL_UNLOADABLE = "model_unloadable"  # it is there, but transformers cannot load it
TEMPLATE = "template"  # the chat template cannot render these conversations exactly
NO_EXAMPLES = "no_examples"  # nothing left to learn from (all too long, or all weight 0)
TOO_LONG = "too_long"  # some examples exceed the maximum length and the run was told to refuse them
OUT_OF_MEMORY = "out_of_memory"
DISK_FULL = "disk_full"
NO_GPU = "no_gpu"
MULTIMODAL = "multimodal"  # image parts: the trainer renders text only, whatever the base model sees
BAD_JOB = "bad_job"  # the job description itself is wrong (a runner bug, not a user's)
CRASH = "crash"  # anything else: the log says what

# Exit status of a trainer that reported an `error` line (anything else non-zero is a crash).
EXIT_ERROR = 3


MEMORY_WORDS = ("out of memory", "can't allocate memory", "not enough memory", "cannot allocate memory")


def is_out_of_memory(error: BaseException) -> bool:
    """torch says it in several ways: OutOfMemoryError on a GPU, RuntimeError from the CPU's allocator."""
    text = str(error).lower()
    return (
        isinstance(error, MemoryError)
        or type(error).__name__ == "OutOfMemoryError"
        or any(word in text for word in MEMORY_WORDS)
    )


def is_main_process() -> bool:
    """Under accelerate every process runs this code; only rank 0 reports."""
    return os.environ.get("RANK", "0") == "0"


def emit(event: str, **fields: Any) -> None:
    if not is_main_process():
        return
    line = json.dumps({"event": event, **fields}, ensure_ascii=False, default=str)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class TrainerError(Exception):
    """A failure with a code the runner can explain; `detail` is the technical reason."""

    def __init__(self, code: str, detail: str = "", **fields: Any):
        super().__init__(detail or code)
        self.code = code
        self.detail = detail
        self.fields = fields
