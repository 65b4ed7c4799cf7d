"""The sandbox's fine-tuning jobs as OpenAI's API has them: created (their files validated, a
failing job when they are not), found, paused, resumed, cancelled, and shown. Each read advances
the job along its timeline (`sandbox.timeline`)."""

import math
import random
import re
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from llm.catalog import SANDBOX, default_epochs, get_model

from .errors import SandboxError, conflict, invalid
from .files import file_get
from .models import File, FineTuningCheckpoint, FineTuningEvent, FineTuningJob, new_id, unix
from .timeline import event_record, job_advance, jobs_advance_active, tuned_model_name
from .validation import Dataset, InvalidFile, dataset_validate

Status = FineTuningJob.Status

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
    event_record(job, "created", job.created_at, f"Created fine-tuning job: {job.public_id}")
    event_record(job, "validating", job.created_at, f"Validating training file: {training.public_id}")
    return job


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
    event_record(job, f"paused-{job.paused_at.timestamp()}", job.paused_at, "Fine-tuning job paused")
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
    event_record(job, f"resumed-{now.timestamp()}", now, "Fine-tuning job resumed")
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
    event_record(job, "cancelled", job.finished_at, "Fine-tuning job cancelled")
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
