"""Runs one training job on this host: the trainer as a subprocess, its progress into the job.

The task (`training.tasks.job_run`) runs on the training queue, which only training hosts consume.
It claims the job with a heartbeat lease — a job whose runner beats is never run by a second host —,
copies the job's files into a work directory, starts `python -m trainer train job.json` in the
trainer's environment (torch lives there, never here) and turns each JSON line it prints into the
job's state and events. Checkpoints go to storage as they are written, so that a trainer killed
outright goes on from the last one: at once when only the trainer died, or when the task runs again
(the sweep queues it) when the whole host did.
"""

import json
import logging
import queue
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.db.models import F, Q
from django.utils import timezone

from trainer import protocol

from . import files, messages
from .models import TrainingJob
from .outcomes import attempt_outcome, job_fail, log_keep
from .process import trainer_child_setup, trainer_environment
from .services import event_add, job_finish, job_save, lease_expired_before
from .trainer_output import Attempt, on_line

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5
CANCEL_GRACE_SECONDS = 60  # a trainer that has not stopped this long after "cancel" is killed


# Set when this host is stopping (SIGTERM, as systemd and Ctrl-C in bin/demo send): the trainer writes
# a checkpoint and stops, and the job waits for a host to go on. Only a main thread handles signals.
_stopping = threading.Event()


def _on_sigterm(signum, frame) -> None:
    _stopping.set()


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
        job_finish(job, TrainingJob.Status.CANCELLED, heartbeat_at=None)
        event_add(job, messages.CANCELLED, {"step": job.step})
        return
    if job.status == TrainingJob.Status.PAUSING:
        job_save(job, status=TrainingJob.Status.PAUSED, heartbeat_at=None)
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
        job_fail(job, protocol.CRASH, {"detail": f"{type(error).__name__}: {error}"}, host=host, work=work)
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
    job_save(job, trainer_pid=None, heartbeat_at=None)


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
        job_fail(job, messages.TRAINER_MISSING, {"python": str(python)}, host=host, work=work)
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
    job_save(
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
    job_save(job, compute_seconds=job.compute_seconds + (time.monotonic() - started), trainer_pid=None)
    log_keep(job, log_path)
    return attempt_outcome(job, attempt, code, host=host, work=work, restarts=restarts)


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
                on_line(job, attempt, line, log, work)
            now = time.monotonic()
            if now - last_control >= 1:
                _control(job, attempt, process, work)
                last_control = now
            if now - last_beat >= HEARTBEAT_SECONDS:
                job_save(job, heartbeat_at=timezone.now())
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
