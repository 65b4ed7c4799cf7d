"""Fine-tuning jobs whose lifecycle is derived from stored timestamps.

Nothing keeps a job moving: whoever reads a job (retrieve, list, events, checkpoints, models)
advances it to where its timeline says it is, under a row lock, and records the transitions and
events it passed. Two processes reading at once therefore agree, and a test can move a job along
by moving its `created_at` back.

Timeline, as fractions of the job's duration (paused time excluded): validating_files until 0.1,
queued until 0.2, running (steps evenly spread) until 1.0, then succeeded; a job whose files
failed validation fails at 0.1.
"""

import csv
import io
import math
import random
import re
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from llm.catalog import SANDBOX, default_epochs, get_model

from .errors import SandboxError, conflict, invalid
from .files import file_get
from .models import File, FineTuningCheckpoint, FineTuningEvent, FineTuningJob, new_id, unix
from .validation import Dataset, InvalidFile, dataset_validate

Status = FineTuningJob.Status

VALIDATED_AT = 0.1
STARTED_AT = 0.2
MAX_METRICS_EVENTS = 100
METHODS = ("supervised", "dpo")


# Creating a job


def _hyperparameters(requested: dict, *, method: str, n_examples: int) -> dict:
    """The hyperparameters a job runs with: each "auto" (or missing) value resolved."""

    def pick(name: str, auto):
        value = requested.get(name, "auto")
        return auto if value in (None, "auto") else value

    resolved = {
        "n_epochs": int(pick("n_epochs", default_epochs(n_examples))),
        "batch_size": int(pick("batch_size", max(1, min(32, n_examples // 50)))),
        "learning_rate_multiplier": float(pick("learning_rate_multiplier", 1.8)),
    }
    if method == "dpo":
        resolved["beta"] = float(pick("beta", 0.1))
    return resolved


def _method(body: dict) -> tuple[str, dict]:
    method = body.get("method") or {"type": "supervised"}
    kind = method.get("type", "supervised") if isinstance(method, dict) else None
    if kind not in METHODS:
        raise invalid(f"Invalid method type '{kind}'; the sandbox trains {' or '.join(METHODS)}.", param="method.type")
    requested = (method.get(kind) or {}).get("hyperparameters") or body.get("hyperparameters") or {}
    if not isinstance(requested, dict):
        raise invalid("Invalid hyperparameters: expected an object.", param=f"method.{kind}.hyperparameters")
    return kind, requested


def _check_metadata(metadata) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict) or len(metadata) > 16:
        raise invalid("Invalid 'metadata': an object of at most 16 keys.", param="metadata")
    for key, value in metadata.items():
        if len(key) > 64 or not isinstance(value, str) or len(value) > 512:
            raise invalid("Invalid 'metadata': keys up to 64 characters, string values up to 512.", param="metadata")


def _input_file(file_id: str, param: str) -> File:
    try:
        file = file_get(file_id, param=param)
    except SandboxError:
        raise invalid(f"invalid {param}: {file_id}", param=param, code=f"invalid_{param}") from None
    if file.purpose != File.Purpose.FINE_TUNE:
        raise invalid(f"File {file_id} has purpose '{file.purpose}', not 'fine-tune'.", param=param)
    return file


def _job_error(code: str, message: str, param: str) -> dict:
    return {"code": code, "message": message, "param": param}


def _validate_inputs(*, base: str, kind: str, training: File, validation: File | None) -> tuple[Dataset, dict | None]:
    """The training set, or the error the job will fail with (checked as OpenAI checks)."""
    model = get_model(base)
    if model is None or not model.is_tunable_on(SANDBOX):
        message = f"Model {base} is not available for fine-tuning or does not exist."
        return Dataset(), _job_error("model_not_available", message, "model")
    if kind not in model.methods:
        return Dataset(), _job_error("invalid_method", f"Model {base} cannot be trained with {kind}.", "method")
    try:
        dataset = dataset_validate(content=bytes(training.content), method=kind, model=model)
    except InvalidFile as error:
        return Dataset(), _job_error("invalid_training_file", f"Invalid training file: {error}", "training_file")
    if validation is not None:
        try:
            dataset_validate(content=bytes(validation.content), method=kind, model=model)
        except InvalidFile as error:
            message = f"Invalid validation file: {error}"
            return Dataset(), _job_error("invalid_validation_file", message, "validation_file")
    return dataset, None


def _organization(header: str) -> str:
    """The organisation part of tuned model names: the OpenAI-Organization header, or "sandbox"."""
    return re.sub(r"[^a-z0-9-]+", "-", header.lower()).strip("-")[:40] or "sandbox"


@transaction.atomic
def job_create(*, body: dict, organization_header: str = "") -> FineTuningJob:
    """Create a job from a POST /fine_tuning/jobs body; invalid files make it fail, as at OpenAI."""
    base = body.get("model")
    if not base or not isinstance(base, str):
        raise invalid("Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
    if not body.get("training_file"):
        raise invalid("Missing required parameter: 'training_file'.", param="training_file")
    training = _input_file(body["training_file"], "training_file")
    validation = _input_file(body["validation_file"], "validation_file") if body.get("validation_file") else None
    kind, requested = _method(body)
    suffix = body.get("suffix") or ""
    if len(suffix) > 64:
        raise invalid("Invalid 'suffix': at most 64 characters.", param="suffix")
    _check_metadata(body.get("metadata"))

    dataset, error = _validate_inputs(base=base, kind=kind, training=training, validation=validation)
    n_examples = len(dataset.tokens)
    hyperparameters = _hyperparameters(requested, method=kind, n_examples=n_examples)
    model = get_model(base)
    job = FineTuningJob.objects.create(
        public_id=new_id("ftjob-"),
        model=model.id if model and error is None else base,
        organization=_organization(organization_header),
        training_file=training.public_id,
        validation_file=validation.public_id if validation else "",
        suffix=suffix,
        seed=body["seed"] if isinstance(body.get("seed"), int) else random.randrange(2**31),
        metadata=body.get("metadata"),
        method={"type": kind, kind: {"hyperparameters": hyperparameters}},
        status=Status.VALIDATING_FILES,
        error=error,
        examples=dataset.pairs,
        tokens_per_epoch=dataset.total_tokens,
        total_steps=math.ceil(n_examples / hyperparameters["batch_size"]) * hyperparameters["n_epochs"],
        duration_seconds=settings.SANDBOX_FINE_TUNING_SECONDS,
        created_at=timezone.now(),
    )
    _event(job, "created", job.created_at, f"Created fine-tuning job: {job.public_id}")
    _event(job, "validating", job.created_at, f"Validating training file: {training.public_id}")
    return job


# Advancing a job along its timeline


def _elapsed(job: FineTuningJob, now: datetime) -> float:
    """Seconds of the job's own time: since creation, minus the time it spent paused."""
    until = job.paused_at or now
    return max(0.0, (until - job.created_at).total_seconds() - job.paused_seconds)


def _moment(job: FineTuningJob, offset: float, now: datetime) -> datetime:
    """When the job's own time `offset` happened on the wall clock."""
    return min(now, job.created_at + timedelta(seconds=offset + job.paused_seconds))


def _event(job, key, created_at, message, *, level="info", type="message", data=None) -> None:
    # get_or_create on (job, key): a moment of the timeline is recorded once, whoever passes it.
    FineTuningEvent.objects.get_or_create(
        job=job,
        key=key,
        defaults={
            "public_id": new_id("ftevent-"),
            "created_at": created_at,
            "level": level,
            "type": type,
            "message": message,
            "data": data,
        },
    )


def _step_metrics(job: FineTuningJob, step: int) -> dict:
    """Deterministic, plausible metrics: the loss falls and the accuracy rises with the steps."""
    rng = random.Random(job.seed * 100_003 + step)
    progress = step / max(job.total_steps, 1)
    train_loss = 0.2 + 1.8 * math.exp(-4 * progress) + rng.uniform(-0.04, 0.04)
    accuracy = 0.55 + 0.42 * (1 - math.exp(-4 * progress)) + rng.uniform(-0.015, 0.015)
    metrics = {
        "step": step,
        "total_steps": job.total_steps,
        "train_loss": round(train_loss, 4),
        "train_mean_token_accuracy": round(min(accuracy, 1.0), 4),
    }
    if job.validation_file:
        metrics["valid_loss"] = round(train_loss + 0.08 + rng.uniform(0, 0.05), 4)
        metrics["valid_mean_token_accuracy"] = round(min(accuracy - 0.03, 1.0), 4)
    return metrics


def _checkpoint_steps(job: FineTuningJob) -> list[int]:
    """OpenAI keeps a checkpoint at the end of each of the last three epochs."""
    epochs = job.method[job.method["type"]]["hyperparameters"]["n_epochs"]
    per_epoch = job.total_steps / epochs
    return [round(per_epoch * epoch) for epoch in range(max(1, epochs - 2), epochs + 1)]


def tuned_model_name(job: FineTuningJob) -> str:
    """ft:<base>:<org>:<suffix>:<id>, as OpenAI names tuned models."""
    return f"ft:{job.model}:{job.organization}:{job.suffix}:{job.public_id.removeprefix('ftjob-')[:8]}"


def _run_steps(job: FineTuningJob, elapsed: float, now: datetime) -> None:
    running_time = job.duration_seconds * (1 - STARTED_AT)
    if running_time <= 0:
        due = job.total_steps
    else:
        due = min(job.total_steps, int((elapsed - job.duration_seconds * STARTED_AT) / running_time * job.total_steps))
    every = max(1, math.ceil(job.total_steps / MAX_METRICS_EVENTS))
    checkpoints = _checkpoint_steps(job)
    for step in range(job.steps_done + 1, due + 1):
        at = _moment(job, job.duration_seconds * (STARTED_AT + (1 - STARTED_AT) * step / job.total_steps), now)
        metrics = _step_metrics(job, step)
        if step % every == 0 or step == job.total_steps:
            message = f"Step {step}/{job.total_steps}: training loss={metrics['train_loss']:.4f}"
            if "valid_loss" in metrics:
                message += f", validation loss={metrics['valid_loss']:.4f}"
            _event(job, f"step-{step}", at, message, type="metrics", data=metrics)
        if step in checkpoints:
            _checkpoint(job, step, metrics, at)
    job.steps_done = max(job.steps_done, due)


def _checkpoint(job: FineTuningJob, step: int, metrics: dict, at: datetime) -> None:
    checkpoint_metrics = {k: v for k, v in metrics.items() if k != "total_steps"}
    if "valid_loss" in metrics:
        checkpoint_metrics["full_valid_loss"] = metrics["valid_loss"]
        checkpoint_metrics["full_valid_mean_token_accuracy"] = metrics["valid_mean_token_accuracy"]
    FineTuningCheckpoint.objects.get_or_create(
        job=job,
        step_number=step,
        defaults={"public_id": new_id("ftckpt-"), "metrics": checkpoint_metrics, "created_at": at},
    )
    _event(job, f"checkpoint-{step}", at, f"Checkpoint created at step {step}")


def _result_file(job: FineTuningJob) -> File:
    buffer = io.StringIO()
    columns = ["step", "train_loss", "train_mean_token_accuracy"]
    if job.validation_file:
        columns += ["valid_loss", "valid_mean_token_accuracy"]
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for step in range(1, job.total_steps + 1):
        writer.writerow(_step_metrics(job, step))
    content = buffer.getvalue().encode()
    return File.objects.create(
        public_id=new_id("file-"),
        filename="step_metrics.csv",
        purpose=File.Purpose.FINE_TUNE_RESULTS,
        content=content,
        size=len(content),
    )


def _succeed(job: FineTuningJob, now: datetime) -> None:
    at = _moment(job, job.duration_seconds, now)
    epochs = job.method[job.method["type"]]["hyperparameters"]["n_epochs"]
    job.status = Status.SUCCEEDED
    job.finished_at = at
    job.fine_tuned_model = tuned_model_name(job)
    job.trained_tokens = job.tokens_per_epoch * epochs
    job.result_file = _result_file(job).public_id
    _event(job, "model-created", at, f"New fine-tuned model created: {job.fine_tuned_model}")
    _event(job, "succeeded", at, "The job has successfully completed")


def _fail(job: FineTuningJob, now: datetime) -> None:
    at = _moment(job, job.duration_seconds * VALIDATED_AT, now)
    job.status = Status.FAILED
    job.finished_at = at
    _event(job, "failed", at, f"Fine-tuning job failed: {job.error['message']}", level="error")


def _advance(job: FineTuningJob, now: datetime) -> None:
    elapsed = _elapsed(job, now)
    duration = job.duration_seconds
    if job.status == Status.VALIDATING_FILES and elapsed >= duration * VALIDATED_AT:
        if job.error:
            _fail(job, now)
            return
        job.status = Status.QUEUED
        _event(job, "queued", _moment(job, duration * VALIDATED_AT, now), "Files validated, moving job to queued state")
    if job.status == Status.QUEUED and elapsed >= duration * STARTED_AT:
        job.status = Status.RUNNING
        _event(job, "running", _moment(job, duration * STARTED_AT, now), "Fine-tuning job started")
    if job.status == Status.RUNNING:
        _run_steps(job, elapsed, now)
        if elapsed >= duration:
            _succeed(job, now)


def job_advance(job: FineTuningJob) -> FineTuningJob:
    """Bring a job to where its timeline says it is now, recording what happened on the way."""
    if job.status in FineTuningJob.FINISHED or job.status == Status.PAUSED:
        return job
    with transaction.atomic():
        # The lock makes a second process wait, then find the work done.
        job = FineTuningJob.objects.select_for_update().get(pk=job.pk)
        _advance(job, timezone.now())
        job.save()
    return job


def jobs_advance_active() -> None:
    """Advance every unfinished job (so that tuned models appear in /models when they are due)."""
    for job in FineTuningJob.objects.exclude(status__in=[*FineTuningJob.FINISHED, Status.PAUSED]):
        job_advance(job)


def job_get(job_id: str) -> FineTuningJob:
    job = FineTuningJob.objects.filter(public_id=job_id).first()
    if job is None:
        raise SandboxError(f"Could not find fine-tuning job: {job_id}", status=404, param="fine_tuning_job_id")
    return job_advance(job)


# Pause, resume, cancel: they shift the timeline.


@transaction.atomic
def job_pause(job_id: str) -> FineTuningJob:
    job = FineTuningJob.objects.select_for_update().get(pk=job_get(job_id).pk)
    if job.status != Status.RUNNING:
        raise conflict(f"Only a running job can be paused; this one is {job.status}.", code="invalid_job_state")
    job.status = Status.PAUSED
    job.paused_at = timezone.now()
    job.save()
    _event(job, f"paused-{job.paused_at.timestamp()}", job.paused_at, "Fine-tuning job paused")
    return job


@transaction.atomic
def job_resume(job_id: str) -> FineTuningJob:
    job = FineTuningJob.objects.select_for_update().get(pk=job_get(job_id).pk)
    if job.status != Status.PAUSED:
        raise conflict(f"Only a paused job can be resumed; this one is {job.status}.", code="invalid_job_state")
    now = timezone.now()
    job.paused_seconds += (now - job.paused_at).total_seconds()
    job.paused_at = None
    job.status = Status.RUNNING
    job.save()
    _event(job, f"resumed-{now.timestamp()}", now, "Fine-tuning job resumed")
    return job


@transaction.atomic
def job_cancel(job_id: str) -> FineTuningJob:
    job = FineTuningJob.objects.select_for_update().get(pk=job_get(job_id).pk)
    if job.status in FineTuningJob.FINISHED:
        raise conflict(f"Cannot cancel a job that has already {job.status}.", code="invalid_job_state")
    job.status = Status.CANCELLED
    job.finished_at = timezone.now()
    job.paused_at = None
    job.save()
    _event(job, "cancelled", job.finished_at, "Fine-tuning job cancelled")
    return job


def job_find_tuned_model(name: str) -> FineTuningJob | None:
    """The succeeded job that produced the tuned model `name`, advancing due jobs first."""
    job = FineTuningJob.objects.filter(fine_tuned_model=name, status=Status.SUCCEEDED).first()
    if job is None and name.startswith("ft:"):
        jobs_advance_active()
        job = FineTuningJob.objects.filter(fine_tuned_model=name, status=Status.SUCCEEDED).first()
    return job


# What the API shows


def job_to_dict(job: FineTuningJob) -> dict:
    kind = job.method["type"]
    running = job.status not in FineTuningJob.FINISHED
    estimated = job.created_at + timedelta(seconds=job.duration_seconds + job.paused_seconds) if running else None
    return {
        "id": job.public_id,
        "object": "fine_tuning.job",
        "created_at": unix(job.created_at),
        "error": job.error if job.status == Status.FAILED else None,
        "fine_tuned_model": job.fine_tuned_model or None,
        "finished_at": unix(job.finished_at),
        "hyperparameters": job.method[kind]["hyperparameters"],
        "model": job.model,
        "organization_id": f"org-{job.organization}",
        "result_files": [job.result_file] if job.result_file else [],
        "seed": job.seed,
        "status": job.status,
        "trained_tokens": job.trained_tokens,
        "training_file": job.training_file,
        "validation_file": job.validation_file or None,
        "estimated_finish": unix(estimated),
        "integrations": [],
        "metadata": job.metadata,
        "method": job.method,
        "user_provided_suffix": job.suffix or None,
    }


def event_to_dict(event: FineTuningEvent) -> dict:
    return {
        "id": event.public_id,
        "object": "fine_tuning.job.event",
        "created_at": unix(event.created_at),
        "level": event.level,
        "message": event.message,
        "type": event.type,
        "data": event.data,
    }


def checkpoint_to_dict(checkpoint: FineTuningCheckpoint) -> dict:
    job = checkpoint.job
    return {
        "id": checkpoint.public_id,
        "object": "fine_tuning.job.checkpoint",
        "created_at": unix(checkpoint.created_at),
        "fine_tuned_model_checkpoint": f"{tuned_model_name(job)}:ckpt-step-{checkpoint.step_number}",
        "fine_tuning_job_id": job.public_id,
        "metrics": checkpoint.metrics,
        "step_number": checkpoint.step_number,
    }
