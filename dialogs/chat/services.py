"""Recording chats: dialogs, turns, answers. The engine (assistants.engine) produces answers;
these services store what was asked and answered, so our rows are the history."""

from django.db import transaction
from django.db.models import Max, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from assistants.events import Completed, Failed, Turn
from assistants.models import ApiKey, Assistant
from assistants.passages import hosted_citations_link
from assistants.selectors import current_version_id

from ..models import Dialog, Message, MessageImage
from ..records.counters import dialog_messages_recount
from . import images as question_images
from .images import StoredImage

TITLE_LENGTH = 80
# What answer_record writes.
RECORDED_FIELDS = [
    "content",
    "status",
    "error",
    "error_detail",
    "citations",
    "tool_calls",
    "search_results",
    "question_sent",
    "raw_events",
    "model",
    "wire_api",
    "input_tokens",
    "output_tokens",
    "first_token_ms",
    "total_ms",
]


def dialog_start(
    *,
    assistant: Assistant,
    source: str,
    user: User | None = None,
    external_user_id: str = "",
    api_key: ApiKey | None = None,
    **known,
) -> Dialog:
    """A new dialog; `known` are column values already known at its start (title, figures)."""
    return Dialog.objects.create(
        course=assistant.course,
        assistant=assistant,
        user=user,
        source=source,
        external_user_id=external_user_id,
        api_key=api_key,
        **known,
    )


@transaction.atomic
def dialog_ask(
    *,
    assistant: Assistant,
    source: str,
    content: str,
    user: User | None = None,
    external_user_id: str = "",
    api_key: ApiKey | None = None,
    model: str = "",
    images: list[StoredImage] = (),
) -> tuple[Message, Message]:
    """Start a dialog with its first question (with its images, stored already) and the answer it
    awaits (status pending).

    The same rows as dialog_start + turn_ask, in four queries instead of eight: no other request
    knows the new dialog yet, so it needs no lock, and its figures are known without a recount."""
    answer_model = model or assistant.model
    dialog = dialog_start(
        assistant=assistant,
        source=source,
        user=user,
        external_user_id=external_user_id,
        api_key=api_key,
        title=_title(content),
        message_count=2,
        model=answer_model,
    )
    question, answer = Message.objects.bulk_create(
        [
            Message(dialog=dialog, position=1, role=Message.Role.USER, content=content),
            Message(
                dialog=dialog,
                position=2,
                role=Message.Role.ASSISTANT,
                status=Message.Status.PENDING,
                model=answer_model,
                instructions_version_id=current_version_id(assistant),
            ),
        ]
    )
    question_images.images_attach(question, images)
    return question, answer


def _title(content: str) -> str:
    return " ".join(content.split())[:TITLE_LENGTH] or _("Image")


def _next_position(dialog: Dialog) -> int:
    return (dialog.messages.aggregate(last=Max("position"))["last"] or 0) + 1


@transaction.atomic
def turn_ask(
    *,
    dialog: Dialog,
    content: str,
    replaces: Message | None = None,
    model: str = "",
    images: list[StoredImage] = (),
) -> tuple[Message, Message]:
    """Record a user message (with its images, stored already) and the assistant answer it awaits
    (status pending). `model` overrides the assistant's model for this answer (the playground's
    model switch). A question that `replaces` another keeps that one's images."""
    dialog = Dialog.objects.select_for_update().get(pk=dialog.pk)  # serialises positions
    position = _next_position(dialog)
    question = Message.objects.create(
        dialog=dialog, position=position, role=Message.Role.USER, content=content, replaces=replaces
    )
    if images:
        question_images.images_attach(question, images)
    elif replaces is not None:
        question_images.images_copy(replaces, question)
    answer = Message.objects.create(
        dialog=dialog,
        position=position + 1,
        role=Message.Role.ASSISTANT,
        status=Message.Status.PENDING,
        model=model or (dialog.assistant.model if dialog.assistant else ""),
        instructions_version_id=current_version_id(dialog.assistant) if dialog.assistant else None,
    )
    if not dialog.title:
        dialog.title = _title(content)
    dialog.save(update_fields=["title", "updated_at"])
    dialog_messages_recount(dialog.pk)
    return question, answer


@transaction.atomic
def turn_edit(*, question: Message, content: str) -> tuple[Message, Message]:
    """Edit a user message and ask again. The old question and everything after it stay recorded
    (marked replaced), so the history of the hint-and-regenerate trick is kept."""
    dialog = Dialog.objects.select_for_update().get(pk=question.dialog_id)  # before changing its messages
    dialog.messages.filter(position__gte=question.position, replaced_at__isnull=True).update(replaced_at=timezone.now())
    return turn_ask(dialog=dialog, content=content, replaces=question)


@transaction.atomic
def turn_retry(*, answer: Message) -> tuple[Message, Message]:
    """Ask the question of a failed or stopped answer again."""
    question = answer.dialog.messages.filter(position__lt=answer.position, role=Message.Role.USER).last()
    return turn_edit(question=question, content=question.content)


def history_before(answer: Message) -> list[dict]:
    """The active turns before `answer` as the engine wants them, read as plain values (a chat
    stream's first token waits for this)."""
    messages = Message.objects.filter(
        dialog_id=answer.dialog_id, replaced_at__isnull=True, position__lt=answer.position
    )
    rows = list(messages.order_by("position").values("id", "role", "content", "image_count"))
    image_ids = _image_ids([row["id"] for row in rows if row["image_count"]])
    return [_history_item(row["role"], row["content"], image_ids.get(row["id"])) for row in rows]


def history_of(messages: list[Message]) -> list[dict]:
    """What history_before would read, from turns at hand (a new dialog's question)."""
    image_ids = _image_ids([message.pk for message in messages if message.image_count])
    return [_history_item(message.role, message.content, image_ids.get(message.pk)) for message in messages]


def _history_item(role: str, content: str, image_ids: list[int] | None) -> dict:
    """A turn for the engine; a question's images by their ids (dialogs.chat.images.history_images
    reads them just before the model is asked)."""
    item = {"role": role, "content": content}
    if image_ids:
        item["image_ids"] = image_ids
    return item


def _image_ids(message_ids: list[int]) -> dict[int, list[int]]:
    if not message_ids:
        return {}
    found: dict[int, list[int]] = {}
    rows = MessageImage.objects.filter(message_id__in=message_ids).order_by("message_id", "position")
    for message_id, image_id in rows.values_list("message_id", "id"):
        found.setdefault(message_id, []).append(image_id)
    return found


def answer_claim(answer: Message) -> bool:
    """Pending → streaming, once: a reconnecting browser must not generate the answer twice."""
    claimed = Message.objects.filter(pk=answer.pk, status=Message.Status.PENDING).update(
        status=Message.Status.STREAMING
    )
    return claimed == 1


@transaction.atomic
def answer_record(*, answer: Message, turn: Turn, status: str, error: str = "", error_detail: str = "") -> Message:
    """Store the answer as it ended. A stop requested meanwhile wins over "complete"."""
    if _lock_dialog(answer.dialog_id, status_of=answer.pk) == Message.Status.STOPPED:
        status = Message.Status.STOPPED
    answer.content = turn.text
    answer.status = status
    answer.error = error
    answer.error_detail = error_detail[:2000]
    answer.citations = turn.citations
    if any(not c.get("passage_id") for c in turn.citations) and answer.dialog.assistant_id:
        answer.citations = hosted_citations_link(
            assistant_id=answer.dialog.assistant_id, citations=turn.citations, search_results=turn.search_results
        )
    answer.tool_calls = turn.tool_calls
    answer.search_results = turn.search_results
    answer.question_sent = turn.question_sent
    answer.raw_events = turn.raw_events
    answer.model = turn.model or answer.model
    answer.wire_api = turn.wire_api
    answer.input_tokens = turn.input_tokens or None
    answer.output_tokens = turn.output_tokens or None
    answer.first_token_ms = turn.first_token_ms
    answer.total_ms = turn.total_ms
    answer.save(update_fields=RECORDED_FIELDS)
    dialog_messages_recount(answer.dialog_id, updated_at=timezone.now())
    return answer


def answer_finish(*, answer: Message, result: Completed | Failed) -> Message:
    """Record how the engine's turn ended: complete, or failed with the message the learner saw
    and the detail for curators. The chat's stream and the integration API both end here."""
    if isinstance(result, Completed):
        return answer_record(answer=answer, turn=result.turn, status=Message.Status.COMPLETE)
    return answer_record(
        answer=answer, turn=result.turn, status=Message.Status.FAILED, error=result.message, error_detail=result.detail
    )


def answer_stop(*, answer: Message) -> None:
    """The learner pressed stop: the answer ends as "stopped" (its stream keeps what was written)."""
    Message.objects.filter(pk=answer.pk, status__in=[Message.Status.PENDING, Message.Status.STREAMING]).update(
        status=Message.Status.STOPPED
    )


def answer_cut(*, answer: Message, text: str) -> None:
    """The stream ended early (stop, page closed): keep the text written so far, marked stopped."""
    unfinished = [Message.Status.PENDING, Message.Status.STREAMING, Message.Status.STOPPED]
    cut = Message.objects.filter(pk=answer.pk, status__in=unfinished).update(
        status=Message.Status.STOPPED, content=text
    )
    if cut:
        Dialog.objects.filter(pk=answer.dialog_id).update(updated_at=timezone.now(), triage_due=True)


@transaction.atomic
def feedback_set(*, answer: Message, value: int | None) -> Message:
    _lock_dialog(answer.dialog_id)
    answer.feedback = value
    answer.save(update_fields=["feedback"])
    dialog_messages_recount(answer.dialog_id)
    return answer


def _lock_dialog(dialog_id: int, *, status_of: int | None = None) -> str | None:
    """Changes to one dialog's messages take turns, so each recount sees the one before it.
    With `status_of`, the same query reads that message's status as it is under the lock."""
    locked = Dialog.objects.select_for_update(of=("self",)).filter(pk=dialog_id)
    if status_of is None:
        list(locked.values_list("pk", flat=True))
        return None
    status = Message.objects.filter(pk=status_of).values("status")
    return locked.annotate(answer_status=Subquery(status)).values_list("answer_status", flat=True).first()


def earlier_versions(dialog: Dialog) -> dict[int, list[Message]]:
    """For each edited question: the questions it replaced (newest first), to show as history."""
    replaced = {m.pk: m for m in dialog.messages.filter(replaced_at__isnull=False, role=Message.Role.USER)}
    versions: dict[int, list[Message]] = {}
    for message in dialog.messages.filter(replaces__isnull=False, replaced_at__isnull=True):
        chain, current = [], replaced.get(message.replaces_id)
        while current is not None:
            chain.append(current)
            current = replaced.get(current.replaces_id)
        versions[message.pk] = chain
    return versions
