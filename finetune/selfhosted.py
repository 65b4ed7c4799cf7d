"""The self-hosted training backend: runs go to gradcap's own training hosts (the `training` app)
instead of a provider's `/v1/fine_tuning/jobs`. The run page, its events, chart, checkpoints and
controls work as for a hosted job: this backend answers the same questions from the database."""

from django.utils.translation import gettext as _

from llm.catalog import DPO, SFT
from training import files as training_files
from training import services as training
from training import serving
from training.models import BaseModel, TrainingCheckpoint, TrainingEvent, TrainingJob

from .backends import BackendError, JobCheckpoint, JobEvent, JobSpec, JobState, SyncResult, TrainingBackend


def _state(job: TrainingJob) -> JobState:
    return JobState(
        id=job.public_id,
        status=job.status,
        fine_tuned_model=job.fine_tuned_model,
        trained_tokens=job.trained_tokens,
        error=job.error,
        estimated_finish=job.estimated_finish,
        finished_at=job.finished_at,
        hyperparameters=job.hyperparameters,
    )


def _event(event: TrainingEvent) -> JobEvent:
    return JobEvent(
        id=str(event.pk),
        created_at=event.created_at,
        level=event.level,
        message=event.message,
        type=event.type,
        data=event.data,
    )


class SelfHostedBackend(TrainingBackend):
    def _job(self, job_id: str) -> TrainingJob:
        try:
            return training.job_get(provider=self.provider, public_id=job_id)
        except training.JobError as error:
            raise BackendError(error.message) from error

    def validate(self, *, base_model: str, method: str) -> list[str]:
        model, _earlier = training.base_model_for(self.provider, base_model)
        if model is None:
            return [_("%(model)s is not a base model of this provider.") % {"model": base_model}]
        if not model.is_active:
            return [_("%(model)s is no longer offered for training.") % {"model": model.name}]
        if method not in (SFT, DPO):
            return [_("%(model)s cannot be trained with this method.") % {"model": model.name}]
        return []

    def upload(self, *, filename: str, content: bytes) -> str:
        return training_files.file_store(content)

    def create_job(self, spec: JobSpec) -> JobState:
        try:
            job = training.job_create(
                provider=self.provider,
                base_model=spec.base_model,
                method=spec.method,
                training_file_id=spec.training_file_id,
                validation_file_id=spec.validation_file_id,
                requested=spec.hyperparameters,
                suffix=spec.suffix,
                run_key=spec.run_key,
            )
        except training.JobError as error:
            raise BackendError(error.message) from error
        return _state(job)

    def find_job(self, *, run_key: str) -> JobState | None:
        job = training.job_find(provider=self.provider, run_key=run_key)
        return _state(job) if job else None

    def sync(self, *, job_id: str, last_event_id: str = "") -> SyncResult:
        job = self._job(job_id)
        events = TrainingEvent.objects.filter(job=job).order_by("pk")
        if last_event_id.isdigit():
            events = events.filter(pk__gt=int(last_event_id))
        return SyncResult(job=_state(job), events=[_event(event) for event in events])

    def checkpoints(self, *, job_id: str) -> list[JobCheckpoint]:
        job = self._job(job_id)
        return [
            JobCheckpoint(
                id=f"{job.public_id}:step-{checkpoint.step}",
                step=checkpoint.step,
                model="",
                metrics=checkpoint.metrics,
                created_at=checkpoint.created_at,
            )
            for checkpoint in TrainingCheckpoint.objects.filter(job=job)
        ]

    def serving_prepare(self, *, model: str) -> None:
        try:
            serving.model_serve(provider=self.provider, model=model)
        except serving.ServingError as error:
            raise BackendError(error.message) from error

    def _control(self, function, job_id: str) -> JobState:
        try:
            return _state(function(job=self._job(job_id)))
        except training.JobError as error:
            raise BackendError(error.message) from error

    def cancel(self, *, job_id: str) -> JobState:
        return self._control(training.job_cancel, job_id)

    def pause(self, *, job_id: str) -> JobState:
        return self._control(training.job_pause, job_id)

    def resume(self, *, job_id: str) -> JobState:
        return self._control(training.job_resume, job_id)


def base_models(provider) -> list[BaseModel]:
    """What the start page offers for a self-hosted provider."""
    return list(provider.base_models.filter(is_active=True).order_by("name"))


def job_of(run) -> TrainingJob | None:
    """The training host's job behind a self-hosted run (for what only it knows: host, device, logs)."""
    if not run.provider.is_self_hosted or not run.job_id:
        return None
    return TrainingJob.objects.select_related("base_model").filter(provider=run.provider, public_id=run.job_id).first()
