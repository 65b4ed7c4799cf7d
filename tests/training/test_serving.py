"""▶ on a self-hosted trained model before its server can load it. (Serving on a real model server,
▶ to the learner's chat: tests/browser/test_self_hosted_serving.py.)"""

from django.urls import reverse

from finetune.models import Run
from llm.models import Provider
from tests.fixtures.training import FACTS, dataset_of, fact_rows, job_of, start

TAUGHT = FACTS[:2]


def _served_provider(provider: Provider, url: str, serving_dir) -> Provider:
    provider.base_url = url
    provider.serving = Provider.Serving.MODEL_DIRECTORY
    provider.serving_dir = str(serving_dir)
    provider.timeout_seconds = 120  # the server loads a model at its first request
    provider.max_retries = 0
    provider.full_clean()
    provider.save()
    return provider


def test_activation_waits_for_the_merged_model_and_says_so(
    client, course, curator, tutor, smol, work_dir, tmp_path, django_capture_on_commit_callbacks
):
    """A model server that loads model directories needs the merged model; until a training host
    has made it, ▶ asks for it and says what is happening, and the assistant keeps its model."""
    dataset = dataset_of(course, curator, fact_rows(TAUGHT[:1]), assistant=tutor)
    run = start(dataset, tutor.provider, curator, django_capture_on_commit_callbacks, n_epochs=1, batch_size=1)
    assert run.status == Run.Status.SUCCEEDED, run.error
    _served_provider(tutor.provider, "http://127.0.0.1:9/v1/", tmp_path / "served")  # no merge was made
    client.force_login(curator)
    url = reverse("finetune:model_activate", args=[course.slug, run.trained_model.pk])
    page = client.post(url, {"assistant": tutor.pk}, follow=True).content.decode()
    assert "A training host is merging the adapter into the base model" in page
    assert job_of(run).merge_status == "queued"
    tutor.refresh_from_db()
    assert tutor.model == smol.name
