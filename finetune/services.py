"""Fine-tuning runs: freeze a snapshot, submit it, follow the job, activate the model.

Provider calls go through `finetune.backends`; tasks (`finetune.tasks`) are thin wrappers around
`run_submit` and `runs_sync_active`. Delivery is at least once, so `run_submit` stores every
provider id the moment it has it and looks the job up by its metadata before creating one.
"""

import hashlib
import logging
from collections.abc import Callable
from decimal import Decimal

import httpx2
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from accounts.models import User
from assistants.models import Assistant
from assistants.services import assistant_update
from core.background import requeue_stalled, stalled_before
from dialogs.models import Dataset
from llm.catalog import get_model
from llm.models import Provider
from trainingfiles.stats import training_cost

from .backends import INTERACTIVE, BackendError, JobSpec, JobState, SyncResult, TrainingBackend, backend_for
from .models import Activation, Checkpoint, MetricPoint, Run, RunEvent, Snapshot, TrainedModel
from .plans import Plan

logger = logging.getLogger(__name__)

# The provider's status words → ours. Unknown words (a provider adds one) keep the run running.
STATUS_FROM_PROVIDER = {
    "validating_files": Run.Status.VALIDATING,
    "queued": Run.Status.QUEUED,
    "running": Run.Status.RUNNING,
    "pausing": Run.Status.PAUSED,
    "cancelling": Run.Status.RUNNING,  # self-hosted: until the trainer stops at the end of its step
    "paused": Run.Status.PAUSED,
    "succeeded": Run.Status.SUCCEEDED,
    "failed": Run.Status.FAILED,
    "cancelled": Run.Status.CANCELLED,
}


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


@transaction.atomic
def run_start(
    *,
    dataset: Dataset,
    plan: Plan,
    provider: Provider,
    base_model: str,
    hyperparameters: dict,
    suffix: str,
    user: User | None,
) -> Run:
    """Snapshot the dataset, record the run and queue its submission (after the commit)."""
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


def _store(run: Run, **fields) -> None:
    """Write what was just obtained at once: a task killed after this line keeps it."""
    for name, value in fields.items():
        setattr(run, name, value)
    Run.objects.filter(pk=run.pk).update(**fields, updated_at=timezone.now())


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
            _store(run, training_file_id=backend.upload(filename="train.jsonl", content=_read(snapshot.training_file)))
        step("training_file")
        if snapshot.validation_file and not run.validation_file_id:
            file_id = backend.upload(filename="validation.jsonl", content=_read(snapshot.validation_file))
            _store(run, validation_file_id=file_id)
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
        _store(run, job_id=job.id, submitted_at=timezone.now(), status=Run.Status.VALIDATING)
        step("job")
    except BackendError as error:
        _store(run, status=Run.Status.FAILED, error=error.message, finished_at=timezone.now())
        return run
    _apply_job(run, job)
    run.save()
    return run


def run_retry(*, run: Run) -> Run:
    """Try the submission again after a failure before any job existed (files already uploaded stay)."""
    if run.job_id or run.status != Run.Status.FAILED:
        raise ValueError("Only a run that failed before its job was created can be retried.")
    _store(run, status=Run.Status.NOT_SUBMITTED, error="", finished_at=None, claimed_at=None)
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


# Following -----------------------------------------------------------------------------------


def _apply_job(run: Run, job: JobState) -> None:
    run.provider_status = job.status
    run.status = STATUS_FROM_PROVIDER.get(job.status, Run.Status.RUNNING)
    run.estimated_finish = job.estimated_finish
    run.fine_tuned_model = job.fine_tuned_model or run.fine_tuned_model
    run.trained_tokens = job.trained_tokens if job.trained_tokens is not None else run.trained_tokens
    run.resolved_hyperparameters = job.hyperparameters or run.resolved_hyperparameters
    if run.status in Run.FINISHED:
        run.finished_at = job.finished_at or run.finished_at or timezone.now()
        run.estimated_finish = None
        if run.status == Run.Status.FAILED:
            run.error = job.error or _("The provider stopped the job without saying why.")
        if run.status == Run.Status.SUCCEEDED and run.total_steps:
            run.step = run.total_steps


def _apply_events(run: Run, result: SyncResult) -> None:
    if not result.events:
        return
    RunEvent.objects.bulk_create(
        [
            RunEvent(
                run=run,
                provider_id=event.id,
                created_at=event.created_at,
                level=event.level,
                type=event.type,
                message=event.message,
                data=event.data,
            )
            for event in result.events
        ],
        ignore_conflicts=True,
    )
    # The loss chart and the progress bar come from metrics events (OpenAI and the sandbox put
    # step, total_steps, train_loss and valid_loss there): no extra call for them.
    points = []
    for event in result.events:
        data = event.data or {}
        if event.type != "metrics" or not isinstance(data.get("step"), int):
            continue
        points.append(
            MetricPoint(
                run=run,
                step=data["step"],
                train_loss=data.get("train_loss"),
                valid_loss=data.get("valid_loss"),
                train_accuracy=data.get("train_mean_token_accuracy"),
            )
        )
        run.step = max(run.step, data["step"])
        if isinstance(data.get("total_steps"), int):
            run.total_steps = data["total_steps"]
    MetricPoint.objects.bulk_create(points, ignore_conflicts=True)
    run.last_event_id = result.events[-1].id


def _apply_checkpoints(run: Run, backend: TrainingBackend) -> None:
    """Read once, when the job has succeeded: checkpoints are kept for the last epochs only."""
    if run.checkpoints.exists():
        return
    Checkpoint.objects.bulk_create(
        [
            Checkpoint(
                run=run,
                provider_id=checkpoint.id,
                step=checkpoint.step,
                model=checkpoint.model,
                metrics=checkpoint.metrics,
                created_at=checkpoint.created_at,
            )
            for checkpoint in backend.checkpoints(job_id=run.job_id)
        ],
        ignore_conflicts=True,
    )


def run_sync(*, run: Run, backend: TrainingBackend | None = None) -> Run:
    """Bring the run up to date with its job: one retrieve and one page of new events.

    A provider that fails now (after the SDK's retries) does not fail the run — the job may be
    fine — but the problem is shown on the run page until a later refresh succeeds.
    """
    if not run.job_id or run.status in Run.FINISHED:
        return run
    backend = backend or backend_for(run.provider)
    try:
        result = backend.sync(job_id=run.job_id, last_event_id=run.last_event_id)
        _apply_events(run, result)
        _apply_job(run, result.job)
        if run.status == Run.Status.SUCCEEDED:
            _apply_checkpoints(run, backend)
        run.sync_error = ""
    except BackendError as error:
        run.sync_error = error.message
    run.synced_at = timezone.now()
    run.save()
    if run.status == Run.Status.SUCCEEDED:
        trained_model_record(run=run, backend=backend)
    return run


POLL_SYNC_SECONDS = 10


def run_sync_enqueue_if_stale(*, run: Run) -> None:
    """A watched active run is synced by the worker every POLL_SYNC_SECONDS, not only every minute."""
    stale = run.synced_at is None or (timezone.now() - run.synced_at).total_seconds() >= POLL_SYNC_SECONDS
    if run.job_id and run.status in Run.ACTIVE and stale:
        async_task("finetune.tasks.run_sync", run.pk)


def runs_sync_active(*, http_client: httpx2.Client | None = None) -> int:
    """Sync every active run (the schedule, every minute). Returns how many were synced."""
    runs = Run.objects.filter(status__in=Run.ACTIVE).exclude(job_id="").select_related("provider", "course")
    backends: dict[int, TrainingBackend] = {}
    count = 0
    for run in runs.iterator(chunk_size=200):
        backend = backends.get(run.provider_id)
        if backend is None:
            backend = backends[run.provider_id] = backend_for(run.provider, http_client=http_client)
        try:
            run_sync(run=run, backend=backend)
        except Exception:  # one broken run must not stop the others
            logger.exception("Could not sync fine-tuning run %s", run.pk)
        count += 1
    return count


def _job_action(run: Run, action: str) -> Run:
    backend = backend_for(run.provider, **INTERACTIVE)  # a curator's click waits for it
    job = getattr(backend, action)(job_id=run.job_id)
    _apply_job(run, job)
    run.save()
    return run


def run_cancel(*, run: Run) -> Run:
    """Cancel the job (raises BackendError when the provider refuses, e.g. it has just finished)."""
    if not run.job_id:
        _store(run, status=Run.Status.CANCELLED, finished_at=timezone.now())
        return run
    return _job_action(run, "cancel")


def run_pause(*, run: Run) -> Run:
    return _job_action(run, "pause")


def run_resume(*, run: Run) -> Run:
    return _job_action(run, "resume")


def run_actual_cost(run: Run) -> Decimal | None:
    model = get_model(run.base_model)
    if run.trained_tokens is None or model is None or model.price_training is None:
        return None
    return training_cost(run.trained_tokens, price_per_million=model.price_training)


# Trained models and activation ---------------------------------------------------------------


def trained_model_record(*, run: Run, backend: TrainingBackend | None = None) -> TrainedModel | None:
    """The succeeded run's model, recorded once."""
    if run.status != Run.Status.SUCCEEDED or not run.fine_tuned_model:
        return None
    existing = TrainedModel.objects.filter(run=run).first()
    if existing is not None:
        return existing
    served = (backend or backend_for(run.provider)).served_model(fine_tuned_model=run.fine_tuned_model)
    trained, _created = TrainedModel.objects.get_or_create(
        run=run,
        defaults={
            "course": run.course,
            "provider": served.provider,
            "name": served.model,
            "base_model": run.base_model,
        },
    )
    return trained


@transaction.atomic
def _switch(
    *,
    assistant: Assistant,
    provider: Provider,
    model: str,
    user: User | None,
    trained: TrainedModel | None,
    rollback: bool,
) -> Activation:
    assistant = Assistant.objects.select_for_update().get(pk=assistant.pk)
    activation = Activation.objects.create(
        assistant=assistant,
        trained_model=trained,
        from_provider_id=assistant.provider_id,
        from_model=assistant.model,
        to_provider=provider,
        to_model=model,
        is_rollback=rollback,
        created_by=user,
    )
    assistant_update(assistant=assistant, user=user, provider=provider, model=model)
    return activation


def model_activate(*, trained_model: TrainedModel, assistant: Assistant, user: User | None) -> Activation:
    """▶: the assistant's next chats use the trained model, once its server answers with it
    (BackendError with the server's reason otherwise; the assistant is left as it was)."""
    if assistant.course_id != trained_model.course_id:
        raise ValueError("The assistant and the model belong to different courses.")
    backend_for(trained_model.provider).serving_prepare(model=trained_model.name)
    return _switch(
        assistant=assistant,
        provider=trained_model.provider,
        model=trained_model.name,
        user=user,
        trained=trained_model,
        rollback=False,
    )


def assistant_rollback(*, assistant: Assistant, user: User | None) -> Activation | None:
    """Back to the model the assistant used before its latest activation (None: nothing to undo)."""
    latest = assistant.activations.select_related("from_provider").first()
    if latest is None:
        return None
    previous = TrainedModel.objects.filter(course=assistant.course, name=latest.from_model).first()
    if previous is not None:  # back to a trained model: its server must still have it
        backend_for(previous.provider).serving_prepare(model=previous.name)
    return _switch(
        assistant=assistant,
        provider=latest.from_provider,
        model=latest.from_model,
        user=user,
        trained=previous,
        rollback=True,
    )
