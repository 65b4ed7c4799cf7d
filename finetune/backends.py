"""Training backends: where a run's files go and where its job runs.

Views and services speak only to `TrainingBackend`; `backend_for(provider)` picks the
implementation. The OpenAI-compatible backend (OpenAI, Azure OpenAI's v1 endpoint, the sandbox,
any server with `/v1/fine_tuning/jobs`) uses the real `openai` SDK through `llm.clients`; the
self-hosted backend (`finetune/selfhosted.py`) trains LoRA adapters on gradcap's own training hosts.

Everything returned is a plain dataclass, so nothing outside this module sees SDK types.
"""

import abc
import datetime
from dataclasses import dataclass, field
from typing import Any

import httpx2
import openai
from django.utils import timezone
from django.utils.translation import gettext as _

from llm.catalog import get_model
from llm.clients import client_for
from llm.models import Provider

RUN_METADATA_KEY = "gradcap_run"
EVENTS_PAGE = 100  # OpenAI's largest events page; a sync reads one page unless more is new


class BackendError(Exception):
    """A provider refused or failed; `message` is meant for curators, in plain words."""

    def __init__(self, message: str, *, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class JobSpec:
    base_model: str
    method: str  # llm.catalog.SFT or DPO
    training_file_id: str
    validation_file_id: str = ""
    hyperparameters: dict[str, Any] = field(default_factory=dict)  # missing = "auto"
    suffix: str = ""
    run_key: str = ""  # names the run in the job's metadata: how a retried task finds its job


@dataclass(frozen=True)
class JobState:
    id: str
    status: str  # the provider's word: validating_files, queued, running, paused, succeeded, ...
    fine_tuned_model: str = ""
    trained_tokens: int | None = None
    error: str = ""
    estimated_finish: datetime.datetime | None = None
    finished_at: datetime.datetime | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JobEvent:
    id: str
    created_at: datetime.datetime
    level: str
    message: str
    type: str
    data: dict[str, Any] | None = None


@dataclass(frozen=True)
class JobCheckpoint:
    id: str
    step: int
    model: str
    metrics: dict[str, Any]
    created_at: datetime.datetime


@dataclass(frozen=True)
class SyncResult:
    job: JobState
    events: list[JobEvent]  # only those newer than the last seen one, oldest first


@dataclass(frozen=True)
class ServedModel:
    """Where the tuned model answers: "base URL + model name + key" (the key is the provider's)."""

    provider: Provider
    model: str

    @property
    def base_url(self) -> str:
        return self.provider.effective_base_url


class TrainingBackend(abc.ABC):
    """What gradcap needs from a place that trains models."""

    def __init__(self, provider: Provider):
        self.provider = provider

    @abc.abstractmethod
    def validate(self, *, base_model: str, method: str) -> list[str]:
        """Problems, in plain words, that would stop this backend training `base_model` by `method`."""

    @abc.abstractmethod
    def upload(self, *, filename: str, content: bytes) -> str:
        """Store a training file at the provider; its id."""

    @abc.abstractmethod
    def create_job(self, spec: JobSpec) -> JobState: ...

    @abc.abstractmethod
    def find_job(self, *, run_key: str) -> JobState | None:
        """The job created earlier for this run, if any (a task may die after creating it)."""

    @abc.abstractmethod
    def sync(self, *, job_id: str, last_event_id: str = "") -> SyncResult:
        """The job now and what happened since `last_event_id`: two provider calls, not more."""

    @abc.abstractmethod
    def checkpoints(self, *, job_id: str) -> list[JobCheckpoint]:
        """The job's kept checkpoints (read once, when the job has finished)."""

    @abc.abstractmethod
    def cancel(self, *, job_id: str) -> JobState: ...

    @abc.abstractmethod
    def pause(self, *, job_id: str) -> JobState: ...

    @abc.abstractmethod
    def resume(self, *, job_id: str) -> JobState: ...

    def serving_prepare(self, *, model: str) -> None:
        """Make a trained model servable before an assistant switches to it (▶); BackendError with
        the reason when it cannot answer. Hosted providers serve what they trained."""
        return None

    def served_model(self, *, fine_tuned_model: str) -> ServedModel:
        """The model to call once trained. Backends that must deploy first (Azure) override this."""
        return ServedModel(provider=self.provider, model=fine_tuned_model)


def _when(value: int | None) -> datetime.datetime | None:
    return datetime.datetime.fromtimestamp(value, tz=datetime.UTC) if value else None


def _plain_error(error: openai.OpenAIError) -> BackendError:
    """The provider's message, said plainly, and whether trying again later may help."""
    if isinstance(error, openai.APITimeoutError):
        return BackendError(_("The provider did not answer in time."), retryable=True)
    if isinstance(error, openai.APIConnectionError):
        return BackendError(_("The provider could not be reached."), retryable=True)
    if isinstance(error, openai.APIStatusError):
        message = error.message
        body = error.body if isinstance(error.body, dict) else {}
        detail = body.get("message") if isinstance(body.get("message"), str) else None
        if detail is None and isinstance(body.get("error"), dict):
            detail = body["error"].get("message")
        message = detail or message
        if error.status_code == 429:
            return BackendError(
                _("The provider is busy (rate limit): %(message)s") % {"message": message}, retryable=True
            )
        if error.status_code >= 500:
            return BackendError(_("The provider had an error: %(message)s") % {"message": message}, retryable=True)
        if error.status_code in (401, 403):
            return BackendError(_("The provider refused the API key: %(message)s") % {"message": message})
        return BackendError(_("The provider refused the request: %(message)s") % {"message": message})
    return BackendError(str(error))


class OpenAICompatibleBackend(TrainingBackend):
    """`/v1/files` + `/v1/fine_tuning/jobs` through the official SDK (OpenAI, Azure v1, sandbox, …)."""

    def __init__(
        self,
        provider: Provider,
        *,
        http_client: httpx2.Client | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
    ):
        super().__init__(provider)
        self.client = client_for(provider, http_client=http_client, timeout=timeout, max_retries=max_retries)

    def _call(self, function, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except openai.OpenAIError as error:
            raise _plain_error(error) from error

    @staticmethod
    def _state(job) -> JobState:
        error = ""
        if job.error is not None and (job.error.message or job.error.code):
            error = job.error.message or job.error.code
        hyperparameters = {}
        if job.method is not None:
            details = getattr(job.method, job.method.type, None)
            if details is not None and details.hyperparameters is not None:
                hyperparameters = details.hyperparameters.model_dump(exclude_none=True)
        return JobState(
            id=job.id,
            status=job.status,
            fine_tuned_model=job.fine_tuned_model or "",
            trained_tokens=job.trained_tokens,
            error=error,
            estimated_finish=_when(job.estimated_finish),
            finished_at=_when(job.finished_at),
            hyperparameters=hyperparameters,
        )

    def validate(self, *, base_model: str, method: str) -> list[str]:
        model = get_model(base_model)
        if model is None or not model.is_tunable_on(self.provider.kind):
            return [_("%(model)s cannot be fine-tuned at this provider.") % {"model": base_model}]
        if method not in model.methods:
            return [_("%(model)s cannot be trained with this method.") % {"model": model.label}]
        last_day = model.new_jobs_until(self.provider.kind)
        if last_day and timezone.localdate() > last_day:
            return [_("This provider accepts no new fine-tuning jobs since %(date)s.") % {"date": last_day}]
        return []

    def upload(self, *, filename: str, content: bytes) -> str:
        return self._call(self.client.files.create, file=(filename, content), purpose="fine-tune").id

    def create_job(self, spec: JobSpec) -> JobState:
        hyperparameters = {name: value for name, value in spec.hyperparameters.items() if value not in (None, "")}
        kwargs: dict[str, Any] = {
            "model": spec.base_model,
            "training_file": spec.training_file_id,
            "method": {"type": spec.method, spec.method: {"hyperparameters": hyperparameters}},
            "metadata": {RUN_METADATA_KEY: spec.run_key},
        }
        if spec.validation_file_id:
            kwargs["validation_file"] = spec.validation_file_id
        if spec.suffix:
            kwargs["suffix"] = spec.suffix
        return self._state(self._call(self.client.fine_tuning.jobs.create, **kwargs))

    def find_job(self, *, run_key: str) -> JobState | None:
        page = self._call(self.client.fine_tuning.jobs.list, metadata={RUN_METADATA_KEY: run_key}, limit=10)
        for job in page.data:
            if (job.metadata or {}).get(RUN_METADATA_KEY) == run_key:
                return self._state(job)
        return None

    def _new_events(self, job_id: str, last_event_id: str) -> list[JobEvent]:
        """Events newer than `last_event_id`, oldest first.

        Providers list events newest first, and `after=` pages towards *older* ones. So the
        newest page is read, and older pages only while the last seen event is not reached yet
        (more than a page of news since the last sync: rare, and only then more than one call).
        """
        new: list[JobEvent] = []
        after = None
        while True:
            kwargs: dict[str, Any] = {"limit": EVENTS_PAGE}
            if after:
                kwargs["after"] = after
            page = self._call(self.client.fine_tuning.jobs.list_events, job_id, **kwargs)
            for event in page.data:
                if event.id == last_event_id:
                    return new[::-1]
                new.append(
                    JobEvent(
                        id=event.id,
                        created_at=_when(event.created_at) or timezone.now(),
                        level=event.level,
                        message=event.message,
                        type=event.type or "message",
                        data=event.data if isinstance(event.data, dict) else None,
                    )
                )
            if not page.has_more or not page.data:
                return new[::-1]
            after = page.data[-1].id

    def checkpoints(self, *, job_id: str) -> list[JobCheckpoint]:
        page = self._call(self.client.fine_tuning.jobs.checkpoints.list, job_id, limit=100)
        return [
            JobCheckpoint(
                id=checkpoint.id,
                step=checkpoint.step_number,
                model=checkpoint.fine_tuned_model_checkpoint,
                metrics=checkpoint.metrics.model_dump(exclude_none=True) if checkpoint.metrics else {},
                created_at=_when(checkpoint.created_at) or timezone.now(),
            )
            for checkpoint in page.data
        ]

    def sync(self, *, job_id: str, last_event_id: str = "") -> SyncResult:
        job = self._state(self._call(self.client.fine_tuning.jobs.retrieve, job_id))
        return SyncResult(job=job, events=self._new_events(job_id, last_event_id))

    def cancel(self, *, job_id: str) -> JobState:
        return self._state(self._call(self.client.fine_tuning.jobs.cancel, job_id))

    def pause(self, *, job_id: str) -> JobState:
        return self._state(self._call(self.client.fine_tuning.jobs.pause, job_id))

    def resume(self, *, job_id: str) -> JobState:
        return self._state(self._call(self.client.fine_tuning.jobs.resume, job_id))


# A curator's click (🔄, cancel, pause, resume) waits for the provider inside the request: it gets
# a short timeout and one retry, not the provider's own limits meant for the worker.
INTERACTIVE = {"timeout": 15.0, "max_retries": 1}


def backend_for(
    provider: Provider,
    *,
    http_client: httpx2.Client | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
) -> TrainingBackend:
    """The training backend of a provider: gradcap's own training hosts for a self-hosted provider,
    OpenAI's fine-tuning API for every other kind."""
    if provider.is_self_hosted:
        from .selfhosted import SelfHostedBackend  # it builds on this module

        return SelfHostedBackend(provider)
    return OpenAICompatibleBackend(provider, http_client=http_client, timeout=timeout, max_retries=max_retries)
