"""The Hugging Face / TRL chat shape of supervised examples (an export of datasets)."""

import json
from collections.abc import Mapping
from typing import Any


def hf_chat_example(example: Mapping[str, Any]) -> dict[str, Any]:
    """One supervised example in the Hugging Face / TRL chat shape.

    Tool calls stay on assistant messages as `tool_calls: [{"id", "type": "function",
    "function": {"name", "arguments": {...}}}]` with the arguments decoded to an object, which
    is what transformers' chat templates expect; tool answers carry the function's `name` (most
    templates print it) and the `tool_call_id`. Speaker `name`s, `weight` and
    `parallel_tool_calls` have no place there and are dropped.
    """
    function_names: dict[str, str] = {}
    messages = []
    images: list[str] = []
    for message in example["messages"]:
        role = message["role"]
        converted: dict[str, Any] = {"role": role, "content": _hf_content(message.get("content") or "", images)}
        if role == "assistant" and message.get("tool_calls"):
            calls = []
            for call in message["tool_calls"]:
                function = call["function"]
                function_names[call["id"]] = function["name"]
                calls.append(
                    {
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": function["name"], "arguments": _decoded(function["arguments"])},
                    }
                )
            converted["tool_calls"] = calls
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if call_id in function_names:
                converted["name"] = function_names[call_id]
            converted["tool_call_id"] = call_id
        messages.append(converted)
    result: dict[str, Any] = {"messages": messages}
    if images:
        result["images"] = images
    if example.get("tools"):
        result["tools"] = example["tools"]
    return result


def _hf_content(content: Any, images: list[str]) -> Any:
    """Vision parts the way TRL's vision-language examples hold them: `{"type": "image"}` where an
    image was, the images themselves (their URLs, data URLs as a rule) in the example's `images`."""
    if not isinstance(content, list):
        return content
    parts = []
    for part in content:
        if isinstance(part, dict) and part.get("type") == "image_url":
            images.append((part.get("image_url") or {}).get("url", ""))
            parts.append({"type": "image"})
        elif isinstance(part, dict) and part.get("type") == "text":
            parts.append({"type": "text", "text": part.get("text", "")})
    return parts


def _decoded(arguments: Any) -> Any:
    try:
        return json.loads(arguments)
    except (TypeError, ValueError):
        return arguments  # exported as given rather than lost
