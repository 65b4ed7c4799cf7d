"""How a trainer process ended, into the job: succeeded (the adapter kept), paused, cancelled, to be
restarted, or failed in plain words."""

import shutil
import signal
from pathlib import Path
from typing import Any

from django.conf import settings

from llm.models import Provider
from trainer import protocol

from . import files, messages
from .models import TrainingJob
from .services import event_add, job_finish, job_save, merge_request
from .trainer_output import Attempt


def log_keep(job: TrainingJob, log_path: Path) -> None:
    """The trainer's whole log into storage, its last lines on the job."""
    name = f"{files.job_prefix(job.public_id)}/trainer.log"
    files.storage().delete(name)
    with open(log_path, "rb") as handle:
        files.storage().save(name, handle)
    job_save(job, log_file=name, log_tail=files.local_tail(log_path))


def attempt_outcome(job: TrainingJob, attempt: Attempt, code: int, *, host: str, work: Path, restarts: int) -> str:
    """Record how the attempt ended (its exit `code`, what it reported); "succeeded", "stopped",
    "failed" or "restart"."""
    hyper = job.hyperparameters
    if attempt.done and code == 0:
        _succeed(job, attempt, work)
        return "succeeded"
    if attempt.stopped and code == 0:
        step = attempt.stopped.get("step", job.step)
        if attempt.shutdown and job.status == TrainingJob.Status.RUNNING:
            job_save(job, step=step, estimated_finish=None)  # still in hand: the sweep finds it without a runner
            event_add(job, messages.HOST_STOPPED, {"host": host, "step": step}, level="warn")
        elif attempt.stopped["reason"] == "pause":
            job_save(job, status=TrainingJob.Status.PAUSED, step=step, estimated_finish=None)
            event_add(job, messages.PAUSED, {"step": step})
        else:
            job_finish(job, TrainingJob.Status.CANCELLED, step=step)
            event_add(job, messages.CANCELLED, {"step": step})
            shutil.rmtree(work, ignore_errors=True)
        return "stopped"
    if attempt.control_sent == "cancel":  # killed after the grace period: cancelled all the same
        job_finish(job, TrainingJob.Status.CANCELLED)
        event_add(job, messages.CANCELLED, {"step": job.step})
        shutil.rmtree(work, ignore_errors=True)
        return "stopped"
    if attempt.error:
        code = attempt.error["code"]
        if code == protocol.OUT_OF_MEMORY and attempt.error.get("phase") == "loading":
            code = messages.OUT_OF_MEMORY_LOADING
        if code == protocol.MULTIMODAL and job.base_model.multimodal:  # refused all the same: text only so far
            code = messages.IMAGES_TEXT_ONLY
        fields = {key: value for key, value in attempt.error.items() if key not in ("code", "detail")}
        job_fail(job, code, {"detail": attempt.error.get("detail", ""), **fields}, host=host, work=work)
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
        job_fail(job, messages.KILLED, params, host=host, work=work)
        return "failed"
    job_fail(job, protocol.CRASH, {"detail": f"exit status {code}"}, host=host, work=work)
    return "failed"


def job_fail(job: TrainingJob, code: str, params: dict[str, Any], *, host: str, work: Path) -> None:
    """Fail the job with the message for `code` (trainer/protocol.py or training.messages), in plain words."""
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
    job_finish(job, TrainingJob.Status.FAILED, error_code=code, error=text, error_detail=params.get("detail", ""))
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
    job_finish(
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
