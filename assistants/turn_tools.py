"""The tools of a turn, run on our side: gradcap's knowledge search — as the `search_knowledge`
function or as passages sent with the question, numbered on through the turn and cited as [n] —
and the function tools the model calls."""

import json
import re

from core.db import database

from .events import CitationAdded, ToolCalled, Turn
from .models import Assistant
from .passages import passages_cited, passages_search
from .tools import SEARCH_KNOWLEDGE, ToolContext, tool_run


def searches_with_gradcap(assistant: Assistant, mode: str) -> bool:
    """Whether the assistant has knowledge files and gradcap searches them in `mode` (tool or context)."""
    return assistant.knowledge_mode == mode and assistant.has_knowledge


def cite_passages(turn: Turn) -> list[CitationAdded]:
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


async def knowledge_search(turn: Turn, assistant: Assistant, query: str) -> dict:
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


async def history_with_context(turn: Turn, assistant: Assistant, history: list[dict]) -> list[dict]:
    """Context mode: search with the last question and send the best passages along with it."""
    if not searches_with_gradcap(assistant, Assistant.KnowledgeSearch.CONTEXT) or not history:
        return history
    question = history[-1].get("content") or ""
    await knowledge_search(turn, assistant, question)
    if not turn.passages:
        return history
    turn.question_sent = _with_passages(question, turn.passages)
    return [*history[:-1], {**history[-1], "content": turn.question_sent}]


async def tool_called(
    turn: Turn, context: ToolContext, assistant: Assistant, *, call_id: str, name: str, arguments: str
) -> ToolCalled:
    """Run a function the model called, on our side, and note it in the turn."""
    parsed = _parse_arguments(arguments)
    if name == SEARCH_KNOWLEDGE.name and searches_with_gradcap(assistant, Assistant.KnowledgeSearch.TOOL):
        output = await knowledge_search(turn, assistant, str(parsed.get("query") or ""))
    else:
        output = tool_run(name, context=context, arguments=parsed)
    turn.tool_calls.append({"call_id": call_id, "name": name, "arguments": arguments, "output": output})
    return ToolCalled(call_id=call_id, name=name, arguments=arguments, output=output)


def _parse_arguments(arguments: str) -> dict:
    try:
        parsed = json.loads(arguments or "{}")
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
