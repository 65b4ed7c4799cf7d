"""Learners, strangers and other courses' curators get 404 on every fine-tuning URL, GET and POST."""

import pytest
from django.urls import reverse

from finetune import activation, evaluation, tracking
from finetune.models import Run
from tests.finetune.conftest import start_run


@pytest.fixture
def world(course, curator, dataset, provider):
    run = start_run(dataset, provider, curator)
    run = tracking.run_sync(run=Run.objects.select_related("provider", "course").get(pk=run.pk))
    trained = run.trained_model
    assistant = dataset.assistant
    activation.model_activate(trained_model=trained, assistant=assistant, user=curator)
    review = evaluation.evaluation_start(trained_model=trained, user=curator)
    slug = course.slug
    get, post, both = ("GET",), ("POST",), ("GET", "POST")
    return [
        (reverse("finetune:runs", args=[slug]), get),
        (reverse("finetune:run_new", args=[slug, dataset.pk]), both),
        (reverse("finetune:run", args=[slug, run.pk]), get),
        (reverse("finetune:run_refresh", args=[slug, run.pk]), post),
        (reverse("finetune:run_action", args=[slug, run.pk, "cancel"]), post),
        (reverse("finetune:run_action", args=[slug, run.pk, "rerun"]), post),
        (reverse("finetune:snapshot_download", args=[slug, run.snapshot.pk, "train"]), get),
        (reverse("finetune:model", args=[slug, trained.pk]), get),
        (reverse("finetune:model_activate", args=[slug, trained.pk]), post),
        (reverse("finetune:evaluation_new", args=[slug, trained.pk]), post),
        (reverse("finetune:rollback", args=[slug, assistant.pk]), post),
        (reverse("finetune:evaluation", args=[slug, review.pk]), both),
    ]


@pytest.mark.parametrize("who", ["learner", "other_curator", "stranger"])
def test_it_outsiders_get_404_everywhere(client, world, who, request):
    client.force_login(request.getfixturevalue(who))
    for url, methods in world:
        if "GET" in methods:
            assert client.get(url).status_code == 404, url
        if "POST" in methods:
            assert client.post(url, {"assistant": 1, "choice": "tie", "item": 1}).status_code == 404, url
    assert Run.objects.count() == 1  # nothing was started, cancelled or run again


def test_it_curators_reach_them(client, world, curator):
    client.force_login(curator)
    for url, methods in world:
        if "GET" in methods:
            assert client.get(url).status_code == 200, url


def test_it_an_assistant_of_another_course_cannot_be_activated(client, world, curator, other_course, provider):
    from assistants.services import assistant_create

    foreign = assistant_create(course=other_course, name="Other", provider=provider, model="gpt-4.1-mini")
    client.force_login(curator)
    model_url = next(url for url, _methods in world if url.endswith("/activate/"))
    assert client.post(model_url, {"assistant": foreign.pk}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.model == "gpt-4.1-mini"
