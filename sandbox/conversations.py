"""Conversations: stored items that a response can continue and append to."""

from django.db import transaction

from .errors import invalid, not_found
from .models import Conversation, ConversationItem, new_id, unix

_ITEM_PREFIXES = {"message": "msg_", "function_call": "fc_", "function_call_output": "fco_", "file_search_call": "fs_"}


def item_normalize(item) -> dict:
    """An input item as the API stores and shows it: typed, with an id, message text as parts."""
    if isinstance(item, str):
        item = {"role": "user", "content": item}
    if not isinstance(item, dict):
        raise invalid("Invalid input item: expected an object.", param="input")
    kind = item.get("type") or "message"
    if kind not in _ITEM_PREFIXES:
        raise invalid(f"Invalid input item type '{kind}'.", param="input")
    normalized = {**item, "type": kind, "id": item.get("id") or new_id(_ITEM_PREFIXES[kind])}
    if kind == "message":
        role = item.get("role")
        if role not in ("user", "assistant", "system", "developer"):
            raise invalid(f"Invalid role '{role}' in input message.", param="input")
        part_type = "output_text" if role == "assistant" else "input_text"
        content = item.get("content")
        if isinstance(content, str):
            content = [{"type": part_type, "text": content, **({"annotations": []} if role == "assistant" else {})}]
        normalized["content"] = content or []
        normalized["status"] = item.get("status") or "completed"
    return normalized


def conversation_to_dict(conversation: Conversation) -> dict:
    return {
        "id": conversation.public_id,
        "object": "conversation",
        "created_at": unix(conversation.created_at),
        "metadata": conversation.metadata or {},
    }


def conversation_get(conversation_id: str) -> Conversation:
    conversation = Conversation.objects.filter(public_id=conversation_id).first()
    if conversation is None:
        raise not_found("conversation", conversation_id, param="conversation_id")
    return conversation


@transaction.atomic
def conversation_create(*, items=None, metadata=None) -> Conversation:
    conversation = Conversation.objects.create(public_id=new_id("conv_"), metadata=metadata or {})
    items_append(conversation, [item_normalize(item) for item in items or []])
    return conversation


def items_append(conversation: Conversation, items: list[dict]) -> list[ConversationItem]:
    return ConversationItem.objects.bulk_create(
        ConversationItem(conversation=conversation, public_id=item["id"], data=item) for item in items
    )


def item_get(conversation: Conversation, item_id: str) -> ConversationItem:
    item = conversation.items.filter(public_id=item_id).first()
    if item is None:
        raise not_found("item", item_id, param="item_id")
    return item


def conversation_history(conversation: Conversation) -> list[dict]:
    return [item.data for item in conversation.items.order_by("pk")]
