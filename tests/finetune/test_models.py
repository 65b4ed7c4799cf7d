"""Trained models: ▶ activate, history, rollback, warnings; evaluation and blind review."""

import datetime
import re

import pytest
from django.urls import reverse

from assistants.notices import assistant_notices
from finetune import activation, tasks
from finetune import evaluation as evaluations
from finetune.models import Activation, Evaluation, EvaluationItem, Run
from finetune.selectors import shutdown_warnings
from llm.models import Provider
from tests.conftest import stalled
from tests.finetune.conftest import BASE_MODEL, running_evaluation, trained_model
from training.models import BaseModel


@pytest.fixture
def trained(dataset, provider, curator):
    return trained_model(dataset, provider, curator)


def test_it_activate_then_roll_back(client, course, curator, trained, dataset, make_sandbox_client, asgi_server):
    assistant = dataset.assistant
    client.force_login(curator)
    response = client.post(
        reverse("finetune:model_activate", args=[course.slug, trained.pk]), {"assistant": assistant.pk}
    )
    assert response.status_code == 302
    assistant.refresh_from_db()
    assert assistant.model == trained.name

    sandbox = make_sandbox_client(asgi_server.url)
    answer = sandbox.responses.create(model=assistant.model, input="What are loops for?").output_text
    assert re.fullmatch(r"Loops are taught in week \d+\.", answer)  # a curated answer, word for word

    page = client.get(trained.get_absolute_url()).content.decode()
    assert "this model" in page and "Roll back" in page and curator.email in page

    client.post(reverse("finetune:rollback", args=[course.slug, assistant.pk]))
    assistant.refresh_from_db()
    assert assistant.model == BASE_MODEL
    history = list(Activation.objects.order_by("pk"))
    assert [(a.from_model, a.to_model, a.is_rollback) for a in history] == [
        (BASE_MODEL, trained.name, False),
        (trained.name, BASE_MODEL, True),
    ]


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_it_rollback_goes_back_only_to_a_page_of_this_site(client, course, curator, trained, dataset, next_url):
    activation.model_activate(trained_model=trained, assistant=dataset.assistant, user=curator)
    client.force_login(curator)
    url = reverse("finetune:rollback", args=[course.slug, dataset.assistant.pk])
    response = client.post(url, {"next": next_url})
    assert response.status_code == 302 and response["Location"] == reverse("finetune:runs", args=[course.slug])
    page = dataset.assistant.get_absolute_url()
    activation.model_activate(trained_model=trained, assistant=dataset.assistant, user=curator)
    assert client.post(url, {"next": page})["Location"] == page


def test_it_a_model_that_stops_serving_offers_to_train_its_snapshot_elsewhere(
    client, course, curator, trained, dataset
):
    """gpt-4.1-mini and its fine-tunes stop serving on 2027-01-14: the assistant's page and the
    playground say so, with one click to train the same snapshot on the school's own hosts."""
    ours = Provider.objects.create(name="Our GPUs", kind=Provider.Kind.SELF_HOSTED, base_url="http://127.0.0.1:9/v1/")
    BaseModel.objects.create(provider=ours, name="SmolLM2-135M-Instruct", source="/models/smol", context_length=8192)
    assistant = dataset.assistant
    activation.model_activate(trained_model=trained, assistant=assistant, user=curator)
    client.force_login(curator)
    label = "Train the same snapshot on Our GPUs (SmolLM2-135M-Instruct)"
    for url in (assistant.get_absolute_url(), reverse("dialogs:playground_index", args=[course.slug])):
        page = client.get(url).content.decode()
        assert "stop serving on 2027-01-14" in page or "stopped serving on 2027-01-14" in page
        assert label in page
    assert "Train the same snapshot on Sandbox" not in page  # the provider it is leaving

    response = client.post(
        reverse("finetune:run_action", args=[course.slug, trained.run_id, "retrain"]),
        {"provider": ours.pk, "base_model": "SmolLM2-135M-Instruct"},
        follow=True,
    )
    new = Run.objects.latest("pk")
    assert new.snapshot_id == trained.run.snapshot_id and new.provider == ours
    assert new.base_model == "SmolLM2-135M-Instruct" and new.hyperparameters == {}
    assert "The same snapshot is training on Our GPUs (SmolLM2-135M-Instruct)." in response.content.decode()

    # A base model the provider does not have, or a provider that does not train: refused.
    response = client.post(
        reverse("finetune:run_action", args=[course.slug, trained.run_id, "retrain"]),
        {"provider": ours.pk, "base_model": "Llama-70B"},
        follow=True,
    )
    assert "Llama-70B is not a base model of this provider." in response.content.decode()
    assert Run.objects.count() == 2
    plain = Provider.objects.create(name="Plain", kind=Provider.Kind.OPENAI_COMPATIBLE, base_url="http://x/v1/")
    url = reverse("finetune:run_action", args=[course.slug, trained.run_id, "retrain"])
    assert client.post(url, {"provider": plain.pk, "base_model": "x"}).status_code == 404


def test_it_warns_when_the_instructions_changed_since_the_snapshot(client, course, curator, trained, dataset):
    assistant = dataset.assistant
    activation.model_activate(trained_model=trained, assistant=assistant, user=curator)
    assert not any("another prompt" in notice.text for notice in assistant_notices(assistant))
    assistant.refresh_from_db()
    assistant.instructions = "Answer at length, with examples."
    assistant.save()
    assert any("another prompt" in notice.text for notice in assistant_notices(assistant))
    client.force_login(curator)
    assert "data-drift" in client.get(trained.get_absolute_url()).content.decode()
    assert "another prompt" in client.get(assistant.get_absolute_url()).content.decode()


def test_it_warns_when_the_shutdown_is_near_or_past(trained):
    assert shutdown_warnings(trained.name, trained.base_model, today=datetime.date(2026, 6, 1)) == []
    assert "stop serving on" in shutdown_warnings(trained.name, trained.base_model, today=datetime.date(2026, 12, 1))[0]
    assert "stopped serving" in shutdown_warnings(trained.name, trained.base_model, today=datetime.date(2027, 2, 1))[0]


def test_it_an_evaluation_answers_with_both_models_and_reviews_blind(client, course, curator, trained):
    client.force_login(curator)
    response = client.post(reverse("finetune:evaluation_new", args=[course.slug, trained.pk]))
    evaluation = trained.evaluations.get()
    assert response["Location"] == reverse("finetune:evaluation", args=[course.slug, evaluation.pk])
    assert (evaluation.status, evaluation.error) == ("done", "")
    assert evaluation.done == evaluation.total == trained.run.snapshot.validation_examples
    items = list(evaluation.items.all())
    assert all(item.base_answer and item.tuned_answer and item.base_answer != item.tuned_answer for item in items)
    assert {item.tuned_first for item in items} == {True, False}  # the order is drawn per item

    url = reverse("finetune:evaluation", args=[course.slug, evaluation.pk])
    for _ in items:
        page = client.get(url).content.decode()
        item = EvaluationItem.objects.get(pk=int(page.split('name="item" value="')[1].split('"')[0]))
        choice = "first" if item.tuned_first else "second"  # always pick the tuned answer
        client.post(url, {"item": item.pk, "choice": choice})
    assert "Every answer pair is judged" in client.get(url).content.decode()
    assert set(evaluation.items.values_list("verdict", flat=True)) == {"tuned"}
    assert "Tuned model better in 100%" in client.get(trained.get_absolute_url()).content.decode()


def test_it_a_waiting_review_page_reloads_once_there_is_a_pair_to_judge(client, course, curator, trained):
    evaluation = running_evaluation(trained, curator, ["What are loops for?"])
    url = reverse("finetune:evaluation", args=[course.slug, evaluation.pk])
    client.force_login(curator)
    page = client.get(url).content.decode()
    assert "?waiting=1" in page and "appears here as soon as" in page

    poll = client.get(url, {"waiting": "1"}, headers={"HX-Request": "true"})
    assert "HX-Refresh" not in poll
    assert "0 of 1 examples answered" in poll.content.decode()

    evaluations.evaluation_answer(evaluation_id=evaluation.pk)

    assert client.get(url, {"waiting": "1"}, headers={"HX-Request": "true"})["HX-Refresh"] == "true"
    # A page already showing a pair polls without "waiting" and is never reloaded under the curator.
    assert "HX-Refresh" not in client.get(url, headers={"HX-Request": "true"})
    assert 'name="item"' in client.get(url).content.decode()


def test_it_an_evaluation_whose_task_was_lost_is_answered_by_the_sweep_once(course, curator, trained):
    evaluation = running_evaluation(trained, curator, ["What are loops for?", "What is a list?"])
    assert tasks.work_recover() == 0  # just started: its own task may still come
    Evaluation.objects.filter(pk=evaluation.pk).update(updated_at=stalled())

    assert tasks.work_recover() == 1  # queued again (tests run tasks inline)

    evaluation.refresh_from_db()
    assert (evaluation.status, evaluation.done, evaluation.total) == ("done", 2, 2)
    evaluations.evaluation_answer(evaluation_id=evaluation.pk)  # a late duplicate delivery
    evaluation.refresh_from_db()
    assert (evaluation.status, evaluation.done) == ("done", 2)
    assert all(item.base_answer and item.tuned_answer for item in evaluation.items.all())
