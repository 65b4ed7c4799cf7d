"""The provider's two wire APIs, a tool loop each, streamed into events: the Responses API (hosted
file search and code interpreter) and Chat Completions, which every OpenAI-compatible server speaks."""

import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import openai

from core.db import database
from core.images import to_data_url
from llm.models import Provider
from llm.serving import adapter_reload
from llm.sse import stream_events

from .events import CitationAdded, Event, TextDelta, Turn
from .models import Assistant
from .tools import SEARCH_KNOWLEDGE, TOOLS, ToolContext
from .turn_tools import searches_with_gradcap, tool_called

MAX_TOOL_ROUNDS = 5
MAX_RAW_EVENTS = 500
FILE_SEARCH_RESULTS = 5
# Provider kinds whose Responses API runs the code interpreter tool.
CODE_INTERPRETER_PROVIDERS = {"openai", "azure"}


class StreamFailed(Exception):
    """The provider reported a failure inside the stream (response.failed, error)."""


def chat_tools(assistant: Assistant) -> list[dict]:
    """The Responses API tools of the assistant."""
    tools: list[dict] = []
    if assistant.knowledge_mode == Assistant.KnowledgeSearch.HOSTED and assistant.vector_store_id:
        tools.append(
            {
                "type": "file_search",
                "vector_store_ids": [assistant.vector_store_id],
                "max_num_results": FILE_SEARCH_RESULTS,
            }
        )
    if searches_with_gradcap(assistant, Assistant.KnowledgeSearch.TOOL):
        tools.append(SEARCH_KNOWLEDGE.as_responses_tool())
    tools += [TOOLS[name].as_responses_tool() for name in assistant.function_tools if name in TOOLS]
    if assistant.use_code_interpreter and assistant.provider.kind in CODE_INTERPRETER_PROVIDERS:
        tools.append({"type": "code_interpreter", "container": {"type": "auto"}})
    return tools


def chat_input(history: list[dict], *, wire_api: str = Provider.WireApi.RESPONSES) -> list[dict]:
    """Our recorded history as input items (Responses) or messages (Chat Completions): user and
    assistant text turns, a user turn's images as image parts with data URLs."""
    return [
        {"role": item["role"], "content": _content(item, wire_api)}
        for item in history
        if item.get("content") or (item.get("images") and item["role"] == "user")
    ]


def history_has_images(history: list[dict]) -> bool:
    return any(item.get("images") and item.get("role") == "user" for item in history)


def _content(item: dict, wire_api: str) -> str | list[dict]:
    images = item.get("images") if item["role"] == "user" else None
    if not images:
        return item["content"]
    text = item.get("content") or ""
    if wire_api == Provider.WireApi.CHAT_COMPLETIONS:
        parts = [{"type": "text", "text": text}] if text else []
        return parts + [
            {"type": "image_url", "image_url": {"url": _data_url(image), "detail": image.get("detail") or "auto"}}
            for image in images
        ]
    parts = [{"type": "input_text", "text": text}] if text else []
    return parts + [
        {"type": "input_image", "image_url": _data_url(image), "detail": image.get("detail") or "auto"}
        for image in images
    ]


def _data_url(image: dict) -> str:
    data = image["data"]
    return data if isinstance(data, str) else to_data_url(data, image["media_type"])


async def responses_rounds(
    *, client, assistant: Assistant, history: list[dict], model: str, turn: Turn, started: float, keep_raw_events: bool
) -> AsyncIterator[Event]:
    """The Responses API: hosted file search and code interpreter, function calls run here."""
    tools = chat_tools(assistant)
    items: list[Any] = chat_input(history)
    context = ToolContext(course=assistant.course)
    request: dict[str, Any] = {
        "model": model,
        "instructions": assistant.instructions or None,
        "temperature": assistant.temperature,
        "store": False,
    }
    if tools:
        request["tools"] = tools
    if any(tool["type"] == "file_search" for tool in tools):
        request["include"] = ["file_search_call.results"]
    files_numbered: dict[str, int] = {}

    for _round in range(MAX_TOOL_ROUNDS):
        calls = []
        async with client.responses.with_streaming_response.create(input=items, stream=True, **request) as response:
            async for event in stream_events(response):
                if keep_raw_events and len(turn.raw_events) < MAX_RAW_EVENTS:
                    turn.raw_events.append(event)
                kind = event.get("type")
                if kind == "response.output_text.delta":
                    if turn.first_token_ms is None:
                        turn.first_token_ms = ms_since(started)
                    delta = event.get("delta") or ""
                    turn.text += delta
                    yield TextDelta(delta)
                elif kind == "response.output_text.annotation.added":
                    citation = _citation(event.get("annotation") or {}, files_numbered, offset=len(turn.text))
                    if citation is not None:
                        turn.citations.append(citation.__dict__)
                        yield citation
                elif kind == "response.output_item.done":
                    item = event.get("item") or {}
                    if item.get("type") == "function_call":
                        calls.append(item)
                    elif item.get("type") == "file_search_call":
                        turn.search_results += [_search_result(r) for r in (item.get("results") or [])]
                elif kind == "response.completed":
                    _add_usage(turn, event.get("response") or {})
                elif kind in ("response.failed", "error"):
                    raise StreamFailed(_stream_error(event))
                elif kind == "response.incomplete":
                    _add_usage(turn, event.get("response") or {})
                    details = (event.get("response") or {}).get("incomplete_details") or {}
                    raise StreamFailed(f"The answer was cut short ({details.get('reason') or 'incomplete'}).")
        if not calls:
            return
        for call in calls:
            call_id, name, arguments = call.get("call_id", ""), call.get("name", ""), call.get("arguments") or ""
            called = await tool_called(turn, context, assistant, call_id=call_id, name=name, arguments=arguments)
            yield called
            items.append({"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments})
            items.append({"type": "function_call_output", "call_id": call_id, "output": json.dumps(called.output)})


async def chat_completions_rounds(
    *, client, assistant: Assistant, history: list[dict], model: str, turn: Turn, started: float, keep_raw_events: bool
) -> AsyncIterator[Event]:
    """Chat Completions, which every OpenAI-compatible server speaks: function tools only (the
    hosted tools exist on the Responses API alone); tool calls come as deltas to put together."""
    tools = [TOOLS[name].as_chat_tool() for name in assistant.function_tools if name in TOOLS]
    if searches_with_gradcap(assistant, Assistant.KnowledgeSearch.TOOL):
        tools.insert(0, SEARCH_KNOWLEDGE.as_chat_tool())
    messages: list[dict] = [{"role": "system", "content": assistant.instructions}] if assistant.instructions else []
    messages += chat_input(history, wire_api=Provider.WireApi.CHAT_COMPLETIONS)
    context = ToolContext(course=assistant.course)
    sent = assistant.provider.wire_model(model)
    request: dict[str, Any] = {
        "model": sent,
        "temperature": assistant.temperature,
        "stream_options": {"include_usage": True},
    }
    if tools:
        request["tools"] = tools

    for _round in range(MAX_TOOL_ROUNDS):
        calls: dict[int, dict] = {}
        text = ""
        finish_reason = None
        async with contextlib.AsyncExitStack() as stack:
            completions = client.chat.completions.with_streaming_response
            try:
                response = await stack.enter_async_context(
                    completions.create(messages=messages, stream=True, **request)
                )
            except openai.NotFoundError:
                # A vLLM server that restarted has forgotten the adapters ▶ registered: once more, then ask again.
                if not await database(adapter_reload, provider=assistant.provider, model=model):
                    raise
                response = await stack.enter_async_context(
                    completions.create(messages=messages, stream=True, **request)
                )
            async for chunk in stream_events(response):
                if keep_raw_events and len(turn.raw_events) < MAX_RAW_EVENTS:
                    turn.raw_events.append(chunk)
                chunk_id = chunk.get("id")
                if chunk_id and chunk_id not in turn.response_ids:
                    turn.response_ids.append(chunk_id)
                if (served := chunk.get("model")) and served != sent:  # the server's own name for it (a dated version)
                    turn.model = served
                if usage := chunk.get("usage"):
                    turn.input_tokens += usage.get("prompt_tokens") or 0
                    turn.output_tokens += usage.get("completion_tokens") or 0
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta") or {}
                    if content := delta.get("content"):
                        if turn.first_token_ms is None:
                            turn.first_token_ms = ms_since(started)
                        text += content
                        turn.text += content
                        yield TextDelta(content)
                    for part in delta.get("tool_calls") or ():
                        call = calls.setdefault(part.get("index", 0), {"id": "", "name": "", "arguments": ""})
                        call["id"] = part.get("id") or call["id"]
                        if function := part.get("function"):
                            call["name"] += function.get("name") or ""
                            call["arguments"] += function.get("arguments") or ""
                    finish_reason = choice.get("finish_reason") or finish_reason
        if finish_reason in ("length", "content_filter"):
            raise StreamFailed(f"The answer was cut short ({finish_reason}).")
        if not calls:
            return
        ordered = [calls[index] for index in sorted(calls)]
        messages.append(
            {
                "role": "assistant",
                "content": text or None,
                "tool_calls": [
                    {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                    for c in ordered
                ],
            }
        )
        for call in ordered:
            called = await tool_called(
                turn, context, assistant, call_id=call["id"], name=call["name"], arguments=call["arguments"]
            )
            yield called
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": json.dumps(called.output)})


def ms_since(started: float) -> int:
    """Milliseconds since `started` (time.monotonic())."""
    return int((time.monotonic() - started) * 1000)


def _citation(data: dict, files_numbered: dict[str, int], *, offset: int) -> CitationAdded | None:
    if data.get("type") != "file_citation":
        return None
    file_id = data.get("file_id", "")
    number = files_numbered.setdefault(file_id, len(files_numbered) + 1)
    index = data.get("index")
    return CitationAdded(
        number=number,
        file_id=file_id,
        filename=data.get("filename") or file_id,
        index=offset if index is None else int(index),
    )


def _search_result(result: dict) -> dict:
    score = result.get("score")
    return {
        "file_id": result.get("file_id", ""),
        "filename": result.get("filename", ""),
        "score": round(score, 4) if score is not None else None,
        "text": (result.get("text") or "")[:2000],
    }


def _add_usage(turn: Turn, response: dict) -> None:
    if response.get("id"):
        turn.response_ids.append(response["id"])
    turn.model = response.get("model") or turn.model
    if usage := response.get("usage"):
        turn.input_tokens += usage.get("input_tokens") or 0
        turn.output_tokens += usage.get("output_tokens") or 0


def _stream_error(event: dict) -> str:
    if error := event.get("message"):
        return str(error)
    if response_error := (event.get("response") or {}).get("error"):
        return f"{response_error.get('code')}: {response_error.get('message')}"
    return "unknown error"
