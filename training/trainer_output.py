"""The trainer's output, line by line, into the job as it comes: progress, metrics, warnings, checkpoints."""

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils import timezone

from . import files, messages
from .models import TrainingCheckpoint, TrainingJob
from .services import event_add, job_save


@dataclass
class Attempt:
    """What one trainer process reported."""

    done: dict[str, Any] | None = None
    stopped: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    prepared: dict[str, Any] = field(default_factory=dict)
    last_metrics: dict[str, Any] = field(default_factory=dict)
    control_sent: str = ""
    control_at: float = 0.0
    shutdown: bool = False  # the host is stopping: checkpoint, stop, leave the job to a host


def on_line(job: TrainingJob, attempt: Attempt, raw: bytes, log, work: Path) -> None:
    """One line the trainer printed: an event of its protocol (trainer/protocol.py), or text for the log."""
    try:
        event = json.loads(raw)
        kind = event.pop("event")
    except (ValueError, KeyError, AttributeError):
        log.write(raw)  # a library printing to stdout: it belongs to the log
        return
    if kind == "prepared":
        attempt.prepared = event
        job_save(job, total_steps=event["total_steps"])
        for key, msgid in (("too_long", messages.TOO_LONG), ("validation_too_long", messages.VALIDATION_TOO_LONG)):
            if event.get(key):
                params = {"count": len(event[key]), "max_length": event["max_length"], "lines": _lines(event[key])}
                event_add(job, msgid, params, level="warn")
        if event.get("nothing_to_learn"):
            lines = event["nothing_to_learn"]
            event_add(job, messages.NOTHING_TO_LEARN, {"count": len(lines), "lines": _lines(lines)}, level="warn")
        params = {
            "examples": event["examples"],
            "tokens": event["tokens"],
            "steps": event["total_steps"],
            "epochs": event["epochs"],
            "batch_size": event["batch_size"],
        }
        event_add(job, messages.PREPARED, params)
    elif kind == "loaded":
        job_save(job, device=event["device"])
        params = {key: event[key] for key in ("device", "dtype", "parameters", "seconds")}
        event_add(job, messages.LOADED, params)
    elif kind == "started":
        job_save(job, step=event["step"], total_steps=event["total_steps"])
    elif kind == "metrics":
        _on_metrics(job, attempt, event)
    elif kind == "checkpoint":
        _on_checkpoint(job, attempt, event, work)
    elif kind == "stopped":
        attempt.stopped = event
    elif kind == "done":
        attempt.done = event
    elif kind == "error":
        attempt.error = event


def _lines(numbers: list[int], shown: int = 20) -> str:
    text = ", ".join(str(number) for number in numbers[:shown])
    return text + (" …" if len(numbers) > shown else "")


def _on_metrics(job: TrainingJob, attempt: Attempt, event: dict[str, Any]) -> None:
    attempt.last_metrics = event
    eta = event.get("eta_seconds")
    job_save(
        job,
        step=event["step"],
        total_steps=event["total_steps"],
        trained_tokens=event.get("tokens_seen", job.trained_tokens),
        tokens_per_second=event.get("tokens_per_second", job.tokens_per_second),
        estimated_finish=timezone.now() + datetime.timedelta(seconds=eta) if eta is not None else None,
    )
    loss = event.get("train_loss")
    params = {"step": event["step"], "total": event["total_steps"]}
    if loss is None:  # a validation-only point
        msgid, params["valid"] = messages.STEP_WITH_VALIDATION, _round(event.get("valid_loss"))
        params["loss"] = "—"
    elif event.get("valid_loss") is not None:
        msgid = messages.STEP_WITH_VALIDATION
        params.update(loss=_round(loss), valid=_round(event["valid_loss"]))
    else:
        msgid = messages.STEP
        params["loss"] = _round(loss)
    data = {name: value for name, value in event.items() if name != "eta_seconds"}
    event_add(job, msgid, params, type="metrics", data=data)


def _round(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _on_checkpoint(job: TrainingJob, attempt: Attempt, event: dict[str, Any], work: Path) -> None:
    """Keep the new checkpoint in storage (another host may go on from it) and drop the older ones."""
    local = Path(event["path"])
    prefix = f"{files.job_prefix(job.public_id)}/checkpoints/{event['step']}"
    files.tree_upload(local, prefix)
    metrics = {key: attempt.last_metrics[key] for key in ("train_loss", "valid_loss") if key in attempt.last_metrics}
    TrainingCheckpoint.objects.update_or_create(
        job=job, step=event["step"], defaults={"path": prefix, "metrics": metrics}
    )
    for older in job.checkpoints.filter(step__lt=event["step"]).exclude(path=""):
        files.tree_delete(older.path)
        TrainingCheckpoint.objects.filter(pk=older.pk).update(path="")
    event_add(job, messages.CHECKPOINT, {"step": event["step"]})
