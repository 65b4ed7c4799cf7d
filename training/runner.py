"""Runs one training job on this host: the trainer as a subprocess, its progress into the job.

The task (`training.tasks.job_run`) runs on the training queue, which only training hosts consume.
It claims the job with a heartbeat lease — a job whose runner beats is never run by a second host —,
copies the job's files into a work directory, starts `python -m trainer train job.json` in the
trainer's environment (torch lives there, never here) and turns each JSON line it prints into the
job's state and events. Checkpoints go to storage as they are written, so that a trainer killed
outright goes on from the last one: at once when only the trainer died, or when the task runs again
(the sweep queues it) when the whole host did.
"""

import datetime
import json
import logging
import queue
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.db.models import F, Q
from django.utils import timezone

from llm.models import Provider
from trainer import protocol

from . import files, messages
from .models import TrainingCheckpoint, TrainingJob
from .process import trainer_child_setup, trainer_environment
from .services import event_add, lease_expired_before, merge_request

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5
CANCEL_GRACE_SECONDS = 60  # a trainer that has not stopped this long after "cancel" is killed


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


# Set when this host is stopping (SIGTERM, as systemd and Ctrl-C in bin/demo send): the trainer writes
# a checkpoint and stops, and the job waits for a host to go on. Only a main thread handles signals.
_stopping = threading.Event()


def _on_sigterm(signum, frame) -> None:
    _stopping.set()


def _save(job: TrainingJob, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(job, name, value)
    TrainingJob.objects.filter(pk=job.pk).update(**fields, updated_at=timezone.now())


def _claim(job_id: int, host: str) -> TrainingJob | None:
    """Take the job for this host, unless a live runner holds it or nothing is left to do.

    Both conditional updates are atomic: of two tasks for one job, on one host or two, one wins."""
    job = TrainingJob.objects.select_related("base_model", "continued_from").filter(pk=job_id).first()
    if job is None or job.status not in (TrainingJob.Status.QUEUED, *TrainingJob.IN_HAND):
        return None
    if not job.base_model.is_on_host(host):
        last = job.events.order_by("-pk").values_list("data__msgid", flat=True).first()
        if last != messages.WAITING_FOR_HOST:
            params = {"host": host, "model": job.base_model.name, "hosts": job.base_model.hosts}
            event_add(job, messages.WAITING_FOR_HOST, params)
        return None
    now = timezone.now()
    claimed = TrainingJob.objects.filter(pk=job_id, status=TrainingJob.Status.QUEUED).update(
        status=TrainingJob.Status.RUNNING, host=host, heartbeat_at=now, trainer_pid=None, updated_at=now
    )
    if not claimed:  # in a host's hands: only when that host's runner has stopped beating
        gone = Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=lease_expired_before())
        claimed = TrainingJob.objects.filter(gone, pk=job_id, status__in=TrainingJob.IN_HAND).update(
            host=host, heartbeat_at=now, trainer_pid=None, updated_at=now
        )
    if not claimed:
        return None
    job.refresh_from_db()
    return job


def job_run(job_id: int) -> None:
    """The training task: run the job to its end (or to a pause) on this host."""
    host = settings.TRAINING_HOST_NAME
    job = _claim(job_id, host)
    if job is None:
        return
    if job.status == TrainingJob.Status.CANCELLING:  # its runner died while cancelling
        _finish(job, TrainingJob.Status.CANCELLED, heartbeat_at=None)
        event_add(job, messages.CANCELLED, {"step": job.step})
        return
    if job.status == TrainingJob.Status.PAUSING:
        _save(job, status=TrainingJob.Status.PAUSED, heartbeat_at=None)
        event_add(job, messages.PAUSED, {"step": job.step})
        return
    work = Path(settings.TRAINING_WORK_DIR) / job.public_id
    restarts = 0
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None
    try:
        while _attempt(job, work, host, restarts=restarts) == "restart":
            restarts += 1
    except DatabaseError:
        # The database went away: leave the job in hand. Its heartbeat goes stale, and the sweep
        # queues it again to go on from its last checkpoint once the database is back.
        logger.exception("Training job %s lost its database", job.public_id)
        raise
    except Exception as error:  # the runner itself failed: say so rather than leave a job "running"
        logger.exception("Training job %s failed in its runner", job.public_id)
        _fail(job, protocol.CRASH, {"detail": f"{type(error).__name__}: {error}"}, host=host, work=work)
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    _save(job, trainer_pid=None, heartbeat_at=None)


def _finish(job: TrainingJob, status: str, **fields: Any) -> None:
    _save(job, status=status, finished_at=timezone.now(), estimated_finish=None, **fields)


def _latest_checkpoint(job: TrainingJob, work: Path) -> Path | None:
    """The last checkpoint the runner recorded: from this host's disk, or else from storage."""
    checkpoint = job.checkpoints.order_by("-step").first()
    if checkpoint is None:
        return None
    local = work / f"checkpoint-{checkpoint.step}"
    if (local / "trainer_state.json").exists():
        return local
    shutil.rmtree(local, ignore_errors=True)
    return local if files.tree_download(checkpoint.path, local) else None


def _inputs(job: TrainingJob, work: Path) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    (work / "control.json").unlink(missing_ok=True)
    description: dict[str, Any] = {
        "job": job.public_id,
        "method": job.method,
        "base_model": {
            "name": job.base_model.name,
            "source": job.base_model.source,
            "revision": job.base_model.revision,
            "chat_template": job.base_model.chat_template,
        },
        "training_file": str(files.file_copy_to(job.training_file_id, work / "train.jsonl")),
        "validation_file": "",
        "hyperparameters": job.hyperparameters,
        "output_dir": str(work),
        "device": settings.TRAINING_DEVICE,
        "seed": 42,
        "checkpoint_seconds": settings.TRAINING_CHECKPOINT_SECONDS,
        "snapshot": {"training_file": job.training_file_id, "validation_file": job.validation_file_id},
    }
    if job.validation_file_id:
        description["validation_file"] = str(files.file_copy_to(job.validation_file_id, work / "validation.jsonl"))
    if job.continued_from_id:
        earlier = work / "init-adapter"
        shutil.rmtree(earlier, ignore_errors=True)
        files.tree_download(job.continued_from.adapter_path, earlier)
        description["init_adapter"] = str(earlier)
        description["init_adapter_name"] = job.continued_from.fine_tuned_model
    resume = _latest_checkpoint(job, work)
    description["resume_from"] = str(resume) if resume else ""
    return description


def _command(job_file: Path) -> list[str]:
    python = settings.TRAINER_PYTHON
    if settings.TRAINING_PROCESSES > 1:  # one process per GPU, the way TRL expects it
        return [python, "-m", "accelerate.commands.launch", "--num_processes", str(settings.TRAINING_PROCESSES),
                "--multi_gpu", "-m", "trainer", "train", str(job_file)]  # fmt: skip
    return [python, "-m", "trainer", "train", str(job_file)]


def _read_lines(stream, sink: queue.Queue) -> None:
    for line in iter(stream.readline, b""):
        sink.put(line)
    sink.put(None)


def _attempt(job: TrainingJob, work: Path, host: str, *, restarts: int) -> str:
    """One trainer process, from start to exit; "restart" when it died and should go on."""
    python = Path(settings.TRAINER_PYTHON)
    if not python.exists():
        _fail(job, messages.TRAINER_MISSING, {"python": str(python)}, host=host, work=work)
        return "failed"
    if _stopping.is_set():  # the host began to stop before this trainer did: leave the job to the next
        return "stopped"
    description = _inputs(job, work)
    resuming = bool(description["resume_from"])
    job_file = work / "job.json"
    job_file.write_text(json.dumps(description, ensure_ascii=False, indent=2), encoding="utf-8")
    log_path = work / "trainer.log"
    started = time.monotonic()
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 — our own trainer, with a job file we wrote
            _command(job_file),
            cwd=settings.BASE_DIR,
            env=trainer_environment(),
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,  # a signal to the worker's group (a host stopping) is the runner's to handle
            preexec_fn=trainer_child_setup,
        )
    now = timezone.now()
    _save(
        job,
        trainer_pid=process.pid,
        attempts=F("attempts") + 1,
        started_at=job.started_at or now,
        heartbeat_at=now,
        error="",
        error_code="",
        error_detail="",
    )
    job.refresh_from_db(fields=["attempts", "status"])
    if resuming:
        event_add(job, messages.RESUMED, {"step": description["resume_from"].rsplit("-", 1)[-1], "host": host})
    else:
        event_add(job, messages.STARTED, {"host": host})
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    attempt = Attempt()
    try:
        _follow(job, attempt, process, lines, log_path, work)
    finally:
        if process.poll() is None:  # the runner failed: no trainer goes on without it
            process.kill()
    code = process.wait()
    _save(job, compute_seconds=job.compute_seconds + (time.monotonic() - started), trainer_pid=None)
    _keep_log(job, log_path)
    return _outcome(job, attempt, code, host=host, work=work, restarts=restarts)


def _follow(job: TrainingJob, attempt: Attempt, process, lines: queue.Queue, log_path: Path, work: Path) -> None:
    """Read the trainer's lines until it closes its output; pass on requests, beat the heartbeat."""
    last_beat = last_control = time.monotonic()
    with open(log_path, "ab") as log:
        while True:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                line = b""
            if line is None:
                return
            if line:
                _on_line(job, attempt, line, log, work)
            now = time.monotonic()
            if now - last_control >= 1:
                _control(job, attempt, process, work)
                last_control = now
            if now - last_beat >= HEARTBEAT_SECONDS:
                _save(job, heartbeat_at=timezone.now())
                last_beat = now


def _control(job: TrainingJob, attempt: Attempt, process: subprocess.Popen, work: Path) -> None:
    """Pass a curator's pause or cancel to the trainer (it stops at the end of its step)."""
    status = TrainingJob.objects.filter(pk=job.pk).values_list("status", flat=True).first()
    job.status = status
    wanted = {TrainingJob.Status.PAUSING: "pause", TrainingJob.Status.CANCELLING: "cancel"}.get(status, "")
    attempt.shutdown = attempt.shutdown or _stopping.is_set()
    if attempt.shutdown and not wanted:
        wanted = "pause"
    if wanted and wanted != attempt.control_sent:
        (work / "control.json").write_text(json.dumps({"action": wanted}), encoding="utf-8")
        attempt.control_sent, attempt.control_at = wanted, time.monotonic()
    if attempt.control_sent == "cancel" and time.monotonic() - attempt.control_at > CANCEL_GRACE_SECONDS:
        process.kill()


def _on_line(job: TrainingJob, attempt: Attempt, raw: bytes, log, work: Path) -> None:
    try:
        event = json.loads(raw)
        kind = event.pop("event")
    except (ValueError, KeyError, AttributeError):
        log.write(raw)  # a library printing to stdout: it belongs to the log
        return
    if kind == "prepared":
        attempt.prepared = event
        _save(job, total_steps=event["total_steps"])
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
        _save(job, device=event["device"])
        params = {key: event[key] for key in ("device", "dtype", "parameters", "seconds")}
        event_add(job, messages.LOADED, params)
    elif kind == "started":
        _save(job, step=event["step"], total_steps=event["total_steps"])
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
    _save(
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


def _keep_log(job: TrainingJob, log_path: Path) -> None:
    name = f"{files.job_prefix(job.public_id)}/trainer.log"
    files.storage().delete(name)
    with open(log_path, "rb") as handle:
        files.storage().save(name, handle)
    _save(job, log_file=name, log_tail=files.local_tail(log_path))


def _outcome(job: TrainingJob, attempt: Attempt, code: int, *, host: str, work: Path, restarts: int) -> str:
    hyper = job.hyperparameters
    if attempt.done and code == 0:
        _succeed(job, attempt, work)
        return "succeeded"
    if attempt.stopped and code == 0:
        step = attempt.stopped.get("step", job.step)
        if attempt.shutdown and job.status == TrainingJob.Status.RUNNING:
            _save(job, step=step, estimated_finish=None)  # still in hand: the sweep finds it without a runner
            event_add(job, messages.HOST_STOPPED, {"host": host, "step": step}, level="warn")
        elif attempt.stopped["reason"] == "pause":
            _save(job, status=TrainingJob.Status.PAUSED, step=step, estimated_finish=None)
            event_add(job, messages.PAUSED, {"step": step})
        else:
            _finish(job, TrainingJob.Status.CANCELLED, step=step)
            event_add(job, messages.CANCELLED, {"step": step})
            shutil.rmtree(work, ignore_errors=True)
        return "stopped"
    if attempt.control_sent == "cancel":  # killed after the grace period: cancelled all the same
        _finish(job, TrainingJob.Status.CANCELLED)
        event_add(job, messages.CANCELLED, {"step": job.step})
        shutil.rmtree(work, ignore_errors=True)
        return "stopped"
    if attempt.error:
        code = attempt.error["code"]
        if code == protocol.OUT_OF_MEMORY and attempt.error.get("phase") == "loading":
            code = messages.OUT_OF_MEMORY_LOADING
        fields = {key: value for key, value in attempt.error.items() if key not in ("code", "detail")}
        _fail(job, code, {"detail": attempt.error.get("detail", ""), **fields}, host=host, work=work)
        return "failed"
    if attempt.shutdown:  # the host is going down: whatever happened, another start goes on from a checkpoint
        return "stopped"
    if code < 0:  # killed by a signal nobody here sent: the kernel (out of memory), an operator, a restart
        reason = signal.Signals(-code).name
        if restarts < settings.TRAINING_MAX_RESTARTS:
            event_add(job, messages.TRAINER_DIED, {"reason": reason, "step": job.step}, level="warn")
            return "restart"
        params = {"count": restarts + 1, "reason": reason, "batch_size": hyper.get("batch_size"),
                  "max_length": hyper.get("max_length")}  # fmt: skip
        _fail(job, messages.KILLED, params, host=host, work=work)
        return "failed"
    _fail(job, protocol.CRASH, {"detail": f"exit status {code}"}, host=host, work=work)
    return "failed"


def _fail(job: TrainingJob, code: str, params: dict[str, Any], *, host: str, work: Path) -> None:
    hyper = job.hyperparameters
    params = {
        "model": job.base_model.name,
        "host": host,
        "source": job.base_model.source,
        "device": settings.TRAINING_DEVICE,
        "work_dir": str(settings.TRAINING_WORK_DIR),
        "batch_size": hyper.get("batch_size"),
        "max_length": hyper.get("max_length"),
        "detail": "",
        **params,
    }
    msgid = messages.ERRORS.get(code, messages.ERRORS[protocol.CRASH])
    text = messages.render(msgid, params)
    _finish(job, TrainingJob.Status.FAILED, error_code=code, error=text, error_detail=params.get("detail", ""))
    event_add(job, messages.FAILED, {"error": text}, level="error", data={"error_msgid": msgid, "error_params": params})
    if code != protocol.DISK_FULL:
        shutil.rmtree(work / "init-adapter", ignore_errors=True)


def _succeed(job: TrainingJob, attempt: Attempt, work: Path) -> None:
    manifest = attempt.done["manifest"]
    prefix = f"{files.job_prefix(job.public_id)}/adapter"
    files.tree_upload(Path(attempt.done["adapter_dir"]), prefix)
    short = job.public_id.removeprefix("trainjob-")[:12]
    name = f"ft:{job.base_model.name}:self-hosted:{job.suffix or 'gradcap'}:{short}"
    metrics = manifest.get("metrics", {})
    _finish(
        job,
        TrainingJob.Status.SUCCEEDED,
        fine_tuned_model=name,
        adapter_path=prefix,
        manifest=manifest,
        step=metrics.get("steps", job.step),
        trained_tokens=metrics.get("trained_tokens", job.trained_tokens),
        tokens_per_second=metrics.get("tokens_per_second") or job.tokens_per_second,
    )
    for checkpoint in job.checkpoints.exclude(path=""):  # only a run still going needs them
        files.tree_delete(checkpoint.path)
    job.checkpoints.update(path="")
    event_add(job, messages.SUCCEEDED, {"model": name})
    shutil.rmtree(work, ignore_errors=True)
    if job.provider.serving == Provider.Serving.MODEL_DIRECTORY:
        merge_request(job=job)  # its model server loads merged models: the one ▶ needs is made now
