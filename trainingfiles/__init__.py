"""The training-file library: the shapes of fine-tuning examples, the files they travel in, and
every check and figure a dataset needs before training. Pure functions over plain data (dicts as
in a JSONL line): no models, no requests, nothing stored.

- `shapes`: the keys and roles of a supervised example and of a DPO pair.
- `formats`: import (JSONL, CSV) and export (OpenAI's chat and preference files, Hugging Face chat).
- `validation`: a dataset's report — each example walked once by `inspection` (format checks and
  token counts, `counting`), plus `duplicates` (near-duplicate keys) and `pii` (personal data).
- `vision`: image parts in user messages (OpenAI's vision fine-tuning format), their limits and tokens.
- `reports`: what validation finds (issues, per-example and per-dataset reports).
- `stats`: token statistics, epochs and what training would cost, from a report.
"""
