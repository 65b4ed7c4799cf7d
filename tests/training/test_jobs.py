"""The training service without a trainer: defaults, leases, hosts, control of waiting jobs, the sweep,
the events the run page shows (in the reader's language), and torch kept out of gradcap's environment."""

import datetime
import importlib.util

import pytest
from django.utils import timezone
from django.utils.translation import override

from finetune.backends import backend_for
from finetune.selfhosted import SelfHostedBackend
from finetune.templatetags.finetune import event_text
from tests.fixtures.training import SMOL
from training import files, hyperparameters, messages, runner, services
from training.models import BaseModel, TrainingJob

LINES = b'{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}\n' * 40


@pytest.fixture
def model(self_hosted) -> BaseModel:
    return BaseModel.objects.create(provider=self_hosted, name=SMOL, source="/srv/models/smol", context_length=8192)


@pytest.fixture
def job(model, self_hosted, settings, django_capture_on_commit_callbacks) -> TrainingJob:
    settings.TRAINING_TASKS_INLINE = False  # queued, and nothing here takes it
    with django_capture_on_commit_callbacks(execute=False):
        return services.job_create(
            provider=self_hosted,
            base_model=SMOL,
            method="supervised",
            training_file_id=files.file_store(LINES),
            requested={"n_epochs": 2},
            run_key="run-1",
        )


def test_it_every_hyperparameter_has_a_documented_default():
    values = hyperparameters.resolve({}, examples=4000, context_length=8192, method="supervised")
    assert values == {
        "n_epochs": 3,
        "batch_size": 16,
        "learning_rate": 2e-4,
        "lora_rank": 16,
        "lora_alpha": 32,
        "lora_dropout": 0.05,
        "max_length": 2048,
    }
    assert hyperparameters.resolve({}, examples=10, context_length=1024, method="dpo")["beta"] == 0.1
    assert hyperparameters.resolve({}, examples=10, context_length=1024, method="dpo")["max_length"] == 1024
    assert hyperparameters.resolve({}, examples=400, context_length=None, method="supervised")["batch_size"] == 12
    # A short run (here 40 examples: 120 steps) learns at a higher rate, or it learns too little.
    assert hyperparameters.resolve({}, examples=40, context_length=None, method="supervised")["learning_rate"] == 1e-3
    # A continued run keeps its adapter's shape, whatever was asked.
    kept = hyperparameters.resolve(
        {"lora_rank": 64}, examples=40, context_length=None, method="supervised", adapter={"lora_rank": 4}
    )
    assert kept["lora_rank"] == 4


def test_it_a_job_resolves_its_hyperparameters_and_is_found_by_its_run(job, self_hosted):
    assert job.status == TrainingJob.Status.QUEUED
    assert job.hyperparameters["n_epochs"] == 2 and job.hyperparameters["batch_size"] == 1
    assert services.job_find(provider=self_hosted, run_key="run-1") == job
    assert isinstance(backend_for(self_hosted), SelfHostedBackend)


def test_it_a_job_held_by_a_live_runner_is_never_taken_by_a_second_one(job):
    TrainingJob.objects.filter(pk=job.pk).update(
        status=TrainingJob.Status.RUNNING, host="gpu-1", heartbeat_at=timezone.now(), trainer_pid=4242
    )
    runner.job_run(job.pk)  # a duplicate delivery of its task, on another host
    job.refresh_from_db()
    assert (job.host, job.trainer_pid, job.attempts) == ("gpu-1", 4242, 0)


def test_it_a_host_without_the_model_leaves_the_job_waiting_and_says_for_whom(job, model, settings):
    model.hosts = "gpu-1, gpu-2"
    model.save()
    settings.TRAINING_HOST_NAME = "cpu-1"
    runner.job_run(job.pk)
    runner.job_run(job.pk)
    job.refresh_from_db()
    assert job.status == TrainingJob.Status.QUEUED and job.attempts == 0
    waiting = job.events.filter(data__msgid=messages.WAITING_FOR_HOST)
    assert waiting.count() == 1  # said once
    assert waiting.get().message == (
        "Training host cpu-1 does not have SmolLM2-135M-Instruct; waiting for one of: gpu-1, gpu-2."
    )


def test_it_waiting_jobs_are_cancelled_paused_and_resumed_at_once(job, self_hosted):
    backend = SelfHostedBackend(self_hosted)
    assert backend.pause(job_id=job.public_id).status == "paused"
    assert backend.resume(job_id=job.public_id).status == "queued"
    assert backend.cancel(job_id=job.public_id).status == "cancelled"
    with pytest.raises(Exception, match="already finished"):
        backend.cancel(job_id=job.public_id)


def test_it_the_sweep_queues_only_jobs_that_lost_their_runner_or_their_task(job, model, self_hosted, settings):
    assert services.jobs_recover() == 0  # just queued: its task is on its way
    TrainingJob.objects.filter(pk=job.pk).update(queued_at=timezone.now() - datetime.timedelta(hours=1))
    assert services.jobs_recover() == 1
    assert services.jobs_recover() == 0  # queued again just now
    TrainingJob.objects.filter(pk=job.pk).update(status=TrainingJob.Status.RUNNING, heartbeat_at=timezone.now())
    assert services.jobs_recover() == 0  # its runner beats
    stale = timezone.now() - datetime.timedelta(seconds=settings.TRAINING_LEASE_SECONDS + 1)
    TrainingJob.objects.filter(pk=job.pk).update(heartbeat_at=stale)
    assert services.jobs_recover() == 1


def test_it_run_events_are_shown_in_the_readers_language(job, self_hosted):
    services.event_add(job, messages.CHECKPOINT, {"step": 7})
    result = SelfHostedBackend(self_hosted).sync(job_id=job.public_id)
    checkpoint = result.events[-1]
    assert checkpoint.message == "Checkpoint saved at step 7."
    with override("ru"):
        assert event_text(checkpoint) == "Контрольная точка сохранена на шаге 7."
    # Events after the last one seen only.
    assert SelfHostedBackend(self_hosted).sync(job_id=job.public_id, last_event_id=checkpoint.id).events == []


def test_it_gradcaps_own_environment_has_no_torch():
    """The web process and the ordinary worker never import torch: it is not even installed there."""
    assert importlib.util.find_spec("torch") is None
    assert importlib.util.find_spec("transformers") is None
    import training.runner  # noqa: F401 — the training host's side imports without them
