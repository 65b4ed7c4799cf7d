"""Server-side function tools the assistant may call, chosen per assistant from this registry.

Each tool declares a JSON schema (sent to the model as a Responses API function tool) and a Python
function that runs on our side with the parsed arguments and a `ToolContext`. Results are JSON-
serialisable and sent back as `function_call_output`.
"""

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from courses.models import Course


@dataclass(frozen=True)
class ToolContext:
    course: Course


@dataclass(frozen=True)
class Tool:
    name: str
    label: Any  # lazy translation, shown to curators
    description: str  # for the model: English, precise
    parameters: dict
    run: Callable[[ToolContext, dict], dict] | None  # None: the engine runs it (search_knowledge)

    def as_responses_tool(self) -> dict:
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
            "strict": True,
        }

    def as_chat_tool(self) -> dict:
        """The same function as a Chat Completions tool."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
                "strict": True,
            },
        }


def _course_info(context: ToolContext, arguments: dict) -> dict:
    course = context.course
    return {"title": course.title, "description": course.description, "active": course.is_active}


def _current_datetime(context: ToolContext, arguments: dict) -> dict:
    asked = arguments.get("timezone") or "UTC"
    note = None
    try:
        zone = zoneinfo.ZoneInfo(asked)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        # Answer anyway: the date in UTC is more useful to the learner than an error.
        zone, note = zoneinfo.ZoneInfo("UTC"), f"unknown time zone {asked!r}; the time is given in UTC"
    now = timezone.now().astimezone(zone)
    result = {
        "timezone": str(zone),
        "date": now.date().isoformat(),
        "time": now.strftime("%H:%M"),
        "weekday": now.strftime("%A"),
        "iso": now.isoformat(timespec="seconds"),
    }
    if note:
        result["note"] = note
    return result


TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool(
            name="course_info",
            label=_("Course information (title and description)"),
            description="Get the title and description of the course the learner is studying.",
            parameters={"type": "object", "properties": {}, "required": [], "additionalProperties": False},
            run=_course_info,
        ),
        Tool(
            name="current_datetime",
            label=_("Today's date and time"),
            description="Get the current date, time and weekday, e.g. to answer questions about deadlines.",
            parameters={
                "type": "object",
                "properties": {
                    "timezone": {
                        "type": ["string", "null"],
                        "description": "IANA time zone such as Europe/Moscow; null for UTC.",
                    }
                },
                "required": ["timezone"],
                "additionalProperties": False,
            },
            run=_current_datetime,
        ),
    )
}


# gradcap's own knowledge search (assistants.passages), offered by the engine where the assistant
# searches its knowledge files with gradcap: not one of the functions curators choose. The engine
# runs it itself (numbered passages, citations; in a thread, since it reads the database).
SEARCH_KNOWLEDGE = Tool(
    name="search_knowledge",
    label=_("Search the knowledge files"),
    description=(
        "Search the course's knowledge files (lessons, handouts, rules) for passages about the learner's "
        "question. Returns numbered passages with their file names. Answer from them, and cite each passage "
        "you use with its number in square brackets, like [1]."
    ),
    parameters={
        "type": "object",
        "properties": {
            "query": {
                "type": "string",
                "description": "What to look for, in the learner's language: their question or its key words.",
            }
        },
        "required": ["query"],
        "additionalProperties": False,
    },
    run=None,
)


def tool_definition(name: str) -> Tool | None:
    """A function the model may have called: a registered one or gradcap's knowledge search."""
    return SEARCH_KNOWLEDGE if name == SEARCH_KNOWLEDGE.name else TOOLS.get(name)


def tool_choices() -> list[tuple[str, Any]]:
    return [(tool.name, tool.label) for tool in TOOLS.values()]


def tool_run(name: str, *, context: ToolContext, arguments: dict) -> dict:
    """Run a registered tool. Unknown tools and failing tools answer with an error object, which the
    model reads, rather than breaking the chat."""
    tool = TOOLS.get(name)
    if tool is None:
        return {"error": f"unknown tool {name!r}"}
    try:
        return tool.run(context, arguments)
    except Exception as exc:  # a tool bug must not end the learner's chat
        return {"error": f"{type(exc).__name__}: {exc}"}
