"""Start training from a dataset page, then follow the run: 🔄, events, loss chart, checkpoints."""

import pytest
from django.urls import reverse

from dialogs.datasets import services as curation
from finetune.models import Run, Snapshot
from llm.models import Provider
from tests.finetune.conftest import BASE_MODEL, set_aside_for_validation


def _start_url(course, dataset):
    return reverse("finetune:run_new", args=[course.slug, dataset.pk])


def test_it_shows_token_totals_and_the_estimated_cost_before_starting(client, course, curator, dataset):
    client.force_login(curator)
    response = client.get(_start_url(course, dataset))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="estimate"' in body and "Estimated cost" in body
    assert "$0." in body  # a few thousand tokens at gpt-4.1-mini's price
    assert "gpt-4o-mini-2024-07-18" in body  # the sandbox's tunable models, with shutdown dates
    assert "Jan. 14, 2027" in body
    assert Run.objects.count() == 0  # nothing starts on GET


def test_it_shows_openais_end_of_new_jobs_for_an_openai_provider(client, course, curator, dataset):
    openai = Provider.objects.create(name="OpenAI", kind=Provider.Kind.OPENAI)
    client.force_login(curator)
    response = client.get(
        _start_url(course, dataset), {"provider": openai.pk, "base_model": BASE_MODEL, "method": "supervised"}
    )
    body = response.content.decode()
    assert "no new fine-tuning jobs after Jan. 6, 2027" in body
    assert "gpt-4o-mini-2024-07-18" not in body  # not tunable at OpenAI any more


def test_it_blocking_errors_stop_training(client, course, curator, dataset):
    dataset.examples.update(status="draft")  # nothing ready: fewer than 10 examples
    client.force_login(curator)
    data = {"provider": dataset.assistant.provider.pk, "base_model": BASE_MODEL, "method": "supervised"}
    response = client.post(_start_url(course, dataset), data)
    assert response.status_code == 200
    assert "Training cannot start" in response.content.decode()
    assert Run.objects.count() == 0


def test_it_starts_a_run_and_follows_it_to_success(client, course, curator, dataset):
    set_aside_for_validation(dataset)
    client.force_login(curator)
    data = {
        "provider": dataset.assistant.provider.pk,
        "base_model": BASE_MODEL,
        "method": "supervised",
        "suffix": "tutor",
    }
    response = client.post(_start_url(course, dataset), data)
    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    assert run.job_id and run.training_file_id and run.validation_file_id  # submitted by the task
    snapshot = run.snapshot
    assert snapshot.training_examples + snapshot.validation_examples == 60
    assert snapshot.instructions == "Answer briefly."

    response = client.post(reverse("finetune:run_refresh", args=[course.slug, run.pk]), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert 'data-status="succeeded"' in body
    assert 'id="loss-chart"' in body and 'class="valid"' in body  # validation loss too
    assert "New fine-tuned model created" in body
    assert 'id="checkpoints"' in body
    run.refresh_from_db()
    assert run.step == run.total_steps > 0
    assert run.trained_tokens > 0 and run.fine_tuned_model.startswith(f"ft:{BASE_MODEL}:")
    assert run.trained_model.name == run.fine_tuned_model
    assert client.get(run.get_absolute_url()).status_code == 200


def test_it_the_snapshot_can_be_downloaded_and_matches_its_sha256(client, course, curator, dataset, provider):
    import hashlib

    from tests.finetune.conftest import start_run

    run = start_run(dataset, provider, curator)
    client.force_login(curator)
    response = client.get(reverse("finetune:snapshot_download", args=[course.slug, run.snapshot.pk, "train"]))
    content = b"".join(response.streaming_content)
    assert hashlib.sha256(content).hexdigest() == run.snapshot.training_sha256
    assert content.count(b"\n") == run.snapshot.training_examples
    assert Snapshot.objects.count() == 1


@pytest.mark.parametrize("url_name", ["finetune:runs"])
def test_it_the_training_tab_lists_runs(client, course, curator, dataset, provider, url_name):
    from tests.finetune.conftest import start_run

    run = start_run(dataset, provider, curator)
    client.force_login(curator)
    body = client.get(reverse(url_name, args=[course.slug])).content.decode()
    assert f'id="run-{run.pk}"' in body


def test_it_too_few_validation_examples_are_trained_on(client, course, curator, dataset):
    dataset.validation_percent = 5  # about 3 of 60: too few for a validation file
    dataset.save()
    client.force_login(curator)
    data = {"provider": dataset.assistant.provider.pk, "base_model": BASE_MODEL, "method": "supervised"}
    body = client.get(_start_url(course, dataset), data).content.decode()
    assert "fewer than 10, so they are trained on" in body
    client.post(_start_url(course, dataset), data)
    snapshot = Run.objects.get().snapshot
    assert (snapshot.training_examples, snapshot.validation_examples) == (60, 0)
    assert not snapshot.validation_file


def test_it_dpo_beta_is_asked_for_preference_training_only(client, course, curator, assistant):
    dataset = curation.dataset_create(course=course, name="Pairs", user=curator, assistant=assistant)
    pairs = [
        {
            "messages": [
                {"role": "user", "content": f"Question {n}?"},
                {"role": "assistant", "content": f"A better answer {n}.", "original": "I do not know."},
            ]
        }
        for n in range(12)
    ]
    curation.examples_create(dataset=dataset, rows=pairs, user=curator, summary="pairs")
    client.force_login(curator)
    data = {"provider": assistant.provider.pk, "base_model": BASE_MODEL}

    supervised = client.get(_start_url(course, dataset), {**data, "method": "supervised"}).content.decode()
    preference = client.get(_start_url(course, dataset), {**data, "method": "dpo"}).content.decode()

    assert "DPO beta" not in supervised
    assert "DPO beta" in preference
