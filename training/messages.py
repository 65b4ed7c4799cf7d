"""What training hosts tell curators, in plain words.

Each text is kept untranslated with its parameters (`TrainingEvent.data`: "msgid", "params"), so a
page shows it in its reader's language (`finetune.templatetags.finetune.event_text`); the stored
`message` is the text in the worker's language, for the admin and logs.
"""

from typing import Any

from django.utils.translation import gettext, gettext_noop

from trainer import protocol

QUEUED = gettext_noop("Queued for a training host.")
WAITING_FOR_HOST = gettext_noop("Training host %(host)s does not have %(model)s; waiting for one of: %(hosts)s.")
STARTED = gettext_noop("Training started on %(host)s.")
RESUMED = gettext_noop("Training goes on from the checkpoint at step %(step)s, on %(host)s.")
# Counts stand after a colon ("…: 3"), so the texts read right for any number in any language.
PREPARED = gettext_noop(
    "Tokenized with the base model's chat template: %(examples)s examples, %(tokens)s tokens. Steps: %(steps)s "
    "(epochs: %(epochs)s, batch size: %(batch_size)s)."
)
TOO_LONG = gettext_noop(
    "Left out, longer than the maximum length of %(max_length)s tokens: %(count)s training examples (lines "
    "%(lines)s). Raise the maximum length, or shorten them, to train on them."
)
VALIDATION_TOO_LONG = gettext_noop(
    "Left out, longer than the maximum length of %(max_length)s tokens: %(count)s validation examples (lines "
    "%(lines)s)."
)
NOTHING_TO_LEARN = gettext_noop(
    "Left out, no answer to learn (every assistant message has weight 0): %(count)s examples (lines %(lines)s)."
)
LOADED = gettext_noop("Base model loaded on %(device)s (%(dtype)s): %(parameters)s parameters, in %(seconds)s s.")
STEP = gettext_noop("Step %(step)s/%(total)s: training loss %(loss)s")
STEP_WITH_VALIDATION = gettext_noop("Step %(step)s/%(total)s: training loss %(loss)s, validation loss %(valid)s")
CHECKPOINT = gettext_noop("Checkpoint saved at step %(step)s.")
PAUSING = gettext_noop("Pausing: a checkpoint is written at the end of the current step.")
PAUSED = gettext_noop("Paused at step %(step)s. Resume goes on from there.")
RESUMING = gettext_noop("Resuming: queued for a training host.")
CANCELLING = gettext_noop("Cancelling: training stops at the end of the current step.")
CANCELLED = gettext_noop("Cancelled at step %(step)s.")
TRAINER_DIED = gettext_noop(
    "The trainer stopped unexpectedly (%(reason)s) at step %(step)s. Starting it again from the last checkpoint."
)
HOST_STOPPED = gettext_noop(
    "Training host %(host)s is stopping: training stopped at step %(step)s with a checkpoint, and goes on from "
    "there when a training host takes the job again."
)
SUCCEEDED = gettext_noop("New fine-tuned model created: %(model)s")
FAILED = gettext_noop("Training failed: %(error)s")

# Refusals of a request (shown to the curator who asked).
UNKNOWN_MODEL = gettext_noop("%(model)s is not a base model of this provider.")
UNKNOWN_FILE = gettext_noop("No training file %(file)s was uploaded to this provider.")
UNKNOWN_JOB = gettext_noop("This provider has no training job %(job)s.")
ALREADY_FINISHED = gettext_noop("The training job has already finished (%(status)s).")
CANNOT_PAUSE = gettext_noop("Only a running training job can be paused; this one is %(status)s.")
CANNOT_RESUME = gettext_noop("Only a paused training job can be resumed; this one is %(status)s.")
CANNOT_MERGE = gettext_noop("Only a succeeded training job has a model to merge.")
CHECK_NO_TRAINER = gettext_noop(
    "The trainer's environment is not installed on this host (%(python)s), so the model cannot be checked here. "
    "Run bin/setup-trainer, or set TRAINER_PYTHON."
)
CHECK_TIMEOUT = gettext_noop("Loading the model took longer than %(seconds)s seconds.")

# Failures, by the trainer's error codes (trainer/protocol.py) and the runner's own.
TRAINER_MISSING = "trainer_missing"
OUT_OF_MEMORY_LOADING = "out_of_memory_loading"
IMAGES_TEXT_ONLY = "images_text_only"  # the trainer's MULTIMODAL, for a base model registered as seeing images
KILLED = "killed"
ERRORS = {
    protocol.MODEL_MISSING: gettext_noop(
        "The base model %(model)s was not found on training host %(host)s (%(source)s). An admin can correct its "
        "directory or hub id under Base models."
    ),
    protocol.MODEL_UNLOADABLE: gettext_noop(
        "The base model %(model)s could not be loaded on training host %(host)s: %(detail)s"
    ),
    protocol.TEMPLATE: gettext_noop(
        "The chat template of %(model)s cannot be used for training (%(detail)s). An admin can give the base model "
        "a chat template of its own."
    ),
    protocol.NO_EXAMPLES: gettext_noop(
        "No example is left to train on: the others are longer than the maximum length of %(max_length)s tokens "
        "or have no answer to learn. Raise the maximum length or shorten the examples."
    ),
    protocol.OUT_OF_MEMORY: gettext_noop(
        "Training host %(host)s ran out of memory (%(detail)s). Lower the batch size (now %(batch_size)s) or the "
        "maximum length (now %(max_length)s), or train on a host with more memory."
    ),
    OUT_OF_MEMORY_LOADING: gettext_noop(
        "Training host %(host)s ran out of memory loading %(model)s (%(detail)s): the base model does not fit. "
        "Train it on a host with more memory or a GPU, or register a smaller base model."
    ),
    protocol.DISK_FULL: gettext_noop(
        "The disk of training host %(host)s is full (%(detail)s). Free space in its work directory %(work_dir)s "
        "and train again."
    ),
    protocol.NO_GPU: gettext_noop(
        "Training host %(host)s has no GPU that torch can use, but it is set to train on one (TRAINING_DEVICE="
        "%(device)s). Check its drivers and its torch build, or set TRAINING_DEVICE=auto to train on what it has."
    ),
    protocol.MULTIMODAL: gettext_noop(
        "The examples hold images, and %(model)s is not registered as a base model that sees images."
    ),
    IMAGES_TEXT_ONLY: gettext_noop(
        "The examples hold images, and gradcap's trainer trains on text only so far: it cannot train %(model)s "
        "on images, although the model is registered as seeing them. Train on a dataset without images, or at a "
        "provider that fine-tunes on images."
    ),
    protocol.BAD_JOB: gettext_noop("The training job could not be read by the trainer: %(detail)s"),
    protocol.CRASH: gettext_noop(
        "The trainer crashed: %(detail)s. Its last log lines are below; the whole log can be downloaded."
    ),
    TRAINER_MISSING: gettext_noop(
        "The trainer's environment is missing on training host %(host)s (%(python)s). Run bin/setup-trainer there."
    ),
    KILLED: gettext_noop(
        "The trainer was stopped from outside again and again (%(reason)s; times: %(count)s). A host that kills "
        "its largest process is usually out of memory: lower the batch size (now %(batch_size)s) or the maximum "
        "length (now %(max_length)s)."
    ),
}


def render(msgid: str, params: dict[str, Any] | None = None) -> str:
    """The text in the active language, its parameters filled in."""
    text = gettext(msgid)
    return text % params if params else text
