"""The chat engine: one assistant turn on the Responses API or Chat Completions, as plain events.

The engine is stateless. It builds the request from the assistant's configuration in our database
(instructions, tools, vector store) and the history it is given, streams the provider's events,
runs server-side function calls in a loop, and yields `Event`s. Recording them is the caller's job
(dialogs), which keeps this module free of any later app.

Knowledge files reach the model in one of three ways (`Assistant.knowledge_mode`): the provider's
hosted file_search (Responses API), gradcap's own search as the `search_knowledge` function, or
gradcap's best passages sent with the question. With gradcap's search the passages are numbered,
the answer cites them as [n], and those become the citations; the only database work, the
search, runs in a thread and gives its connection back at once.

Providers fail: the SDK retries 429, 5xx and timeouts within the provider's `max_retries`; what is
still failing becomes a `Failed` event with a message for the learner, and the text received so far
is in it, so the caller can keep the partial answer.
"""

import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import openai
from django.utils.translation import gettext as _

from core.db import database
from llm.clients import async_client_for
from llm.models import Provider
from llm.serving import adapter_reload
from llm.sse import stream_events

from .models import Assistant
from .passages import passages_cited, passages_search
from .tools import SEARCH_KNOWLEDGE, TOOLS, ToolContext, tool_run

MAX_TOOL_ROUNDS = 5
MAX_RAW_EVENTS = 500
FILE_SEARCH_RESULTS = 5
# Provider kinds whose Responses API runs the code interpreter tool.
CODE_INTERPRETER_PROVIDERS = {"openai", "azure"}


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class CitationAdded:
    number: int  # footnote number: one per cited file (hosted search), per cited passage (gradcap's)
    file_id: str
    filename: str
    index: int  # position in the answer's text
    passage_id: int | None = None  # gradcap's passage, where known
    quote: str = ""


@dataclass(frozen=True)
class ToolCalled:
    call_id: str
    name: str
    arguments: str
    output: dict


@dataclass
class Turn:
    """Everything known about the answer so far; complete once the stream ends."""

    text: str = ""
    citations: list[dict] = field(default_factory=list)
    tool_calls: list[dict] = field(default_factory=list)
    search_results: list[dict] = field(default_factory=list)
    passages: list[dict] = field(default_factory=list)  # gradcap's, numbered as the model saw them
    question_sent: str = ""  # the last question with the passages sent along (context mode)
    raw_events: list[dict] = field(default_factory=list)
    model: str = ""
    wire_api: str = ""
    response_ids: list[str] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    first_token_ms: int | None = None
    total_ms: int | None = None


@dataclass(frozen=True)
class Completed:
    turn: Turn


@dataclass(frozen=True)
class Failed:
    turn: Turn  # the partial answer, kept
    message: str  # for the learner
    detail: str  # for curators and logs


Event = TextDelta | CitationAdded | ToolCalled | Completed | Failed


class _StreamFailed(Exception):
    """The provider reported a failure inside the stream (response.failed, error)."""


def _searches_with_gradcap(assistant: Assistant, mode: str) -> bool:
    return assistant.knowledge_mode == mode and assistant.has_knowledge


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
    if _searches_with_gradcap(assistant, Assistant.KnowledgeSearch.TOOL):
        tools.append(SEARCH_KNOWLEDGE.as_responses_tool())
    tools += [TOOLS[name].as_responses_tool() for name in assistant.function_tools if name in TOOLS]
    if assistant.use_code_interpreter and assistant.provider.kind in CODE_INTERPRETER_PROVIDERS:
        tools.append({"type": "code_interpreter", "container": {"type": "auto"}})
    return tools


def chat_input(history: list[dict]) -> list[dict]:
    """Our recorded history as Responses API input items (user and assistant text turns)."""
    return [{"role": item["role"], "content": item["content"]} for item in history if item.get("content")]


async def chat_stream(
    *,
    assistant: Assistant,
    history: list[dict],
    model: str | None = None,
    client: openai.AsyncOpenAI | None = None,
    keep_raw_events: bool = False,
) -> AsyncIterator[Event]:
    """Answer the last user message of `history` ([{"role", "content"}, ...]).

    `assistant` must come with its `provider` and `course` loaded: the only query here is gradcap's
    knowledge search, in a thread that gives its connection back at once.
    `model` overrides the assistant's model (the playground's model switch). The provider's wire
    API (Responses or Chat Completions) carries the request; the events and the turn are the same.
    """
    client = client or async_client_for(assistant.provider)
    wire_api = assistant.provider.effective_wire_api
    turn = Turn(model=model or assistant.model, wire_api=wire_api)
    started = time.monotonic()
    rounds = _chat_completions_rounds if wire_api == Provider.WireApi.CHAT_COMPLETIONS else _responses_rounds
    try:
        history = await _history_with_context(turn, assistant, history)
        async for event in rounds(
            client=client,
            assistant=assistant,
            history=history,
            model=model or assistant.model,
            turn=turn,
            started=started,
            keep_raw_events=keep_raw_events,
        ):
            yield event
    except openai.RateLimitError as exc:
        yield _failed(turn, started, _("The assistant is busy right now. Please try again in a minute."), exc)
    except openai.APITimeoutError as exc:
        yield _failed(turn, started, _("The assistant took too long to answer. Please try again."), exc)
    except openai.APIConnectionError as exc:
        yield _failed(turn, started, _("The assistant could not be reached. Please try again later."), exc)
    except openai.APIStatusError as exc:
        yield _failed(turn, started, _("The assistant could not answer because of an error at its provider."), exc)
    except (_StreamFailed, openai.APIError) as exc:
        # openai.APIError itself: an error object inside a Chat Completions stream.
        yield _failed(turn, started, _("The assistant stopped because of an error at its provider."), exc)
    else:
        for citation in _cite_passages(turn):
            yield citation
        turn.total_ms = _ms_since(started)
        yield Completed(turn)


def _cite_passages(turn: Turn) -> list[CitationAdded]:
    """The passages of gradcap's search that the answer used, as its citations."""
    if not turn.passages:
        return []
    cited = passages_cited(turn.text, turn.passages)
    turn.citations += cited
    return [
        CitationAdded(
            number=c["number"],
            file_id=c["file_id"],
            filename=c["filename"],
            index=c["index"],
            passage_id=c["passage_id"],
            quote=c["quote"],
        )
        for c in cited
    ]


async def _knowledge_search(turn: Turn, assistant: Assistant, query: str) -> dict:
    """Run gradcap's search; number its passages on from those the model has already seen."""
    hits = await database(passages_search, assistant_id=assistant.pk, query=query)
    numbers = {p["passage_id"]: p["n"] for p in turn.passages}
    results = []
    for hit in hits:
        if hit.passage_id not in numbers:
            numbers[hit.passage_id] = len(turn.passages) + 1
            turn.passages.append(
                {
                    "n": numbers[hit.passage_id],
                    "passage_id": hit.passage_id,
                    "file_id": hit.file_id,
                    "filename": hit.filename,
                    "place": hit.place,
                    "text": hit.text,
                }
            )
        n = numbers[hit.passage_id]
        turn.search_results.append(
            {
                "query": query,
                "n": n,
                "file_id": str(hit.file_id),
                "filename": hit.filename,
                "score": hit.score,
                "place": hit.place,
                "text": hit.text[:2000],
                "passage_id": hit.passage_id,
            }
        )
        results.append({"n": n, "file": hit.filename, "place": hit.place, "text": hit.text})
    if not results:
        return {"results": [], "note": "Nothing in the knowledge files matches; say so instead of guessing."}
    return {"results": results}


def _with_passages(question: str, passages: list[dict]) -> str:
    """The question as sent in context mode: the passages first, numbered, then the question."""
    lines = ["Passages from the course's knowledge files:", ""]
    for passage in passages:
        heading = f"[{passage['n']}] {passage['filename']}" + (f" — {passage['place']}" if passage["place"] else "")
        lines += [heading, re.sub(r"\n\s*\n", "\n", passage["text"]), ""]  # a blank line ends a passage
    lines += [
        "Answer the question below from these passages where they help, and cite each passage you use "
        "with its number, like [1].",
        "",
        f"Question: {question}",
    ]
    return "\n".join(lines)


async def _history_with_context(turn: Turn, assistant: Assistant, history: list[dict]) -> list[dict]:
    """Context mode: search with the last question and send the best passages along with it."""
    if not _searches_with_gradcap(assistant, Assistant.KnowledgeSearch.CONTEXT) or not history:
        return history
    question = history[-1].get("content") or ""
    await _knowledge_search(turn, assistant, question)
    if not turn.passages:
        return history
    turn.question_sent = _with_passages(question, turn.passages)
    return [*history[:-1], {**history[-1], "content": turn.question_sent}]


async def _responses_rounds(
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
                        turn.first_token_ms = _ms_since(started)
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
                    raise _StreamFailed(_stream_error(event))
                elif kind == "response.incomplete":
                    _add_usage(turn, event.get("response") or {})
                    details = (event.get("response") or {}).get("incomplete_details") or {}
                    raise _StreamFailed(f"The answer was cut short ({details.get('reason') or 'incomplete'}).")
        if not calls:
            return
        for call in calls:
            call_id, name, arguments = call.get("call_id", ""), call.get("name", ""), call.get("arguments") or ""
            called = await _tool_called(turn, context, assistant, call_id=call_id, name=name, arguments=arguments)
            yield called
            items.append({"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments})
            items.append({"type": "function_call_output", "call_id": call_id, "output": json.dumps(called.output)})


async def _chat_completions_rounds(
    *, client, assistant: Assistant, history: list[dict], model: str, turn: Turn, started: float, keep_raw_events: bool
) -> AsyncIterator[Event]:
    """Chat Completions, which every OpenAI-compatible server speaks: function tools only (the
    hosted tools exist on the Responses API alone); tool calls come as deltas to put together."""
    tools = [TOOLS[name].as_chat_tool() for name in assistant.function_tools if name in TOOLS]
    if _searches_with_gradcap(assistant, Assistant.KnowledgeSearch.TOOL):
        tools.insert(0, SEARCH_KNOWLEDGE.as_chat_tool())
    messages: list[dict] = [{"role": "system", "content": assistant.instructions}] if assistant.instructions else []
    messages += chat_input(history)
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
                            turn.first_token_ms = _ms_since(started)
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
            raise _StreamFailed(f"The answer was cut short ({finish_reason}).")
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
            called = await _tool_called(
                turn, context, assistant, call_id=call["id"], name=call["name"], arguments=call["arguments"]
            )
            yield called
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": json.dumps(called.output)})


async def _tool_called(
    turn: Turn, context: ToolContext, assistant: Assistant, *, call_id: str, name: str, arguments: str
) -> ToolCalled:
    """Run a function the model called, on our side, and note it in the turn."""
    parsed = _parse_arguments(arguments)
    if name == SEARCH_KNOWLEDGE.name and _searches_with_gradcap(assistant, Assistant.KnowledgeSearch.TOOL):
        output = await _knowledge_search(turn, assistant, str(parsed.get("query") or ""))
    else:
        output = tool_run(name, context=context, arguments=parsed)
    turn.tool_calls.append({"call_id": call_id, "name": name, "arguments": arguments, "output": output})
    return ToolCalled(call_id=call_id, name=name, arguments=arguments, output=output)


async def chat_complete(**kwargs) -> Completed | Failed:
    """The whole answer at once (the integration API)."""
    async for event in chat_stream(**kwargs):
        if isinstance(event, Completed | Failed):
            return event
    raise RuntimeError("chat_stream ended without a result")  # pragma: no cover


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _failed(turn: Turn, started: float, message: str, exc: Exception) -> Failed:
    _cite_passages(turn)  # the partial answer keeps the citations it has
    turn.total_ms = _ms_since(started)
    return Failed(turn=turn, message=message, detail=f"{type(exc).__name__}: {exc}")


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


def _parse_arguments(arguments: str) -> dict:
    try:
        parsed = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
