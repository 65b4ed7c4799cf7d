"""Recorded dialogs for the dialogs-page tests, made through the chat services (as the chat does)."""

from datetime import timedelta

from django.utils import timezone

from assistants.events import Turn
from dialogs.chat import services as chat
from dialogs.models import Dialog, Message


def record(
    assistant,
    turns: list[tuple[str, str]],
    *,
    user=None,
    source: str = Dialog.Source.CHAT,
    external_user_id: str = "",
    feedback: list[int | None] | None = None,
    model: str = "",
    status: str = Message.Status.COMPLETE,
    days_ago: float | None = None,
    **turn_fields,
) -> Dialog:
    """A dialog of `turns` (question, answer). `feedback` gives each answer's 👍 (1) / 👎 (-1);
    `status` and `turn_fields` (tool_calls, citations, ...) apply to the last answer."""
    dialog = chat.dialog_start(assistant=assistant, source=source, user=user, external_user_id=external_user_id)
    for number, (question, text) in enumerate(turns):
        last = number == len(turns) - 1
        _q, answer = chat.turn_ask(dialog=dialog, content=question, model=model)
        fields = turn_fields if last else {}
        chat.answer_record(
            answer=answer,
            turn=Turn(text=text, model=model, **fields),
            status=status if last else Message.Status.COMPLETE,
            error="The provider did not answer." if last and status == Message.Status.FAILED else "",
        )
        if feedback and number < len(feedback) and feedback[number] is not None:
            chat.feedback_set(answer=answer, value=feedback[number])
    if days_ago is not None:
        moment = timezone.now() - timedelta(days=days_ago)
        Dialog.objects.filter(pk=dialog.pk).update(created_at=moment, updated_at=moment)
    dialog.refresh_from_db()
    return dialog


def answers(dialog: Dialog) -> list[Message]:
    return list(dialog.messages.filter(role=Message.Role.ASSISTANT, replaced_at__isnull=True).order_by("position"))
