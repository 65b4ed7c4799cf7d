"""A dialog as example messages: what 🎓 copies into a draft (services.example_from_dialog).

A question with images becomes OpenAI's vision parts, its images as data URLs read from the chat's
storage (dialogs.chat.images), all the dialog's in one query.
"""

import json
import logging
from typing import Any

from assistants.tools import tool_definition

from ..chat.images import image_data_url
from ..models import Dialog, Message, MessageImage
from . import images

logger = logging.getLogger(__name__)


def _function_tool(name: str) -> dict | None:
    tool = tool_definition(name)
    if tool is None:
        return None
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
    }


def messages_from_dialog(dialog: Dialog, *, upto: Message | None = None) -> tuple[list[dict], list[dict]]:
    """The dialog's active turns (up to and including `upto`) as example messages, and the tools
    they call. Function calls become an assistant message with `tool_calls` and a tool message
    per output, as OpenAI's format wants them."""
    recorded = dialog.messages.filter(replaced_at__isnull=True).order_by("position")
    if upto is not None:
        recorded = recorded.filter(position__lte=upto.position)
    messages: list[dict] = []
    tool_names: dict[str, None] = {}
    recorded = list(recorded.only("role", "content", "tool_calls", "question_sent", "image_count"))
    urls = question_images([message.pk for message in recorded if message.image_count])
    for message in recorded:
        answered = message.role == Message.Role.ASSISTANT and messages and messages[-1]["role"] == Message.Role.USER
        if answered and message.question_sent:
            # The model got the question with gradcap's passages (context mode): so does the example.
            messages[-1]["content"] = images.with_text(messages[-1]["content"], message.question_sent)
        if message.role == Message.Role.ASSISTANT and message.tool_calls:
            calls = [call for call in message.tool_calls if call.get("call_id")]
            if calls:
                messages.append(
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {
                                "id": call["call_id"],
                                "type": "function",
                                "function": {"name": call["name"], "arguments": call.get("arguments") or "{}"},
                            }
                            for call in calls
                        ],
                        "weight": 0,
                    }
                )
                for call in calls:
                    tool_names[call["name"]] = None
                    output = call.get("output")
                    content = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
                    messages.append({"role": "tool", "tool_call_id": call["call_id"], "content": content})
        content = images.image_content(message.content, urls.get(message.pk, []))
        entry: dict[str, Any] = {"role": message.role, "content": content}
        if message.role == Message.Role.ASSISTANT:
            entry["weight"] = 1
        messages.append(entry)
    tools = [tool for tool in map(_function_tool, tool_names) if tool is not None]
    return messages, tools


def question_images(message_ids: list[int]) -> dict[int, list[str]]:
    """The questions' images as data URLs, in order, by message (one query); a lost file is left out."""
    found: dict[int, list[str]] = {}
    for image in MessageImage.objects.filter(message__in=message_ids).order_by("message_id", "position"):
        try:
            found.setdefault(image.message_id, []).append(image_data_url(image))
        except OSError:
            logger.error("The image file %s of message %s cannot be read", image.file.name, image.message_id)
    return found
