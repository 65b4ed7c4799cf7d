"""validating_files → queued → running → succeeded, derived from stored timestamps."""

import csv
import io

import openai
import pytest

from tests.fixtures.sandbox import BASE_MODEL, dpo_line, job_age, jsonl, sample_lines, upload_jsonl


@pytest.fixture
def paced(settings):
    """Jobs that take 100 s of their own time; tests move their clocks instead of sleeping."""
    settings.SANDBOX_FINE_TUNING_SECONDS = 100


def _create(client, **options):
    training = upload_jsonl(client, sample_lines())
    return client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training.id, **options)


@pytest.mark.smoke
def test_it_succeeds_with_a_tuned_model_trained_tokens_and_a_result_file(sandbox_client):
    job = _create(sandbox_client, suffix="python-basics", seed=7)

    job = sandbox_client.fine_tuning.jobs.retrieve(job.id)

    assert job.status == "succeeded"
    assert job.fine_tuned_model == f"ft:{BASE_MODEL}:sandbox:python-basics:{job.id.removeprefix('ftjob-')[:8]}"
    assert job.trained_tokens > 0
    assert job.finished_at >= job.created_at
    assert job.seed == 7
    result = sandbox_client.files.content(job.result_files[0]).text
    rows = list(csv.DictReader(io.StringIO(result)))
    assert len(rows) == job.method.supervised.hyperparameters.n_epochs * 10
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])


def test_it_names_the_tuned_model_after_the_organisation(make_sandbox_client):
    client = make_sandbox_client(organization="acme-school")

    job = client.fine_tuning.jobs.retrieve(_create(client).id)

    assert job.fine_tuned_model.startswith(f"ft:{BASE_MODEL}:acme-school::")


def test_it_resolves_auto_hyperparameters(sandbox_client):
    job = _create(sandbox_client, method={"type": "supervised", "supervised": {"hyperparameters": {"batch_size": 2}}})

    hyperparameters = job.method.supervised.hyperparameters
    assert (hyperparameters.n_epochs, hyperparameters.batch_size) == (10, 2)  # 100 // 10 examples
    assert hyperparameters.learning_rate_multiplier > 0


def test_it_reports_metrics_with_falling_loss_and_validation_loss(sandbox_client):
    training = upload_jsonl(sandbox_client, sample_lines())
    validation = upload_jsonl(sandbox_client, sample_lines(12), name="valid.jsonl")
    job = sandbox_client.fine_tuning.jobs.create(
        model=BASE_MODEL, training_file=training.id, validation_file=validation.id
    )

    events = list(sandbox_client.fine_tuning.jobs.list_events(job.id, limit=100))
    metrics = [event.data for event in reversed(events) if event.type == "metrics"]

    assert [m["step"] for m in metrics] == list(range(1, metrics[0]["total_steps"] + 1))
    assert metrics[-1]["train_loss"] < metrics[0]["train_loss"]
    assert all("valid_loss" in m for m in metrics)


def test_it_lists_events_newest_first_in_lifecycle_order(sandbox_client):
    job = _create(sandbox_client)

    messages = [event.message for event in sandbox_client.fine_tuning.jobs.list_events(job.id, limit=200)]

    lifecycle = [m for m in reversed(messages) if not m.startswith(("Step ", "Checkpoint"))]
    assert lifecycle == [
        f"Created fine-tuning job: {job.id}",
        f"Validating training file: {job.training_file}",
        "Files validated, moving job to queued state",
        "Fine-tuning job started",
        lifecycle[4],
        "The job has successfully completed",
    ]
    assert lifecycle[4].startswith("New fine-tuned model created: ft:")


def test_it_keeps_checkpoints_of_the_last_three_epochs(sandbox_client):
    job = sandbox_client.fine_tuning.jobs.retrieve(_create(sandbox_client).id)

    checkpoints = sandbox_client.fine_tuning.jobs.checkpoints.list(job.id).data

    assert [c.step_number for c in checkpoints] == [100, 90, 80]
    assert checkpoints[0].fine_tuned_model_checkpoint == f"{job.fine_tuned_model}:ckpt-step-100"
    assert checkpoints[0].metrics.train_loss is not None


def test_it_trains_dpo(sandbox_client):
    lines = [dpo_line(f"Question {n} about loops?", f"Good answer {n}.", "Bad answer.") for n in range(10)]
    training = sandbox_client.files.create(file=("dpo.jsonl", jsonl(lines)), purpose="fine-tune")

    job = sandbox_client.fine_tuning.jobs.create(
        model=BASE_MODEL, training_file=training.id, method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2}}}
    )
    job = sandbox_client.fine_tuning.jobs.retrieve(job.id)

    assert job.status == "succeeded"
    assert job.method.dpo.hyperparameters.beta == 0.2


def test_it_lists_jobs_filtered_by_metadata(sandbox_client):
    mine = _create(sandbox_client, metadata={"gradcap_run": "41"})
    _create(sandbox_client, metadata={"gradcap_run": "42"})

    found = sandbox_client.fine_tuning.jobs.list(metadata={"gradcap_run": "41"}).data

    assert [job.id for job in found] == [mine.id]
    assert found[0].metadata == {"gradcap_run": "41"}


def test_it_moves_through_the_lifecycle_as_time_passes(sandbox_client, paced):
    job = _create(sandbox_client)
    assert sandbox_client.fine_tuning.jobs.retrieve(job.id).status == "validating_files"

    job_age(job.id, 15)
    assert sandbox_client.fine_tuning.jobs.retrieve(job.id).status == "queued"

    job_age(job.id, 45)  # 60 % of the way: half of the steps are done
    running = sandbox_client.fine_tuning.jobs.retrieve(job.id)
    steps = [e.data["step"] for e in sandbox_client.fine_tuning.jobs.list_events(job.id, limit=100) if e.data]
    assert running.status == "running"
    assert running.estimated_finish > running.created_at
    assert max(steps) == 50

    job_age(job.id, 40)
    assert sandbox_client.fine_tuning.jobs.retrieve(job.id).status == "succeeded"


def test_it_pauses_and_resumes_a_running_job(sandbox_client, paced):
    job = _create(sandbox_client)
    job_age(job.id, 60)

    paused = sandbox_client.fine_tuning.jobs.pause(job.id)
    job_age(job.id, 500)  # time passes while paused: the job does not move
    still_paused = sandbox_client.fine_tuning.jobs.retrieve(job.id)
    resumed = sandbox_client.fine_tuning.jobs.resume(job.id)

    assert (paused.status, still_paused.status, resumed.status) == ("paused", "paused", "running")
    messages = [event.message for event in sandbox_client.fine_tuning.jobs.list_events(job.id, limit=5).data]
    assert messages[:2] == ["Fine-tuning job resumed", "Fine-tuning job paused"]


def test_it_finishes_a_resumed_job_after_its_remaining_time(sandbox_client, paced):
    job = _create(sandbox_client)
    job_age(job.id, 60)
    sandbox_client.fine_tuning.jobs.pause(job.id)
    job_age(job.id, 500)
    sandbox_client.fine_tuning.jobs.resume(job.id)

    job_age(job.id, 30)
    assert sandbox_client.fine_tuning.jobs.retrieve(job.id).status == "running"
    job_age(job.id, 15)
    assert sandbox_client.fine_tuning.jobs.retrieve(job.id).status == "succeeded"


def test_it_cancels_a_job(sandbox_client, paced):
    job = _create(sandbox_client)

    cancelled = sandbox_client.fine_tuning.jobs.cancel(job.id)
    job_age(job.id, 500)

    assert cancelled.status == "cancelled"
    assert sandbox_client.fine_tuning.jobs.retrieve(job.id).status == "cancelled"
    assert sandbox_client.fine_tuning.jobs.list_events(job.id).data[0].message == "Fine-tuning job cancelled"


def test_it_refuses_to_cancel_a_finished_job(sandbox_client):
    job = _create(sandbox_client)
    sandbox_client.fine_tuning.jobs.retrieve(job.id)

    with pytest.raises(openai.ConflictError) as caught:
        sandbox_client.fine_tuning.jobs.cancel(job.id)

    assert caught.value.body["code"] == "invalid_job_state"


def test_it_refuses_to_pause_a_job_that_is_not_running(sandbox_client, paced):
    job = _create(sandbox_client)

    with pytest.raises(openai.ConflictError):
        sandbox_client.fine_tuning.jobs.pause(job.id)
    with pytest.raises(openai.ConflictError):
        sandbox_client.fine_tuning.jobs.resume(job.id)


def test_it_answers_404_for_an_unknown_job(sandbox_client):
    with pytest.raises(openai.NotFoundError) as caught:
        sandbox_client.fine_tuning.jobs.retrieve("ftjob-nope")

    assert caught.value.body["type"] == "invalid_request_error"
    assert "ftjob-nope" in caught.value.body["message"]


def test_it_teaches_the_tuned_model_over_http(live_sandbox_client):
    """End to end over a real server: upload, train, poll to succeeded, ask the tuned model."""
    client = live_sandbox_client
    job = _create(client, suffix="course")
    while job.status not in ("succeeded", "failed"):
        job = client.fine_tuning.jobs.retrieve(job.id)

    answer = client.responses.create(model=job.fine_tuned_model, input="Remind me: what are dictionaries for?")

    assert job.status == "succeeded"
    assert answer.output_text == "Dictionaries are taught in week 3."
