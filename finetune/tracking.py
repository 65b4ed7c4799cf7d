"""Tracking a run's provider job: its status, events, metrics and checkpoints; cancel, pause, resume."""

import logging
from decimal import Decimal

import httpx2
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from llm.catalog import get_model
from trainingfiles.stats import training_cost

from .activation import trained_model_record
from .backends import INTERACTIVE, BackendError, JobState, SyncResult, TrainingBackend, backend_for
from .models import Checkpoint, MetricPoint, Run, RunEvent

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


def run_store_fields(run: Run, **fields) -> None:
    """Write what was just obtained at once: a task killed after this line keeps it."""
    for name, value in fields.items():
        setattr(run, name, value)
    Run.objects.filter(pk=run.pk).update(**fields, updated_at=timezone.now())


def run_apply_job(run: Run, job: JobState) -> None:
    """Copy the job's state (status, model, tokens, hyperparameters, the end) onto the run, unsaved."""
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
        run_apply_job(run, result.job)
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
    run_apply_job(run, job)
    run.save()
    return run


def run_cancel(*, run: Run) -> Run:
    """Cancel the job (raises BackendError when the provider refuses, e.g. it has just finished)."""
    if not run.job_id:
        run_store_fields(run, status=Run.Status.CANCELLED, finished_at=timezone.now())
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
