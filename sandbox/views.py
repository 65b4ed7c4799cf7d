"""The sandbox's OpenAI-compatible endpoints for models, files, fine-tuning jobs, runtime LoRA
adapters and conversations. Thin: parse, call a service, serialize.

Every view is wrapped by `api.endpoint`, which checks the key, injects faults and turns
SandboxError into OpenAI's error body. The answering endpoints are in `answer_views`, vector
stores in `vectorstore_views`.
"""

import os
import re

from django.http import HttpRequest, HttpResponse, JsonResponse

from llm.catalog import MODELS

from . import conversations, engine, files, finetuning
from .api import cursor_page, deleted, endpoint, json_body, required
from .errors import SandboxError, invalid
from .models import File, FineTuningJob, LoraAdapter

CATALOG_CREATED = 1_735_689_600  # when the catalog's models are said to exist (2025-01-01)

# Models


def _catalog_models() -> list[dict]:
    return [
        {
            "id": name,
            "object": "model",
            "created": CATALOG_CREATED,
            "owned_by": "system",
            "shutdown_date": model.shutdown.isoformat() if model.shutdown else None,
        }
        for model in MODELS
        for name in (model.id, *model.aliases)
    ]


def _tuned_model(job: FineTuningJob) -> dict:
    return {
        "id": job.fine_tuned_model,
        "object": "model",
        "created": int(job.finished_at.timestamp()),
        "owned_by": f"org-{job.organization}",
    }


@endpoint("GET")
def models_list(request: HttpRequest) -> JsonResponse:
    finetuning.jobs_advance_active()
    tuned = FineTuningJob.objects.filter(status=FineTuningJob.Status.SUCCEEDED).order_by("pk")
    adapters = [  # as vLLM lists them: the adapter's base model is its `parent`
        {
            "id": adapter.name,
            "object": "model",
            "created": int(adapter.created_at.timestamp()),
            "owned_by": "vllm",
            "root": adapter.path,
            "parent": engine.ADAPTER_BASE_MODEL,
        }
        for adapter in LoraAdapter.objects.order_by("pk")
    ]
    data = _catalog_models() + [_tuned_model(job) for job in tuned] + adapters
    return JsonResponse({"object": "list", "data": data})


@endpoint("GET")
def model_detail(request: HttpRequest, model_id: str) -> JsonResponse:
    found = next((model for model in _catalog_models() if model["id"] == model_id), None)
    if found is None and (job := finetuning.job_find_tuned_model(model_id)) is not None:
        found = _tuned_model(job)
    if found is None:
        raise SandboxError(f"The model '{model_id}' does not exist", status=404, param="model", code="model_not_found")
    return JsonResponse(found)


# Files


@endpoint("GET", "POST")
def files_root(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            raise invalid("Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
        purpose = request.POST.get("purpose", "")
        return JsonResponse(
            files.file_to_dict(files.file_create(filename=upload.name, content=upload.read(), purpose=purpose))
        )
    queryset = File.objects.all()
    if request.GET.get("purpose"):
        queryset = queryset.filter(purpose=request.GET["purpose"])
    return cursor_page(request, queryset, files.file_to_dict, default_limit=10_000)


@endpoint("GET", "DELETE")
def file_detail(request: HttpRequest, file_id: str) -> JsonResponse:
    if request.method == "DELETE":
        return deleted(files.file_delete(file_id), "file")
    return JsonResponse(files.file_to_dict(files.file_get(file_id)))


@endpoint("GET")
def file_content(request: HttpRequest, file_id: str) -> HttpResponse:
    file = files.file_get(file_id)
    response = HttpResponse(bytes(file.content), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    return response


# Fine-tuning


def _metadata_filter(request: HttpRequest) -> dict:
    """metadata[key]=value query parameters, as the SDK sends a metadata filter."""
    lookups = {}
    for name, value in request.GET.items():
        match = re.fullmatch(r"metadata\[([\w.-]+)\]", name)
        if match and "__" not in match.group(1):
            lookups[f"metadata__{match.group(1)}"] = value
    return lookups


@endpoint("GET", "POST")
def fine_tuning_jobs(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        organization = request.headers.get("OpenAI-Organization", "")
        job = finetuning.job_create(body=json_body(request), organization_header=organization)
        return JsonResponse(finetuning.job_to_dict(job))
    queryset = FineTuningJob.objects.filter(**_metadata_filter(request))
    return cursor_page(request, queryset, lambda job: finetuning.job_to_dict(finetuning.job_advance(job)))


@endpoint("GET")
def fine_tuning_job(request: HttpRequest, job_id: str) -> JsonResponse:
    return JsonResponse(finetuning.job_to_dict(finetuning.job_get(job_id)))


@endpoint("GET")
def fine_tuning_job_events(request: HttpRequest, job_id: str) -> JsonResponse:
    job = finetuning.job_get(job_id)
    return cursor_page(request, job.events.all(), finetuning.event_to_dict)


@endpoint("GET")
def fine_tuning_job_checkpoints(request: HttpRequest, job_id: str) -> JsonResponse:
    job = finetuning.job_get(job_id)
    return cursor_page(request, job.checkpoints.select_related("job"), finetuning.checkpoint_to_dict, default_limit=10)


@endpoint("POST")
def fine_tuning_job_cancel(request: HttpRequest, job_id: str) -> JsonResponse:
    return JsonResponse(finetuning.job_to_dict(finetuning.job_cancel(job_id)))


@endpoint("POST")
def fine_tuning_job_pause(request: HttpRequest, job_id: str) -> JsonResponse:
    return JsonResponse(finetuning.job_to_dict(finetuning.job_pause(job_id)))


@endpoint("POST")
def fine_tuning_job_resume(request: HttpRequest, job_id: str) -> JsonResponse:
    return JsonResponse(finetuning.job_to_dict(finetuning.job_resume(job_id)))


# Runtime LoRA adapters, as vLLM serves them (VLLM_ALLOW_RUNTIME_LORA_UPDATING=True): plain-text answers.


@endpoint("POST")
def load_lora_adapter(request: HttpRequest) -> HttpResponse:
    body = json_body(request)
    name, path = required(body, "lora_name"), required(body, "lora_path")
    if LoraAdapter.objects.filter(name=name).exists():
        raise SandboxError(f"The lora adapter '{name}' has already been loaded.", status=400, code="invalid_request")
    if not os.path.isfile(os.path.join(str(path), "adapter_config.json")):
        raise SandboxError(f"Loading lora {name} failed: No adapter found for {path}", status=404, code="not_found")
    LoraAdapter.objects.create(name=name, path=path)
    return HttpResponse(f"Success: LoRA adapter '{name}' added successfully.", content_type="text/plain")


@endpoint("POST")
def unload_lora_adapter(request: HttpRequest) -> HttpResponse:
    name = required(json_body(request), "lora_name")
    if not LoraAdapter.objects.filter(name=name).delete()[0]:
        raise SandboxError(f"The lora adapter '{name}' cannot be found.", status=404, code="not_found")
    return HttpResponse(f"Success: LoRA adapter '{name}' removed successfully.", content_type="text/plain")


# Conversations


@endpoint("POST")
def conversations_root(request: HttpRequest) -> JsonResponse:
    body = json_body(request)
    conversation = conversations.conversation_create(items=body.get("items"), metadata=body.get("metadata"))
    return JsonResponse(conversations.conversation_to_dict(conversation))


@endpoint("GET", "POST", "DELETE")
def conversation_detail(request: HttpRequest, conversation_id: str) -> JsonResponse:
    conversation = conversations.conversation_get(conversation_id)
    if request.method == "DELETE":
        conversation.delete()
        return deleted(conversation_id, "conversation.deleted")
    if request.method == "POST":
        conversation.metadata = required(json_body(request), "metadata")
        conversation.save(update_fields=["metadata"])
    return JsonResponse(conversations.conversation_to_dict(conversation))


def _item_page(data: list[dict], has_more: bool) -> dict:
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


@endpoint("GET", "POST")
def conversation_items(request: HttpRequest, conversation_id: str) -> JsonResponse:
    conversation = conversations.conversation_get(conversation_id)
    if request.method == "POST":
        items = [conversations.item_normalize(item) for item in required(json_body(request), "items")]
        conversations.items_append(conversation, items)
        return JsonResponse(_item_page(items, False))
    return cursor_page(request, conversation.items.all(), lambda item: item.data, default_order="desc")


@endpoint("GET", "DELETE")
def conversation_item(request: HttpRequest, conversation_id: str, item_id: str) -> JsonResponse:
    conversation = conversations.conversation_get(conversation_id)
    item = conversations.item_get(conversation, item_id)
    if request.method == "DELETE":
        item.delete()
        return JsonResponse(conversations.conversation_to_dict(conversation))
    return JsonResponse(item.data)


@endpoint("GET", "POST", "DELETE")
def not_found_view(request: HttpRequest, rest: str) -> JsonResponse:
    """Unknown sandbox URLs answer as OpenAI does, not with Django's HTML 404 page."""
    raise SandboxError(f"Invalid URL ({request.method} /v1/{rest})", status=404, code="unknown_url")
