"""Controlling a real run while it trains: cancel stops it within a step; pause writes a checkpoint
and resume goes on from it; a trainer killed outright (SIGKILL) goes on from its last checkpoint,
at once when only the trainer died and when its task runs again after the whole runner died."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from finetune import services, tracking
from finetune.models import Run
from tests.conftest import subprocess_environment
from tests.fixtures.training import FACTS, FAST, dataset_of, fact_rows, job_of
from training import runner
from training import services as training
from training.models import TrainingCheckpoint, TrainingJob

pytestmark = pytest.mark.django_db(transaction=True)  # the runner trains in a thread of its own


@pytest.fixture
def queued(course, curator, tutor, smol, work_dir, settings):
    """A run submitted and its job queued, not yet taken by a training host (the test plays the host)."""
    settings.TRAINING_TASKS_INLINE = False  # queued on the training queue, which nothing here consumes

    def make(**hyper) -> Run:
        dataset = dataset_of(course, curator, fact_rows(FACTS[:4]), assistant=tutor)
        run = services.run_start(
            dataset=dataset,
            provider=tutor.provider,
            base_model="SmolLM2-135M-Instruct",
            hyperparameters={**FAST, "batch_size": 1, **hyper},
            suffix="control",
            user=curator,
        )
        return Run.objects.select_related("provider", "course").get(pk=run.pk)

    return make


def in_background(job: TrainingJob) -> threading.Thread:
    def work():
        try:
            runner.job_run(job.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def wait_for(condition, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("gave up waiting")
        time.sleep(0.2)


def fresh(job: TrainingJob) -> TrainingJob:
    return TrainingJob.objects.get(pk=job.pk)


def metric_steps_after(job: TrainingJob, msgid: str) -> list[int]:
    marker = job.events.filter(data__msgid=msgid).latest("pk")
    return [event.data["step"] for event in job.events.filter(type="metrics", pk__gt=marker.pk).order_by("pk")]


def test_it_cancel_stops_the_trainer_within_a_step(client, curator, queued):
    run = queued(n_epochs=10)
    job = job_of(run)
    thread = in_background(job)
    wait_for(lambda: fresh(job).step >= 2)
    client.force_login(curator)
    client.post(reverse("finetune:run_action", args=[run.course.slug, run.pk, "cancel"]))
    asked_at = fresh(job).step
    thread.join(timeout=120)
    assert not thread.is_alive()

    job = fresh(job)
    assert job.status == TrainingJob.Status.CANCELLED
    assert job.step <= asked_at + 3 < job.total_steps == 40
    assert not job.adapter_path and not job.fine_tuned_model
    run = tracking.run_sync(run=Run.objects.select_related("provider").get(pk=run.pk))
    assert run.status == Run.Status.CANCELLED
    assert run.events.filter(message=f"Cancelled at step {job.step}.").exists()


def test_it_pause_writes_a_checkpoint_and_resume_goes_on_from_it(client, curator, queued):
    run = queued(n_epochs=3)
    job = job_of(run)
    thread = in_background(job)
    wait_for(lambda: fresh(job).step >= 3)
    client.force_login(curator)
    client.post(reverse("finetune:run_action", args=[run.course.slug, run.pk, "pause"]))
    thread.join(timeout=120)
    job = fresh(job)
    assert job.status == TrainingJob.Status.PAUSED
    paused_at = job.step
    assert last_checkpoint(job) == paused_at  # in storage: any host can go on
    run = tracking.run_sync(run=Run.objects.select_related("provider").get(pk=run.pk))
    assert run.status == Run.Status.PAUSED

    client.post(reverse("finetune:run_action", args=[run.course.slug, run.pk, "resume"]))
    assert fresh(job).status == TrainingJob.Status.QUEUED
    runner.job_run(job.pk)  # the training host takes it again
    job = fresh(job)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    assert metric_steps_after(job, "Training goes on from the checkpoint at step %(step)s, on %(host)s.") == list(
        range(paused_at + 1, job.total_steps + 1)
    )


def test_it_a_trainer_killed_outright_goes_on_from_its_last_checkpoint(queued, settings):
    settings.TRAINING_CHECKPOINT_SECONDS = 3
    run = queued(n_epochs=4)
    job = job_of(run)
    thread = in_background(job)
    wait_for(lambda: TrainingCheckpoint.objects.filter(job=job).exists())
    checkpoint = TrainingCheckpoint.objects.filter(job=job).latest("step").step
    wait_for(lambda: fresh(job).step > checkpoint)
    os.kill(fresh(job).trainer_pid, signal.SIGKILL)
    thread.join(timeout=240)

    job = fresh(job)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    assert job.attempts == 2
    died = job.events.get(data__msgid__startswith="The trainer stopped unexpectedly")
    assert died.level == "warn" and "SIGKILL" in died.message
    resumed = job.events.filter(data__msgid__startswith="Training goes on from the checkpoint").latest("pk")
    step = int(resumed.data["params"]["step"])
    assert step >= checkpoint
    # The step count goes on from the checkpoint, not from 1.
    assert metric_steps_after(job, resumed.data["msgid"]) == list(range(step + 1, job.total_steps + 1))


def last_checkpoint(job: TrainingJob) -> int:
    return TrainingCheckpoint.objects.filter(job=job).latest("step").step


def _host(job: TrainingJob) -> subprocess.Popen:
    """A training host in a process of its own, running the job's task."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", f"from training.runner import job_run; job_run({job.pk})"],
        cwd=settings.BASE_DIR,
        env=subprocess_environment(TRAINING_CHECKPOINT_MINUTES="0.05"),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _resumed_at(job: TrainingJob):
    return job.events.filter(data__msgid__startswith="Training goes on from the checkpoint").latest("pk")


def test_it_a_stopping_host_checkpoints_and_a_killed_one_is_taken_again_by_the_sweep(queued, settings, work_dir):
    settings.TRAINING_CHECKPOINT_SECONDS = 3
    run = queued(n_epochs=5)
    job = job_of(run)

    # The host stops (SIGTERM to all its processes, as systemd or Ctrl-C in bin/demo do).
    host = _host(job)
    wait_for(lambda: fresh(job).step >= 2)
    os.killpg(host.pid, signal.SIGTERM)
    assert host.wait(timeout=120) == 0
    job = fresh(job)
    assert job.status == TrainingJob.Status.RUNNING and job.heartbeat_at is None  # in hand, without a runner
    stopped = job.events.get(data__msgid__startswith="Training host %(host)s is stopping")
    assert last_checkpoint(job) == stopped.data["params"]["step"] == job.step

    # The sweep queues it; a host goes on from that checkpoint, then dies outright (SIGKILL: no goodbye).
    settings.TRAINING_TASKS_INLINE = False
    assert training.jobs_recover() == 1
    host = _host(job)
    try:
        wait_for(lambda: last_checkpoint(job) > stopped.data["params"]["step"])
        wait_for(lambda: fresh(job).step > last_checkpoint(job))
    finally:
        os.killpg(host.pid, signal.SIGKILL)  # runner and trainer at once
        host.wait(timeout=30)
    assert int(_resumed_at(job).data["params"]["step"]) == stopped.data["params"]["step"]
    job = fresh(job)
    assert job.status == TrainingJob.Status.RUNNING and job.heartbeat_at is not None
    checkpoint = last_checkpoint(job)
    shutil.rmtree(work_dir, ignore_errors=True)  # another host: nothing of the job on its disk

    assert training.jobs_recover() == 0  # its heartbeat is fresh: it may be alive
    TrainingJob.objects.filter(pk=job.pk).update(heartbeat_at=training.lease_expired_before())
    settings.TRAINING_TASKS_INLINE = True  # this host takes the task at once
    settings.TRAINING_HOST_NAME = "gpu-2"
    assert training.jobs_recover() == 1

    job = fresh(job)
    assert job.status == TrainingJob.Status.SUCCEEDED, job.error
    assert job.host == "gpu-2" and job.attempts == 3
    resumed = _resumed_at(job)
    assert resumed.data["params"] == {"step": str(checkpoint), "host": "gpu-2"}
    assert metric_steps_after(job, resumed.data["msgid"]) == list(range(checkpoint + 1, job.total_steps + 1))
