"""Syncing runs: two provider calls per run, only new events, provider faults survived."""

import openai
import pytest

from dialogs.datasets import edits
from dialogs.datasets import services as curation
from dialogs.models import Example
from finetune import tracking
from finetune.backends import backend_for
from finetune.models import Run
from tests.finetune.conftest import start_run
from tests.fixtures.sandbox import job_age


@pytest.fixture
def counted():
    """An HTTP client that counts the requests it sends (an httpx event hook: the SDK is not touched)."""
    requests = []
    http_client = openai.DefaultHttpx2Client(event_hooks={"request": [requests.append]})
    yield http_client, requests
    http_client.close()


@pytest.fixture
def running(dataset, provider, curator, settings):
    settings.SANDBOX_FINE_TUNING_SECONDS = 600
    run = start_run(dataset, provider, curator)
    run.refresh_from_db()
    return run


def test_it_a_sync_costs_two_calls_and_fetches_only_new_events(running, counted):
    http_client, requests = counted
    backend = backend_for(running.provider, http_client=http_client)
    job_age(running.job_id, 200)
    tracking.run_sync(run=running, backend=backend)
    assert len(requests) == 2
    first_events = running.events.count()
    assert first_events and running.metrics.exists() and running.last_event_id

    requests.clear()
    job_age(running.job_id, 100)
    tracking.run_sync(run=running, backend=backend)
    assert len(requests) == 2
    assert [r.url.path.rsplit("/", 1)[-1] for r in requests] == [running.job_id, "events"]
    assert running.events.count() > first_events
    ids = list(running.events.values_list("provider_id", flat=True))
    assert len(ids) == len(set(ids))  # nothing stored twice

    requests.clear()
    tracking.run_sync(run=running, backend=backend)  # nothing new: still two calls, nothing added
    assert len(requests) == 2


def test_it_the_schedule_syncs_every_active_run(dataset, provider, curator, settings, counted):
    settings.SANDBOX_FINE_TUNING_SECONDS = 600
    runs = [start_run(dataset, provider, curator) for _ in range(3)]
    http_client, requests = counted
    assert tracking.runs_sync_active(http_client=http_client) == 3
    assert len(requests) == 6
    for run in runs:
        run.refresh_from_db()
        assert run.synced_at is not None


@pytest.mark.parametrize("fault", ["429", "500"])
def test_it_a_failing_provider_during_sync_is_shown_and_the_next_sync_recovers(running, fault, client, curator):
    provider = running.provider
    provider.extra_headers = {"X-Sandbox-Fault": fault}
    provider.max_retries = 1
    provider.save()
    running = Run.objects.select_related("provider").get(pk=running.pk)
    tracking.run_sync(run=running)
    running.refresh_from_db()
    assert running.status == Run.Status.VALIDATING  # the job itself is fine
    assert running.sync_error
    client.force_login(curator)
    assert "The last refresh failed" in client.get(running.get_absolute_url()).content.decode()

    provider.extra_headers = {}
    provider.save()
    running = Run.objects.select_related("provider").get(pk=running.pk)
    tracking.run_sync(run=running)
    assert running.sync_error == ""


def test_it_later_dataset_edits_do_not_change_the_snapshot(dataset, provider, curator):
    run = start_run(dataset, provider, curator)
    snapshot = run.snapshot
    with snapshot.training_file.open("rb") as handle:
        before = handle.read()
    example = dataset.examples.order_by("pk").first()
    curation.example_change(
        example=example, version=example.version, user=curator, change=edits.set_content(1, "Something else.")
    )
    Example.objects.filter(dataset=dataset).exclude(pk=example.pk).first().delete()
    dataset.assistant.instructions = "New instructions."
    dataset.assistant.save()

    snapshot.refresh_from_db()
    with snapshot.training_file.open("rb") as handle:
        assert handle.read() == before
    assert snapshot.instructions == "Answer briefly."
    with pytest.raises(ValueError):
        snapshot.save()
