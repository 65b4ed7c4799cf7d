"""Serving a self-hosted trained model: what ▶ does before an assistant switches to it.

The model server is the provider's base URL; its serving directory is a path that gradcap writes and
the server reads (the same path on both, a shared volume, or one machine as in the demo). Two ways:

- Model directories (`transformers serve`, Ollama, llama.cpp): the merged model (base + adapter,
  made on a training host) is published as `<serving_dir>/<model name>`, and chats ask for that path.
- vLLM: the adapter is published there and registered at runtime with `/v1/load_lora_adapter`
  (idempotent: asked again when the server restarted and forgot it); chats name the adapter.

Then one short request must answer, or ▶ refuses with the server's words.
"""

import os
import shutil
import uuid
from pathlib import Path

from django.utils.translation import gettext as _

from llm.models import Provider
from llm.serving import ServingError, adapter_register, probe

from . import files
from .models import TrainingJob
from .services import merge_request

__all__ = ["ServingError", "model_serve"]


def _job(provider: Provider, model: str) -> TrainingJob:
    job = TrainingJob.objects.filter(
        provider=provider, fine_tuned_model=model, status=TrainingJob.Status.SUCCEEDED
    ).first()
    if job is None:
        raise ServingError(_("%(model)s was not trained on this provider's training hosts.") % {"model": model})
    return job


def _publish(prefix: str, target: Path) -> None:
    """Copy a tree from training storage to `target`, atomically: the server never sees half a model."""
    partial = target.with_name(f".{target.name}.partial-{uuid.uuid4().hex[:12]}")  # one per ▶, even at once
    try:
        if not files.tree_download(prefix, partial):
            raise ServingError(_("The trained files of this model are missing from training storage."))
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():  # (a ▶ at the same time may have published it first)
            os.replace(partial, target)
    except OSError as error:
        raise ServingError(
            _("The model could not be published in the serving directory: %(error)s") % {"error": error}
        ) from error
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def _publish_merged(job: TrainingJob, target: Path) -> None:
    if (target / "config.json").exists():
        return
    if job.merge_status != "done":
        merge_request(job=job)  # (once: a merge queued or running is left alone)
        raise ServingError(
            _(
                "A training host is merging the adapter into the base model, for the model server to load. "
                "Press ▶ again in a few minutes."
            )
        )
    _publish(job.merged_path, target)


def model_serve(*, provider: Provider, model: str) -> None:
    """Make the self-hosted trained `model` servable on `provider`'s model server, then check it answers."""
    if provider.serving and not provider.serving_dir:
        raise ServingError(_("The provider has no serving directory."))
    if "/" in model or model.startswith("."):  # (gradcap names its models; a path would leave the directory)
        raise ServingError(_("%(model)s is not a name a serving directory can hold.") % {"model": model})
    target = Path(provider.serving_dir or "/") / model
    if provider.serving == Provider.Serving.MODEL_DIRECTORY:
        _publish_merged(_job(provider, model), target)
    elif provider.serving == Provider.Serving.VLLM_LORA:
        job = _job(provider, model)
        if not (target / "adapter_config.json").exists():
            _publish(job.adapter_path, target)
        adapter_register(provider, model, target)
    probe(provider, model)
