"""Self-hosted training jobs: create, find, control and recover them.

The training itself happens in `training.runner`, in a task on the training queue that only
training hosts consume (`Q_CLUSTER_NAME=training manage.py qcluster`). These services are what the
`finetune` app's self-hosted backend calls; they never touch torch.
"""

import datetime
import json
import os
import subprocess
import tempfile
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from core.background import stalled_before
from llm.models import Provider

from . import files, hyperparameters, messages
from .models import BaseModel, TrainingEvent, TrainingJob
from .process import trainer_environment

BASE_MODEL_CHECK_SECONDS = 300


class JobError(Exception):
    """A request the training service refuses; `message` is for curators."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def event_add(
    job: TrainingJob, msgid: str, params: dict[str, Any] | None = None, *, level: str = "info", **extra: Any
) -> TrainingEvent:
    """Record a message of ours: its text now, and what translates it later."""
    data = {"msgid": msgid, "params": params or {}, **extra.pop("data", {})}
    return TrainingEvent.objects.create(
        job=job, level=level, type=extra.pop("type", "message"), message=messages.render(msgid, params), data=data
    )


def job_enqueue(job: TrainingJob) -> None:
    """Queue the job's task for a training host, once the job's row is committed."""
    TrainingJob.objects.filter(pk=job.pk).update(queued_at=timezone.now())
    transaction.on_commit(
        lambda: async_task(
            "training.tasks.job_run",
            job.pk,
            cluster=settings.TRAINING_QUEUE,
            sync=settings.TRAINING_TASKS_INLINE,
            timeout=settings.TRAINING_TIMEOUT_SECONDS,
        )
    )


def _count_lines(file_id: str) -> int:
    with files.storage().open(files._file_name(file_id), "rb") as handle:
        return sum(1 for line in handle if line.strip())


def base_model_for(provider: Provider, name: str) -> tuple[BaseModel | None, TrainingJob | None]:
    """The base model a run names, and the earlier job when it names a trained model (continued
    training: "ft:<base>:…" names a job's adapter)."""
    if name.startswith("ft:"):
        earlier = (
            TrainingJob.objects.select_related("base_model")
            .filter(provider=provider, fine_tuned_model=name, status=TrainingJob.Status.SUCCEEDED)
            .first()
        )
        return (earlier.base_model if earlier else None), earlier
    return BaseModel.objects.filter(provider=provider, name=name).first(), None


@transaction.atomic
def job_create(
    *,
    provider: Provider,
    base_model: str,
    method: str,
    training_file_id: str,
    validation_file_id: str = "",
    requested: dict[str, Any],
    suffix: str = "",
    run_key: str = "",
) -> TrainingJob:
    model, earlier = base_model_for(provider, base_model)
    if model is None:
        raise JobError(messages.render(messages.UNKNOWN_MODEL, {"model": base_model}))
    for file_id in filter(None, (training_file_id, validation_file_id)):
        if not files.file_exists(file_id):
            raise JobError(messages.render(messages.UNKNOWN_FILE, {"file": file_id}))
    resolved = hyperparameters.resolve(
        requested,
        examples=_count_lines(training_file_id),
        context_length=model.context_length,
        method=method,
        adapter=earlier.hyperparameters if earlier else None,
    )
    job = TrainingJob.objects.create(
        provider=provider,
        base_model=model,
        continued_from=earlier,
        method=method,
        training_file_id=training_file_id,
        validation_file_id=validation_file_id,
        hyperparameters=resolved,
        suffix=suffix,
        run_key=run_key,
    )
    event_add(job, messages.QUEUED)
    job_enqueue(job)
    return job


def job_find(*, provider: Provider, run_key: str) -> TrainingJob | None:
    return TrainingJob.objects.filter(provider=provider, run_key=run_key).order_by("pk").first()


def job_get(*, provider: Provider, public_id: str) -> TrainingJob:
    job = TrainingJob.objects.select_related("base_model").filter(provider=provider, public_id=public_id).first()
    if job is None:
        raise JobError(messages.render(messages.UNKNOWN_JOB, {"job": public_id}))
    return job


def job_save(job: TrainingJob, **fields: Any) -> None:
    """Write these fields at once, to the row and to `job` (a runner killed after this keeps them)."""
    for name, value in fields.items():
        setattr(job, name, value)
    TrainingJob.objects.filter(pk=job.pk).update(**fields, updated_at=timezone.now())


def job_finish(job: TrainingJob, status: str, **fields: Any) -> None:
    """End the job with `status` (and `fields`): no estimated finish any more."""
    job_save(job, **fields, status=status, finished_at=timezone.now(), estimated_finish=None)


@transaction.atomic
def job_cancel(*, job: TrainingJob) -> TrainingJob:
    """A waiting job is cancelled at once; a running one at the end of its current step."""
    job = TrainingJob.objects.select_for_update().get(pk=job.pk)
    if job.status in TrainingJob.FINISHED:
        raise JobError(messages.render(messages.ALREADY_FINISHED, {"status": job.get_status_display()}))
    if job.status in (TrainingJob.Status.QUEUED, TrainingJob.Status.PAUSED):
        job_finish(job, TrainingJob.Status.CANCELLED)
        event_add(job, messages.CANCELLED, {"step": job.step})
    else:
        job.status = TrainingJob.Status.CANCELLING
        job.save(update_fields=["status", "updated_at"])
        event_add(job, messages.CANCELLING)
    return job


@transaction.atomic
def job_pause(*, job: TrainingJob) -> TrainingJob:
    job = TrainingJob.objects.select_for_update().get(pk=job.pk)
    if job.status == TrainingJob.Status.RUNNING:
        job.status = TrainingJob.Status.PAUSING
        job.save(update_fields=["status", "updated_at"])
        event_add(job, messages.PAUSING)
    elif job.status == TrainingJob.Status.QUEUED:
        job.status = TrainingJob.Status.PAUSED
        job.save(update_fields=["status", "updated_at"])
        event_add(job, messages.PAUSED, {"step": job.step})
    elif job.status not in (TrainingJob.Status.PAUSING, TrainingJob.Status.PAUSED):
        raise JobError(messages.render(messages.CANNOT_PAUSE, {"status": job.get_status_display()}))
    return job


@transaction.atomic
def job_resume(*, job: TrainingJob) -> TrainingJob:
    job = TrainingJob.objects.select_for_update().get(pk=job.pk)
    if job.status != TrainingJob.Status.PAUSED:
        raise JobError(messages.render(messages.CANNOT_RESUME, {"status": job.get_status_display()}))
    job.status = TrainingJob.Status.QUEUED
    job.save(update_fields=["status", "updated_at"])
    event_add(job, messages.RESUMING)
    job_enqueue(job)
    return job


def lease_expired_before() -> datetime.datetime:
    """A runner beats every few seconds; one silent this long is gone (killed worker, host restart)."""
    return timezone.now() - datetime.timedelta(seconds=settings.TRAINING_LEASE_SECONDS)


def jobs_recover() -> int:
    """Queue the task again for jobs whose runner is gone, or whose task was lost before a host took it.

    A job in a host's hands with a stale heartbeat lost its runner; a queued job whose task was
    queued longer ago than a task waits in an idle queue may have lost its task (the Redis broker
    keeps no receipts). A task queued twice is harmless: the second finds the job taken or done.
    """
    silent = Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=lease_expired_before())
    lost = Q(status__in=TrainingJob.IN_HAND) & silent
    waiting = Q(status=TrainingJob.Status.QUEUED) & (Q(queued_at__isnull=True) | Q(queued_at__lt=stalled_before()))
    stale = list(TrainingJob.objects.filter(lost | waiting).values_list("pk", flat=True))
    for job in TrainingJob.objects.filter(pk__in=stale):
        job_enqueue(job)
    return len(stale)


def merge_request(*, job: TrainingJob) -> TrainingJob:
    """Ask a training host for the merged model (base + adapter in one directory)."""
    if job.status != TrainingJob.Status.SUCCEEDED:
        raise JobError(messages.render(messages.CANNOT_MERGE))
    updated = TrainingJob.objects.filter(pk=job.pk).exclude(merge_status__in=["queued", "running", "done"])
    if updated.update(merge_status="queued", merge_error="", updated_at=timezone.now()):
        job.merge_status = "queued"
        transaction.on_commit(
            lambda: async_task(
                "training.tasks.job_merge",
                job.pk,
                cluster=settings.TRAINING_QUEUE,
                sync=settings.TRAINING_TASKS_INLINE,
                timeout=settings.TRAINING_TIMEOUT_SECONDS,
            )
        )
    return job


def base_model_check(*, source: str, revision: str = "", chat_template: str = "") -> dict[str, Any]:
    """Load the model's configuration, tokenizer and chat template in the trainer's environment (and
    match its weight files to the architecture, without reading the weights): what the admin's form
    needs to accept it. Raises JobError with the reason when it does not load."""
    python = settings.TRAINER_PYTHON
    if not os.path.exists(python):
        raise JobError(messages.render(messages.CHECK_NO_TRAINER, {"python": python}))
    with tempfile.TemporaryDirectory() as folder:
        command = [python, "-m", "trainer", "check", source, "--revision", revision]
        if chat_template:
            path = os.path.join(folder, "chat_template.jinja")
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(chat_template)
            command += ["--chat-template", path]
        try:
            result = subprocess.run(  # noqa: S603 — our own trainer
                command,
                cwd=settings.BASE_DIR,
                env=trainer_environment(),
                capture_output=True,
                timeout=BASE_MODEL_CHECK_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise JobError(messages.render(messages.CHECK_TIMEOUT, {"seconds": BASE_MODEL_CHECK_SECONDS})) from error
    for line in reversed(result.stdout.decode("utf-8", "replace").splitlines()):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "checked":
            return event
        if event.get("event") == "error":
            params = {"model": source, "host": settings.TRAINING_HOST_NAME, "source": source, **event}
            params.setdefault("detail", "")
            raise JobError(messages.render(messages.ERRORS.get(event["code"], messages.ERRORS["crash"]), params))
    tail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {result.returncode}"]
    raise JobError(messages.render(messages.ERRORS["crash"], {"detail": tail[0]}))
