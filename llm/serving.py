"""Model servers that gradcap asks to serve a model: the check that a model answers, and vLLM's
runtime LoRA adapters (registered by ▶, and again when the server restarted and forgot them).
Publishing a trained model's files is the training app's part (training/serving.py)."""

import logging
from pathlib import Path

import openai
from django.utils.translation import gettext as _

from .clients import client_for
from .models import Provider

logger = logging.getLogger(__name__)

PROBE_MESSAGES = [{"role": "user", "content": "Hello"}]


class ServingError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def adapter_register(provider: Provider, model: str, path: Path) -> None:
    """Ask a vLLM server to load the adapter at `path` (on its side) as `model`."""
    client = client_for(provider, max_retries=1)
    try:
        client.post("/load_lora_adapter", body={"lora_name": model, "lora_path": str(path)}, cast_to=str)
    except openai.APIError as error:
        # vLLM answers 400 "The lora adapter '…' has already been loaded." to a second registration.
        if not (isinstance(error, openai.BadRequestError) and "already" in str(error).lower()):
            raise ServingError(_("The model server refused the adapter: %(error)s") % {"error": error}) from error


def probe(provider: Provider, model: str) -> None:
    """One short request; ServingError with the server's words when it does not answer."""
    client = client_for(provider, max_retries=0)
    try:
        client.chat.completions.create(model=provider.wire_model(model), messages=PROBE_MESSAGES, max_tokens=1)
    except openai.APIError as error:
        raise ServingError(
            _("The model server did not answer with %(model)s: %(error)s") % {"model": model, "error": error}
        ) from error


def adapter_reload(*, provider: Provider, model: str) -> bool:
    """A vLLM server that restarted forgot its runtime adapters: register `model` again (True if done)."""
    if provider.serving != Provider.Serving.VLLM_LORA or not provider.serving_dir:
        return False
    target = Path(provider.serving_dir) / model
    if not (target / "adapter_config.json").exists():
        return False
    try:
        adapter_register(provider, model, target)
    except ServingError:
        logger.warning("Registering %s again with %s failed", model, provider.name, exc_info=True)
        return False
    return True
