"""Fine-tuning runs: plan and freeze a snapshot, start the run, submit it (exactly one job), retry, rerun.

Provider calls go through `finetune.backends`; tasks (`finetune.tasks`) are thin wrappers around
`run_submit`, `finetune.tracking.runs_sync_active` and the recovery sweeps. Delivery is at least once, so
`run_submit` stores every provider id the moment it has it and looks the job up by its metadata
before creating one.
"""

import datetime
import hashlib
import json
from collections.abc import Callable

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from accounts.models import User
from core.background import requeue_stalled, stalled_before
from dialogs.models import Dataset
from llm.catalog import SFT
from llm.models import Provider

from .backends import BackendError, JobSpec, TrainingBackend, backend_for
from .models import Run, Snapshot
from .plans import Plan, images_refusal, run_plan
from .tracking import run_apply_job, run_store_fields


class PlanBlocked(Exception):
    """The plan has errors (`Plan.errors`): training cannot start, nothing was recorded."""

    def __init__(self, plan: Plan):
        super().__init__("The plan has errors: training cannot start.")
        self.plan = plan


# Starting ------------------------------------------------------------------------------------


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def snapshot_create(*, dataset: Dataset, plan: Plan, user: User | None) -> Snapshot:
    """Freeze the plan's lines as JSONL files with their sha256, counts and the instructions in force."""
    training = plan.training_jsonl()
    validation = plan.validation_jsonl() if plan.uses_validation else b""
    snapshot = Snapshot(
        course=dataset.course,
        dataset=dataset,
        dataset_name=dataset.name,
        method=plan.method,
        assistant=dataset.assistant,
        instructions=dataset.system_prompt(),
        training_sha256=_sha256(training),
        training_examples=len(plan.training_rows),
        training_tokens=plan.training_tokens,
        validation_sha256=_sha256(validation) if validation else "",
        validation_examples=len(plan.validation_rows) if validation else 0,
        validation_tokens=plan.validation_tokens if validation else 0,
        created_by=user,
    )
    # FileField.save(save=False) only stores the file: the row is written once, below.
    snapshot.training_file.save("train.jsonl", ContentFile(training), save=False)
    if validation:
        snapshot.validation_file.save("validation.jsonl", ContentFile(validation), save=False)
    snapshot.save()
    return snapshot


def run_start(
    *,
    dataset: Dataset,
    provider: Provider,
    base_model: str,
    method: str = SFT,
    since: datetime.datetime | None = None,
    hyperparameters: dict,
    suffix: str,
    user: User | None,
) -> Run:
    """Plan the dataset for `provider` (`run_plan`; with `since`, only the examples curated after
    it), freeze the plan as a snapshot, record the run and queue its submission (after the commit).
    PlanBlocked, with the plan, when the plan has errors."""
    plan = run_plan(dataset=dataset, provider=provider, method=method, base_model=base_model, since=since)
    if plan.is_blocked:
        raise PlanBlocked(plan)
    with transaction.atomic():
        snapshot = snapshot_create(dataset=dataset, plan=plan, user=user)
        run = Run.objects.create(
            course=dataset.course,
            dataset=dataset,
            snapshot=snapshot,
            provider=provider,
            base_model=base_model,
            method=plan.method,
            hyperparameters={name: value for name, value in hyperparameters.items() if value not in (None, "")},
            suffix=suffix,
            created_by=user,
        )
        run_enqueue(run=run)
    return run


def run_enqueue(*, run: Run) -> None:
    transaction.on_commit(lambda: async_task("finetune.tasks.run_submit", run.pk))


# Submitting ----------------------------------------------------------------------------------


def _read(field_file) -> bytes:
    with field_file.open("rb") as handle:
        return handle.read()


def run_submit(
    *,
    run_id: int,
    backend: TrainingBackend | None = None,
    after_step: Callable[[str], None] | None = None,
) -> Run:
    """Upload the snapshot and create the job — exactly one job per run, however often this runs.

    `after_step(name)` is called after each step ("training_file", "validation_file",
    "job_created" — before its id is stored —, "job"); tests raise there to play a worker killed
    between steps.
    """
    run = Run.objects.select_related("snapshot", "provider", "course").get(pk=run_id)
    if run.job_id or run.status != Run.Status.NOT_SUBMITTED:
        return run  # already submitted (a duplicate delivery), or failed and waiting for "retry"
    # One submission at a time: two at once could both find no job and both create one. A task
    # killed while submitting leaves its claim, which expires (core/background.py).
    now = timezone.now()
    if not _unclaimed_submissions().filter(pk=run.pk).update(claimed_at=now, updated_at=now):
        return run
    run.claimed_at = now
    backend = backend or backend_for(run.provider)
    step = after_step or (lambda name: None)
    snapshot = run.snapshot
    try:
        problems = backend.validate(base_model=run.base_model, method=run.method)
        if problems:
            raise BackendError(" ".join(problems))
        if not run.training_file_id:
            run_store_fields(
                run, training_file_id=backend.upload(filename="train.jsonl", content=_read(snapshot.training_file))
            )
        step("training_file")
        if snapshot.validation_file and not run.validation_file_id:
            file_id = backend.upload(filename="validation.jsonl", content=_read(snapshot.validation_file))
            run_store_fields(run, validation_file_id=file_id)
        step("validation_file")
        job = backend.find_job(run_key=str(run.key))
        if job is None:
            spec = JobSpec(
                base_model=run.base_model,
                method=run.method,
                training_file_id=run.training_file_id,
                validation_file_id=run.validation_file_id,
                hyperparameters=run.hyperparameters,
                suffix=run.suffix,
                run_key=str(run.key),
            )
            job = backend.create_job(spec)
            step("job_created")  # a kill here leaves the job unrecorded: the metadata finds it next time
        # Active from here on: a task killed before the job's own status is applied leaves a run
        # that the sync schedule (runs_sync_active) picks up, not one stuck "not submitted".
        run_store_fields(run, job_id=job.id, submitted_at=timezone.now(), status=Run.Status.VALIDATING)
        step("job")
    except BackendError as error:
        run_store_fields(run, status=Run.Status.FAILED, error=error.message, finished_at=timezone.now())
        return run
    run_apply_job(run, job)
    run.save()
    return run


def _snapshot_rows(snapshot: Snapshot) -> list[dict]:
    """The lines the snapshot's files hold."""
    files = [snapshot.training_file, snapshot.validation_file] if snapshot.validation_file else [snapshot.training_file]
    return [json.loads(line) for field_file in files for line in _read(field_file).splitlines() if line.strip()]


def run_retry(*, run: Run) -> Run:
    """Try the submission again after a failure before any job existed (files already uploaded stay)."""
    if run.job_id or run.status != Run.Status.FAILED:
        raise ValueError("Only a run that failed before its job was created can be retried.")
    run_store_fields(run, status=Run.Status.NOT_SUBMITTED, error="", finished_at=None, claimed_at=None)
    run_enqueue(run=run)
    return run


def _unclaimed_submissions():
    """Runs still waiting for their job that no live task is submitting (no claim, or a dead task's)."""
    unclaimed = Q(claimed_at__isnull=True) | Q(claimed_at__lt=stalled_before())
    return Run.objects.filter(unclaimed, status=Run.Status.NOT_SUBMITTED, job_id="")


def runs_recover() -> int:
    """Queue the submission again for runs whose submission task was lost (see core.background)."""
    return requeue_stalled(_unclaimed_submissions(), "finetune.tasks.run_submit")


def run_rerun(*, run: Run, user: User | None, provider: Provider | None = None, base_model: str = "") -> Run:
    """A new run on the same snapshot: with the same settings (after the provider failed or
    cancelled the job), or on another provider and base model (leaving a model that stops serving),
    with that backend's automatic hyperparameters. BackendError when that backend refuses the model."""
    if provider is not None and provider.pk != run.provider_id:
        errors = backend_for(provider).validate(base_model=base_model, method=run.method)
        refusal = images_refusal(rows=_snapshot_rows(run.snapshot), provider=provider, base_model=base_model)
        if refusal:
            errors.append(refusal)
        if errors:
            raise BackendError(" ".join(errors))
        hyperparameters = {}
    else:
        provider, base_model, hyperparameters = run.provider, run.base_model, run.hyperparameters
    new = Run.objects.create(
        course=run.course,
        dataset=run.dataset,
        snapshot=run.snapshot,
        provider=provider,
        base_model=base_model,
        method=run.method,
        hyperparameters=hyperparameters,
        suffix=run.suffix,
        created_by=user,
    )
    run_enqueue(run=new)
    return new
