"""The sandbox's answering endpoints, Responses and Chat Completions: async views whose streams are
async generators, so that a stream really streams under uvicorn (Django buffers sync iterators
completely under ASGI) and an injected delay holds no thread."""

import asyncio
import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse

from core.db import database

from . import chat, responses
from .api import deleted, endpoint, json_body
from .errors import SandboxError
from .faults import Fault

FIRST_TOKEN_EVENTS = ("response.output_text.delta", "response.function_call_arguments.delta")
MIDSTREAM_MESSAGE = "The server had an error while streaming the response (sandbox fault injection)."


# Responses


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


# Chat completions


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
