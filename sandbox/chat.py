"""Chat Completions: the same engine behind the lingua franca of OpenAI-compatible servers."""

import json
import re
import time

from . import engine
from .errors import invalid
from .models import new_id
from .validation import content_text
from .vision import content_images

SYSTEM_FINGERPRINT = "fp_sandbox"


def _messages(raw) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        raise invalid("Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter")
    messages = []
    for number, message in enumerate(raw):
        if not isinstance(message, dict) or message.get("role") not in (
            "system",
            "developer",
            "user",
            "assistant",
            "tool",
        ):
            raise invalid(f"Invalid value for 'messages[{number}].role'.", param=f"messages[{number}].role")
        plain = {"role": message["role"], "content": content_text(message.get("content"))}
        if images := content_images(message.get("content")):
            plain["images"] = images
        if message.get("tool_calls"):
            plain["tool_calls"] = [
                {
                    "call_id": call.get("id"),
                    "name": call["function"]["name"],
                    "arguments": call["function"]["arguments"],
                }
                for call in message["tool_calls"]
            ]
        if message["role"] == "tool":
            plain["call_id"] = message.get("tool_call_id")
        messages.append(plain)
    return messages


def _functions(tools) -> list[engine.FunctionSpec]:
    functions = []
    for tool in tools or []:
        function = tool.get("function") if tool.get("type") == "function" else None
        if not function or not function.get("name"):
            raise invalid("The sandbox offers only function tools here.", param="tools")
        functions.append(
            engine.FunctionSpec(
                name=function["name"],
                description=function.get("description") or "",
                parameters=function.get("parameters") or {},
                strict=bool(function.get("strict")),
            )
        )
    return functions


def completion_create(*, body: dict) -> dict:
    """Answer a POST /chat/completions body with a chat.completion object."""
    model_name = body.get("model")
    if not model_name:
        raise invalid("Missing required parameter: 'model'.", param="model", code="missing_required_parameter")
    model = engine.model_resolve(model_name)
    messages = _messages(body.get("messages"))
    answer = engine.answer_for(
        model=model, messages=messages, functions=_functions(body.get("tools")), tool_choice=body.get("tool_choice")
    )
    message = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
    if answer.function_name:
        call = {
            "id": new_id("call_"),
            "type": "function",
            "function": {"name": answer.function_name, "arguments": answer.arguments},
        }
        message["tool_calls"] = [call]
    else:
        message["content"] = answer.text
    prompt_tokens = engine.input_tokens(messages, tools=body.get("tools"), model=model)
    return {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model_name,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "service_tier": "default",
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if answer.function_name else "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": answer.output_tokens,
            "total_tokens": prompt_tokens + answer.output_tokens,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }


def completion_chunks(completion: dict, *, include_usage: bool) -> list[dict]:
    """The chat.completion.chunk objects OpenAI streams for `completion` (before "[DONE]")."""
    choice = completion["choices"][0]
    message = choice["message"]
    base = {key: completion[key] for key in ("id", "created", "model", "system_fingerprint")}
    base["object"] = "chat.completion.chunk"

    def chunk(delta: dict, finish_reason=None) -> dict:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}]}

    chunks = [chunk({"role": "assistant", "content": "", "refusal": None})]
    if message.get("tool_calls"):
        call = message["tool_calls"][0]
        opening = {
            "index": 0,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        chunks.append(chunk({"tool_calls": [opening]}))
        chunks.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": call["function"]["arguments"]}}]}))
    else:
        chunks += [chunk({"content": piece}) for piece in re.findall(r"\s*\S+", message["content"]) or [""]]
    chunks.append(chunk({}, choice["finish_reason"]))
    if include_usage:
        chunks.append({**base, "choices": [], "usage": completion["usage"]})
    return chunks


def sse_data(payload: dict | str) -> bytes:
    """One server-sent event as Chat Completions sends them: only a data line."""
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {text}\n\n".encode()
