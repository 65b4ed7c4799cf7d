"""Examples with images meet a model that cannot train on them: the start page refuses in plain
words before anything is frozen or sent; a model that trains on images gets them."""

import pytest
from django.urls import reverse

from dialogs.datasets import services as curation
from finetune import tracking
from finetune.models import Run, Snapshot
from llm.models import Provider
from tests.finetune.conftest import example_rows, served_provider, set_aside_for_validation
from tests.fixtures.images import image_data_url
from training.models import BaseModel, TrainingJob

TEXT_MODEL = "SmolLM2-135M-Instruct"
VISION_MODEL = "gpt-4o-2024-08-06"  # trains on images at Azure and at the sandbox (llm.catalog)


def image_row(n: int = 0) -> dict:
    question = [
        {"type": "text", "text": f"What colour is this slide? (slide {n})"},
        {"type": "image_url", "image_url": {"url": image_data_url((32, 32), (200, 20 * n, 20)), "detail": "low"}},
    ]
    return {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": f"Red, {n}."}]}


def dataset_with(course, curator, rows, *, name="Slides"):
    dataset = curation.dataset_create(course=course, name=name, user=curator)
    curation.examples_create(dataset=dataset, rows=rows, user=curator, summary="test")
    return dataset


def post_start(client, course, dataset, provider, base_model):
    url = reverse("finetune:run_new", args=[course.slug, dataset.pk])
    data = {"provider": provider.pk, "base_model": base_model, "method": "supervised", "suffix": "slides"}
    return client.post(url, data)


def assert_nothing_started():
    assert Run.objects.count() == 0 and Snapshot.objects.count() == 0 and TrainingJob.objects.count() == 0


@pytest.fixture
def text_model(self_hosted) -> BaseModel:
    """A self-hosted base model not registered as seeing images (nothing trains it here)."""
    return BaseModel.objects.create(provider=self_hosted, name=TEXT_MODEL, source="/srv/models/smol")


def test_it_refuses_images_for_a_self_hosted_base_model_that_does_not_see_them(
    client, course, curator, self_hosted, text_model
):
    dataset = dataset_with(course, curator, [image_row(), *example_rows(2)])
    client.force_login(curator)
    response = post_start(client, course, dataset, self_hosted, TEXT_MODEL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Training cannot start" in body
    assert f"{TEXT_MODEL} is not registered as a base model that sees images" in body
    assert_nothing_started()
    # The page says it before the button is pressed, and the button is off.
    choice = {"provider": self_hosted.pk, "base_model": TEXT_MODEL, "method": "supervised"}
    page = client.get(response.request["PATH_INFO"], choice).content.decode()
    assert "is not registered as a base model that sees images" in page
    assert '<button type="submit" disabled>Start training</button>' in page


def test_it_starts_a_text_dataset_on_the_same_self_hosted_base_model(client, course, curator, self_hosted, text_model):
    dataset = dataset_with(course, curator, example_rows(3))
    client.force_login(curator)
    response = post_start(client, course, dataset, self_hosted, TEXT_MODEL)
    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()
    assert run.base_model == TEXT_MODEL
    assert run.snapshot.training_examples + run.snapshot.validation_examples == 3  # the split draws by pk


def test_it_lets_images_through_to_a_base_model_registered_as_seeing_them(
    client, course, curator, self_hosted, text_model
):
    text_model.multimodal = True  # the trainer then refuses them itself (tests/training/test_failures.py)
    text_model.save()
    dataset = dataset_with(course, curator, [image_row()])
    client.force_login(curator)
    assert post_start(client, course, dataset, self_hosted, TEXT_MODEL).status_code == 302
    assert Run.objects.get().status == Run.Status.NOT_SUBMITTED


def test_it_refuses_images_for_a_hosted_model_that_does_not_train_on_them(client, course, curator):
    # GPT-4.1 trains on images at Azure OpenAI, not at OpenAI: nothing is sent to OpenAI (no network here).
    openai = Provider.objects.create(name="OpenAI", kind=Provider.Kind.OPENAI)
    dataset = dataset_with(course, curator, [image_row(n) for n in range(3)] + example_rows(9))
    client.force_login(curator)
    response = post_start(client, course, dataset, openai, "gpt-4.1-2025-04-14")
    assert response.status_code == 200
    assert "GPT-4.1 cannot be fine-tuned on images at OpenAI; 3 examples hold images." in response.content.decode()
    assert_nothing_started()


def test_it_sends_images_to_a_hosted_model_that_trains_on_them(
    client, course, curator, asgi_server, self_hosted, text_model
):
    sandbox = served_provider(asgi_server.url)
    dataset = dataset_with(course, curator, [image_row(n) for n in range(4)] + example_rows(30))
    set_aside_for_validation(dataset)
    client.force_login(curator)
    # GPT-4.1 mini sees images but trains on them nowhere.
    refused = post_start(client, course, dataset, sandbox, "gpt-4.1-mini-2025-04-14")
    assert "cannot be fine-tuned on images" in refused.content.decode()
    assert_nothing_started()

    response = post_start(client, course, dataset, sandbox, VISION_MODEL)
    assert response.status_code == 302
    run = tracking.run_sync(run=Run.objects.select_related("provider", "course").get())
    assert run.status == Run.Status.SUCCEEDED, run.error  # the sandbox validated the images and trained
    assert b'"image_url"' in run.snapshot.training_file.open("rb").read()

    # The same snapshot cannot go on to a self-hosted model that does not see images.
    url = reverse("finetune:run_action", args=[course.slug, run.pk, "retrain"])
    response = client.post(url, {"provider": self_hosted.pk, "base_model": TEXT_MODEL}, follow=True)
    assert f"{TEXT_MODEL} is not registered as a base model that sees images" in response.content.decode()
    assert Run.objects.count() == 1
