"""▶ on a self-hosted trained model: before its server can load it, and on vLLM's runtime adapters.
(Serving on a real model server, ▶ to the learner's chat: tests/browser/test_self_hosted_serving.py.)"""

import json
import shutil

import pytest
from django.urls import reverse

from assistants.engine import chat_complete
from assistants.events import Completed
from assistants.models import Assistant
from assistants.services import assistant_create
from finetune.models import Run
from llm import serving as llm_serving
from llm.models import Provider
from sandbox.models import LoraAdapter
from tests.fixtures.servers import run_async
from tests.fixtures.training import FACTS, dataset_of, fact_rows, job_of, start
from training import files, serving
from training.models import TrainingJob

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


def test_it_activation_waits_for_the_merged_model_and_says_so(
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


def test_it_vllm_adapters_are_registered_by_activation_and_again_after_a_restart(
    asgi_server, course, curator, self_hosted, smol, tmp_path, settings
):
    """The vLLM way, against the sandbox's vLLM-style /v1/load_lora_adapter: ▶'s preparation publishes
    the adapter and registers it (twice is fine); a server that restarted forgot it, and the next chat
    registers it again and answers."""
    name = "ft:SmolLM2-135M-Instruct:self-hosted:test:0123456789ab"
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8}))
    (adapter / "adapter_model.safetensors").write_bytes(b"weights")
    files.tree_upload(adapter, "jobs/test/adapter")
    TrainingJob.objects.create(
        provider=self_hosted,
        base_model=smol,
        method="supervised",
        training_file_id="file-x",
        status=TrainingJob.Status.SUCCEEDED,
        fine_tuned_model=name,
        adapter_path="jobs/test/adapter",
    )
    served = tmp_path / "vllm-adapters"
    self_hosted.base_url = f"{asgi_server.url}/sandbox/v1/"
    self_hosted.serving = Provider.Serving.VLLM_LORA
    self_hosted.serving_dir = str(served)
    self_hosted.set_api_key(settings.SANDBOX_API_KEY)
    self_hosted.max_retries = 0
    self_hosted.full_clean()
    self_hosted.save()

    serving.model_serve(provider=self_hosted, model=name)
    assert (served / name / "adapter_config.json").exists()
    assert LoraAdapter.objects.get(name=name).path == str(served / name)
    serving.model_serve(provider=self_hosted, model=name)  # idempotent: already loaded is fine

    LoraAdapter.objects.all().delete()  # the server restarted
    tutor = assistant_create(course=course, name="Tutor", provider=self_hosted, model=name, user=curator)
    tutor = Assistant.objects.select_related("provider", "course").get(pk=tutor.pk)
    done = run_async(lambda: chat_complete(assistant=tutor, history=[{"role": "user", "content": "Hello"}]))
    assert isinstance(done, Completed) and done.turn.text and done.turn.wire_api == "chat_completions"
    assert LoraAdapter.objects.filter(name=name).exists()

    # A model not trained here, or an adapter the server cannot find: refused, with the reason.
    with pytest.raises(serving.ServingError, match="was not trained on this provider"):
        serving.model_serve(provider=self_hosted, model="ft:SmolLM2-135M-Instruct:self-hosted:test:ffffffffffff")
    shutil.rmtree(served / name)
    LoraAdapter.objects.all().delete()
    (served / name).mkdir()  # there, but empty (a volume half copied): the server's words come back
    with pytest.raises(serving.ServingError, match="No adapter found"):
        llm_serving.adapter_register(self_hosted, name, served / name)
