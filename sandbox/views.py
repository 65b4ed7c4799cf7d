"""The sandbox's OpenAI-compatible endpoints. Thin: parse, call a service, serialize.

Every view is wrapped by `api.endpoint`, which checks the key, injects faults and turns
SandboxError into OpenAI's error body. Streaming views are async generators, so that a stream
really streams under uvicorn (Django buffers sync iterators completely under ASGI).
"""

import asyncio
import json
import os
import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from core.db import database
from llm.catalog import MODELS

from . import chat, conversations, engine, files, finetuning, responses, vectorstores
from .api import cursor_page, deleted, endpoint, json_body, required
from .errors import SandboxError, invalid
from .faults import Fault
from .models import File, FineTuningJob, LoraAdapter

CATALOG_CREATED = 1_735_689_600  # when the catalog's models are said to exist (2025-01-01)
FIRST_TOKEN_EVENTS = ("response.output_text.delta", "response.function_call_arguments.delta")
MIDSTREAM_MESSAGE = "The server had an error while streaming the response (sandbox fault injection)."

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


# Responses (streamed by an async view)


def _sse(event: dict) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n".encode()


def _stream_response(stream) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # proxies must not buffer a stream either
    return response


async def _response_events(prepared: responses.PreparedResponse, fault: Fault | None):
    tokens_sent = 0
    for sequence, event in enumerate(responses.response_events(prepared.data)):
        is_token = event["type"] in FIRST_TOKEN_EVENTS
        if fault and fault.kind == "slow" and is_token and tokens_sent == 0:
            await asyncio.sleep(fault.slow_seconds)
        if fault and fault.kind == "midstream" and (tokens_sent == 2 or event["type"] == "response.completed"):
            failed = await database(responses.response_fail, prepared, MIDSTREAM_MESSAGE)
            yield _sse({"type": failed["type"], "sequence_number": sequence, "response": failed["response"]})
            return
        yield _sse({"type": event["type"], "sequence_number": sequence, **event})
        if is_token:
            tokens_sent += 1
            await asyncio.sleep(settings.SANDBOX_STREAM_DELAY_SECONDS)


async def _fault_before_answer(fault: Fault | None) -> None:
    """slow and midstream for an answer that is not streamed: a late answer, or a 500."""
    if fault and fault.kind == "slow":
        await asyncio.sleep(fault.slow_seconds)
    if fault and fault.kind == "midstream":
        raise SandboxError(MIDSTREAM_MESSAGE, status=500, code="server_error")


@endpoint("POST", handles_slow=True)
async def responses_create(request: HttpRequest) -> HttpResponse:
    body = json_body(request)
    prepared = await database(responses.response_create, body=body)
    if body.get("stream"):
        return _stream_response(_response_events(prepared, request.sandbox_fault))
    await _fault_before_answer(request.sandbox_fault)
    return JsonResponse(prepared.data)


@endpoint("GET", "DELETE")
def response_detail(request: HttpRequest, response_id: str) -> HttpResponse:
    row = responses.response_get(response_id)
    if request.method == "DELETE":
        row.delete()
        return deleted(response_id, "response")
    return JsonResponse(row.data)


# Chat completions (streamed by an async view)


async def _completion_chunks(completion: dict, include_usage: bool, fault: Fault | None):
    for number, chunk in enumerate(chat.completion_chunks(completion, include_usage=include_usage)):
        if number == 0 and fault and fault.kind == "slow":
            await asyncio.sleep(fault.slow_seconds)
        if number == 2 and fault and fault.kind == "midstream":
            yield chat.sse_data(
                {"error": {"message": MIDSTREAM_MESSAGE, "type": "server_error", "param": None, "code": "server_error"}}
            )
            return
        yield chat.sse_data(chunk)
        await asyncio.sleep(settings.SANDBOX_STREAM_DELAY_SECONDS)
    yield chat.sse_data("[DONE]")


@endpoint("POST", handles_slow=True)
async def chat_completions(request: HttpRequest) -> HttpResponse:
    body = json_body(request)
    completion = await database(chat.completion_create, body=body)
    if body.get("stream"):
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return _stream_response(_completion_chunks(completion, include_usage, request.sandbox_fault))
    await _fault_before_answer(request.sandbox_fault)
    return JsonResponse(completion)


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


# Vector stores


@endpoint("GET", "POST")
def vector_stores_root(request: HttpRequest) -> JsonResponse:
    if request.method == "POST":
        body = json_body(request)
        store = vectorstores.vector_store_create(
            name=body.get("name") or "",
            file_ids=body.get("file_ids") or [],
            chunking_strategy=body.get("chunking_strategy"),
            expires_after=body.get("expires_after"),
            metadata=body.get("metadata"),
        )
        return JsonResponse(vectorstores.vector_store_to_dict(store))
    return cursor_page(request, vectorstores.VectorStore.objects.all(), vectorstores.vector_store_to_dict)


@endpoint("GET", "POST", "DELETE")
def vector_store_detail(request: HttpRequest, store_id: str) -> JsonResponse:
    store = vectorstores.vector_store_get(store_id)
    if request.method == "DELETE":
        store.delete()
        return deleted(store_id, "vector_store.deleted")
    if request.method == "POST":
        body = json_body(request)
        store.name = body.get("name", store.name) or ""
        store.metadata = body.get("metadata", store.metadata)
        store.expires_after = body.get("expires_after", store.expires_after)
        store.save()
    return JsonResponse(vectorstores.vector_store_to_dict(store))


@endpoint("POST")
def vector_store_search(request: HttpRequest, store_id: str) -> JsonResponse:
    vectorstores.vector_store_get(store_id)
    body = json_body(request)
    query = required(body, "query")
    text = " ".join(query) if isinstance(query, list) else str(query)
    max_results = body.get("max_num_results", 10)
    if not isinstance(max_results, int) or not 1 <= max_results <= 50:
        raise invalid("Invalid 'max_num_results': between 1 and 50.", param="max_num_results")
    hits = vectorstores.vector_stores_search(store_ids=[store_id], query=text, max_results=max_results)
    threshold = (body.get("ranking_options") or {}).get("score_threshold") or 0
    return JsonResponse(
        {
            "object": "vector_store.search_results.page",
            "search_query": query if isinstance(query, list) else [query],
            "data": [vectorstores.search_result_to_dict(hit) for hit in hits if hit.score >= threshold],
            "has_more": False,
            "next_page": None,
        }
    )


@endpoint("GET", "POST")
def vector_store_files(request: HttpRequest, store_id: str) -> JsonResponse:
    store = vectorstores.vector_store_get(store_id)
    if request.method == "POST":
        body = json_body(request)
        store_file = vectorstores.store_file_add(
            store=store,
            file_id=required(body, "file_id"),
            attributes=body.get("attributes"),
            chunking_strategy=body.get("chunking_strategy"),
        )
        return JsonResponse(vectorstores.store_file_to_dict(store_file))
    queryset = store.files.select_related("file", "vector_store")
    if request.GET.get("filter"):
        queryset = queryset.filter(status=request.GET["filter"])
    return cursor_page(request, queryset, vectorstores.store_file_to_dict, id_field="file__public_id")


@endpoint("GET", "DELETE")
def vector_store_file(request: HttpRequest, store_id: str, file_id: str) -> JsonResponse:
    store_file = vectorstores.store_file_get(vectorstores.vector_store_get(store_id), file_id)
    if request.method == "DELETE":
        store_file.delete()
        return deleted(file_id, "vector_store.file.deleted")
    return JsonResponse(vectorstores.store_file_to_dict(store_file))


@endpoint("POST")
def vector_store_file_batches(request: HttpRequest, store_id: str) -> JsonResponse:
    store = vectorstores.vector_store_get(store_id)
    batch = vectorstores.file_batch_create(store=store, body=json_body(request))
    return JsonResponse(vectorstores.file_batch_to_dict(batch))


@endpoint("GET")
def vector_store_file_batch(request: HttpRequest, store_id: str, batch_id: str) -> JsonResponse:
    batch = vectorstores.file_batch_get(vectorstores.vector_store_get(store_id), batch_id)
    return JsonResponse(vectorstores.file_batch_to_dict(batch))


@endpoint("GET")
def vector_store_file_batch_files(request: HttpRequest, store_id: str, batch_id: str) -> JsonResponse:
    store = vectorstores.vector_store_get(store_id)
    batch = vectorstores.file_batch_get(store, batch_id)
    queryset = store.files.filter(file__public_id__in=batch.file_ids).select_related("file", "vector_store")
    return cursor_page(request, queryset, vectorstores.store_file_to_dict, id_field="file__public_id")


@endpoint("GET", "POST", "DELETE")
def not_found_view(request: HttpRequest, rest: str) -> JsonResponse:
    """Unknown sandbox URLs answer as OpenAI does, not with Django's HTML 404 page."""
    raise SandboxError(f"Invalid URL ({request.method} /v1/{rest})", status=404, code="unknown_url")
