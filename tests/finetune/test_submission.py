"""The submission task: one provider job per run whatever happens, provider failures in plain words."""

import pytest
from django.core.files.base import ContentFile

from finetune import services, tracking
from finetune.backends import RUN_METADATA_KEY
from finetune.models import Run, Snapshot
from tests.conftest import stalled
from tests.finetune.conftest import BASE_MODEL, start_run, unsubmitted_run


class Killed(Exception):
    """The worker died here."""


def _jobs_of(sandbox, run):
    return sandbox.fine_tuning.jobs.list(metadata={RUN_METADATA_KEY: str(run.key)}).data


@pytest.fixture
def sandbox(asgi_server, make_sandbox_client):
    return make_sandbox_client(asgi_server.url)


@pytest.fixture
def unsubmitted(dataset, provider, curator):
    return unsubmitted_run(dataset, provider, curator)


@pytest.mark.parametrize("step", ["training_file", "validation_file", "job_created", "job"])
def test_it_a_submission_killed_at_any_step_and_run_again_makes_one_job(unsubmitted, sandbox, step):
    def die(name):
        if name == step:
            raise Killed(name)

    with pytest.raises(Killed):
        services.run_submit(run_id=unsubmitted.pk, after_step=die)
    services.run_submit(run_id=unsubmitted.pk)  # while the dead task's claim holds, nothing happens
    assert services.runs_recover() == 0  # nor is it queued again yet

    Run.objects.filter(pk=unsubmitted.pk).update(claimed_at=stalled(), updated_at=stalled())  # time passes
    # The schedules: the sweep queues the submission again where no job is recorded yet (tests
    # run tasks inline), and the sync picks up a run whose job is recorded.
    assert services.runs_recover() == (0 if step == "job" else 1)
    tracking.runs_sync_active()
    services.run_submit(run_id=unsubmitted.pk)  # a duplicate delivery changes nothing

    run = Run.objects.get(pk=unsubmitted.pk)
    jobs = _jobs_of(sandbox, run)
    assert len(jobs) == 1
    assert run.job_id == jobs[0].id and run.status not in (Run.Status.NOT_SUBMITTED, Run.Status.FAILED)
    assert len(sandbox.fine_tuning.jobs.list().data) == 1


def test_it_retries_a_rate_limited_provider_and_then_submits(unsubmitted, sandbox):
    provider = unsubmitted.provider
    provider.extra_headers = {"X-Sandbox-Fault": "429;times=2;key=submit"}
    provider.max_retries = 2
    provider.save()
    run = services.run_submit(run_id=unsubmitted.pk)
    assert run.job_id and run.error == ""
    assert len(_jobs_of(sandbox, run)) == 1


@pytest.mark.parametrize(
    ("fault", "words"), [("429", "The provider is busy (rate limit)"), ("500", "The provider had an error")]
)
def test_it_a_provider_that_keeps_failing_fails_the_run_in_plain_words_and_retry_works(
    unsubmitted, sandbox, client, curator, fault, words
):
    provider = unsubmitted.provider
    provider.extra_headers = {"X-Sandbox-Fault": fault}
    provider.max_retries = 1
    provider.save()
    run = services.run_submit(run_id=unsubmitted.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED and words in run.error and not run.job_id

    client.force_login(curator)
    page = client.get(run.get_absolute_url()).content.decode()
    assert words in page and "Retry" in page

    provider.extra_headers = {}
    provider.save()
    response = client.post(f"{run.get_absolute_url()}retry/")  # the task runs inline in tests
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.job_id and run.error == "" and run.status != Run.Status.FAILED
    assert len(_jobs_of(sandbox, run)) == 1


def test_it_a_job_the_provider_fails_shows_its_error(dataset, provider, curator, client, course):
    content = b'{"messages": [{"role": "user", "content": "no answer here"}]}\n' * 12
    snapshot = Snapshot(
        course=course,
        dataset=dataset,
        dataset_name=dataset.name,
        method="supervised",
        training_sha256="x",
        training_examples=12,
        training_tokens=100,
    )
    snapshot.training_file.save("train.jsonl", ContentFile(content), save=False)
    snapshot.save()
    run = Run.objects.create(course=course, snapshot=snapshot, provider=provider, base_model=BASE_MODEL)
    services.run_submit(run_id=run.pk)
    run.refresh_from_db()
    tracking.run_sync(run=run)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert "Invalid training file" in run.error and "assistant" in run.error
    client.force_login(curator)
    page = client.get(run.get_absolute_url()).content.decode()
    assert "Invalid training file" in page and "Train again from this snapshot" in page


def test_it_a_running_job_can_be_paused_resumed_and_cancelled(dataset, provider, curator, client, settings, sandbox):
    from tests.fixtures.sandbox import job_age

    settings.SANDBOX_FINE_TUNING_SECONDS = 600
    run = start_run(dataset, provider, curator)
    run.refresh_from_db()
    job_age(run.job_id, 300)  # halfway
    tracking.run_sync(run=run)
    assert run.status == Run.Status.RUNNING and 0 < run.step < run.total_steps
    assert run.estimated_finish is not None

    client.force_login(curator)
    client.post(f"{run.get_absolute_url()}pause/")
    run.refresh_from_db()
    assert run.status == Run.Status.PAUSED
    client.post(f"{run.get_absolute_url()}resume/")
    run.refresh_from_db()
    assert run.status == Run.Status.RUNNING
    page = client.get(run.get_absolute_url()).content.decode()
    assert 'hx-trigger="every 5s"' in page  # refreshes itself while active
    client.post(f"{run.get_absolute_url()}cancel/")
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED
    assert sandbox.fine_tuning.jobs.retrieve(run.job_id).status == "cancelled"
    page = client.get(run.get_absolute_url()).content.decode()
    assert "every 5s" not in page
    assert not hasattr(run, "trained_model") or run.trained_model is None
