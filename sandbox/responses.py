"""The Responses API: a request becomes an answer of the sandbox's engine, a stored response
object, and (when streamed) the event sequence OpenAI sends."""

import json
import re
import time
from dataclasses import dataclass

from django.db import transaction

from . import engine
from .conversations import conversation_get, conversation_history, item_normalize, items_append
from .errors import invalid, not_found
from .models import Conversation, Response, new_id
from .validation import content_text
from .vectorstores import vector_store_get
from .vision import content_images


@dataclass
class PreparedResponse:
    row: Response
    answer: engine.Answer

    @property
    def data(self) -> dict:
        return self.row.data


def items_to_messages(items: list[dict]) -> list[dict]:
    """Responses items as the engine's plain messages (file_search calls and the like drop out)."""
    messages = []
    for item in items:
        kind = item.get("type", "message")
        if kind == "message":
            message = {"role": item.get("role", "user"), "content": content_text(item.get("content"))}
            if images := content_images(item.get("content")):
                message["images"] = images
            messages.append(message)
        elif kind == "function_call":
            call = {"call_id": item.get("call_id"), "name": item.get("name"), "arguments": item.get("arguments", "")}
            messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
        elif kind == "function_call_output":
            output = item.get("output")
            text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
            messages.append({"role": "tool", "call_id": item.get("call_id"), "content": text})
    return messages


def _tools(tools) -> tuple[list[engine.FunctionSpec], list[str], int]:
    functions, store_ids, max_results = [], [], 10
    for tool in tools or []:
        if tool.get("type") == "function":
            if not tool.get("name"):
                raise invalid("Missing required parameter: 'tools[].name'.", param="tools")
            functions.append(
                engine.FunctionSpec(
                    name=tool["name"],
                    description=tool.get("description") or "",
                    parameters=tool.get("parameters") or {},
                    strict=tool.get("strict", True) is not False,
                )
            )
        elif tool.get("type") == "file_search":
            for store_id in tool.get("vector_store_ids") or []:
                vector_store_get(store_id)
                store_ids.append(store_id)
            max_results = int(tool.get("max_num_results") or max_results)
        else:
            raise invalid(f"The sandbox does not offer the tool type '{tool.get('type')}'.", param="tools")
    return functions, store_ids, max_results


def _history(body: dict) -> tuple[list[dict], Conversation | None]:
    conversation_ref, previous_id = body.get("conversation"), body.get("previous_response_id")
    if conversation_ref and previous_id:
        raise invalid(
            "Mutually exclusive parameters: Ensure you are only providing one of: 'previous_response_id' or "
            "'conversation'.",
            code="mutually_exclusive_parameters",
        )
    if conversation_ref:
        conversation_id = conversation_ref["id"] if isinstance(conversation_ref, dict) else conversation_ref
        conversation = conversation_get(conversation_id)
        return conversation_history(conversation), conversation
    if previous_id:
        return response_get(previous_id, param="previous_response_id").context, None
    return [], None


def _input_items(raw) -> list[dict]:
    if raw is None or raw == "":
        return []
    return [item_normalize(item) for item in ([raw] if isinstance(raw, str) else raw)]


def _output_items(answer: engine.Answer, *, include: list[str]) -> list[dict]:
    output = []
    if answer.search_query is not None:
        results = None
        if "file_search_call.results" in include:
            results = [
                {"file_id": h.file_id, "filename": h.filename, "score": h.score, "text": h.chunk.text, "attributes": {}}
                for h in answer.search_hits
            ]
        output.append(
            {
                "id": new_id("fs_"),
                "type": "file_search_call",
                "status": "completed",
                "queries": [answer.search_query],
                "results": results,
            }
        )
    if answer.function_name:
        output.append(
            {
                "id": new_id("fc_"),
                "type": "function_call",
                "status": "completed",
                "call_id": new_id("call_"),
                "name": answer.function_name,
                "arguments": answer.arguments,
            }
        )
    else:
        annotations = [
            {"type": "file_citation", "file_id": c.file_id, "filename": c.filename, "index": c.index}
            for c in answer.citations
        ]
        output.append(
            {
                "id": new_id("msg_"),
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": answer.text, "annotations": annotations, "logprobs": []}],
            }
        )
    return output


def _usage(input_tokens: int, output_tokens: int) -> dict:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


@transaction.atomic
def response_create(*, body: dict) -> PreparedResponse:
    """Answer a POST /responses body and store the response (and the conversation's new items)."""
    model_name = body.get("model")
    if not model_name:
        raise invalid("Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
    model = engine.model_resolve(model_name)
    history, conversation = _history(body)
    new_items = _input_items(body.get("input"))
    functions, store_ids, max_results = _tools(body.get("tools"))
    messages = items_to_messages(history + new_items)
    answer = engine.answer_for(
        model=model,
        messages=messages,
        functions=functions,
        tool_choice=body.get("tool_choice") or "auto",
        vector_store_ids=store_ids,
        max_results=max_results,
    )
    instructions = body.get("instructions") or ""
    output = _output_items(answer, include=body.get("include") or [])
    usage = _usage(
        engine.input_tokens(messages, instructions=instructions, tools=body.get("tools"), model=model),
        answer.output_tokens,
    )
    now = time.time()
    data = {
        "id": new_id("resp_"),
        "object": "response",
        "created_at": int(now),
        "completed_at": int(now),
        "status": "completed",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": model_name,
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "conversation": {"id": conversation.public_id} if conversation else None,
        "reasoning": {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation") or "disabled",
        "usage": usage,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }
    row = Response.objects.create(
        public_id=data["id"], model=model_name, status="completed", data=data, context=history + new_items + output
    )
    if conversation is not None:
        items_append(conversation, new_items + output)
    return PreparedResponse(row=row, answer=answer)


def response_get(response_id: str, *, param: str = "response_id") -> Response:
    row = Response.objects.filter(public_id=response_id).first()
    if row is None:
        raise not_found("response", response_id, param=param)
    return row


def response_fail(prepared: PreparedResponse, message: str) -> dict:
    """Mark a response failed mid-stream (an injected fault) and give its response.failed event."""
    data = {
        **prepared.data,
        "status": "failed",
        "completed_at": None,
        "output": [],
        "usage": None,
        "error": {"code": "server_error", "message": message},
    }
    Response.objects.filter(pk=prepared.row.pk).update(status="failed", data=data)
    return {"type": "response.failed", "response": data}


# The event sequence of a streamed response


def _text_deltas(text: str) -> list[str]:
    return re.findall(r"\s*\S+", text) or [text]


def _message_events(index: int, item: dict) -> list[dict]:
    part = item["content"][0]
    where = {"item_id": item["id"], "output_index": index, "content_index": 0}
    events = [
        {
            "type": "response.output_item.added",
            "output_index": index,
            "item": {**item, "status": "in_progress", "content": []},
        },
        {
            "type": "response.content_part.added",
            **where,
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
    ]
    events += [
        {"type": "response.output_text.delta", **where, "delta": d, "logprobs": []} for d in _text_deltas(part["text"])
    ]
    events += [
        {"type": "response.output_text.annotation.added", **where, "annotation_index": i, "annotation": annotation}
        for i, annotation in enumerate(part["annotations"])
    ]
    events += [
        {"type": "response.output_text.done", **where, "text": part["text"], "logprobs": []},
        {"type": "response.content_part.done", **where, "part": part},
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]
    return events


def _function_call_events(index: int, item: dict) -> list[dict]:
    where = {"item_id": item["id"], "output_index": index}
    return [
        {
            "type": "response.output_item.added",
            "output_index": index,
            "item": {**item, "status": "in_progress", "arguments": ""},
        },
        {"type": "response.function_call_arguments.delta", **where, "delta": item["arguments"]},
        {
            "type": "response.function_call_arguments.done",
            **where,
            "arguments": item["arguments"],
            "name": item["name"],
        },
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def _file_search_events(index: int, item: dict) -> list[dict]:
    where = {"item_id": item["id"], "output_index": index}
    return [
        {"type": "response.output_item.added", "output_index": index, "item": {**item, "status": "in_progress"}},
        {"type": "response.file_search_call.in_progress", **where},
        {"type": "response.file_search_call.searching", **where},
        {"type": "response.file_search_call.completed", **where},
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


_ITEM_EVENTS = {
    "message": _message_events,
    "function_call": _function_call_events,
    "file_search_call": _file_search_events,
}


def response_events(data: dict) -> list[dict]:
    """Every event of the stream, in OpenAI's order, without sequence numbers."""
    started = {**data, "status": "in_progress", "completed_at": None, "output": [], "usage": None}
    events = [{"type": "response.created", "response": started}, {"type": "response.in_progress", "response": started}]
    for index, item in enumerate(data["output"]):
        events += _ITEM_EVENTS[item["type"]](index, item)
    events.append({"type": "response.completed", "response": data})
    return events
