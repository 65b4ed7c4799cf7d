"""A sandbox fine-tuning job's timeline: where its stored timestamps say it is, reached on reading.

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
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from .models import File, FineTuningCheckpoint, FineTuningEvent, FineTuningJob, new_id

Status = FineTuningJob.Status

VALIDATED_AT = 0.1
STARTED_AT = 0.2
MAX_METRICS_EVENTS = 100


def _elapsed(job: FineTuningJob, now: datetime) -> float:
    """Seconds of the job's own time: since creation, minus the time it spent paused."""
    until = job.paused_at or now
    return max(0.0, (until - job.created_at).total_seconds() - job.paused_seconds)


def _moment(job: FineTuningJob, offset: float, now: datetime) -> datetime:
    """When the job's own time `offset` happened on the wall clock."""
    return min(now, job.created_at + timedelta(seconds=offset + job.paused_seconds))


def event_record(job, key, created_at, message, *, level="info", type="message", data=None) -> None:
    """The job's event `key`, recorded once: get_or_create on (job, key), whoever passes that moment."""
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
            event_record(job, f"step-{step}", at, message, type="metrics", data=metrics)
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
    event_record(job, f"checkpoint-{step}", at, f"Checkpoint created at step {step}")


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
    event_record(job, "model-created", at, f"New fine-tuned model created: {job.fine_tuned_model}")
    event_record(job, "succeeded", at, "The job has successfully completed")


def _fail(job: FineTuningJob, now: datetime) -> None:
    at = _moment(job, job.duration_seconds * VALIDATED_AT, now)
    job.status = Status.FAILED
    job.finished_at = at
    event_record(job, "failed", at, f"Fine-tuning job failed: {job.error['message']}", level="error")


def _advance(job: FineTuningJob, now: datetime) -> None:
    elapsed = _elapsed(job, now)
    duration = job.duration_seconds
    if job.status == Status.VALIDATING_FILES and elapsed >= duration * VALIDATED_AT:
        if job.error:
            _fail(job, now)
            return
        job.status = Status.QUEUED
        event_record(
            job, "queued", _moment(job, duration * VALIDATED_AT, now), "Files validated, moving job to queued state"
        )
    if job.status == Status.QUEUED and elapsed >= duration * STARTED_AT:
        job.status = Status.RUNNING
        event_record(job, "running", _moment(job, duration * STARTED_AT, now), "Fine-tuning job started")
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
