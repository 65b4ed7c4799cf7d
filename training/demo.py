"""The demo's self-hosted provider: this machine trains (the trainer's environment and the SmolLM2
base model come from bin/setup-trainer) and serves, with the model server that bin/demo starts."""

from django.conf import settings

from llm.models import Provider

from . import services
from .models import BaseModel

PROVIDER_NAME = "This machine (self-hosted)"
MODEL_NAME = "SmolLM2-135M-Instruct"


def load(*, stdout) -> None:
    provider, _ = Provider.objects.get_or_create(
        name=PROVIDER_NAME,
        defaults={"kind": Provider.Kind.SELF_HOSTED, "base_url": settings.TRAINING_DEMO_SERVER_URL},
    )
    if not provider.serving:
        # bin/demo's model server (bin/model-server) loads model directories: the base model's
        # folder is the serving directory, and ▶ publishes trained models beside it.
        provider.serving = Provider.Serving.MODEL_DIRECTORY
        provider.serving_dir = str(settings.TRAINING_DEMO_MODEL_DIR.resolve().parent)
        provider.save(update_fields=["serving", "serving_dir", "updated_at"])
    if BaseModel.objects.filter(provider=provider, name=MODEL_NAME).exists():
        return
    source = str(settings.TRAINING_DEMO_MODEL_DIR)
    try:
        checked = services.base_model_check(source=source)
    except services.JobError as error:
        stdout.write(f"Self-hosted training is not ready ({error.message}); bin/setup-trainer prepares it.")
        return
    BaseModel.objects.create(
        provider=provider,
        name=MODEL_NAME,
        source=source,
        context_length=checked.get("context_length"),
        architecture=checked.get("architecture", ""),
        parameters=checked.get("parameters"),
        fingerprint=checked.get("fingerprint", ""),
    )
    stdout.write(f"Self-hosted training: {PROVIDER_NAME} trains {MODEL_NAME} on this machine's CPU.")
