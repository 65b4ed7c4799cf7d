import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import OperationalError
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from assistants.engine import chat_stream
from assistants.events import CitationAdded, Completed, Failed, TextDelta, ToolCalled
from assistants.notices import assistant_notices
from assistants.selectors import assistants_for_chat
from core.db import database
from courses.access import CourseAccess
from llm.catalog import MODELS

from ..access import (
    chat_dialogs_for_user,
    get_chat_answer_for_user,
    get_chat_course_for_user,
    get_chat_dialog_for_user,
    get_chat_message_for_user,
)
from ..models import Dialog, Message
from . import images as question_images
from . import services, tickets
from .forms import AskForm, FeedbackForm, MessageForm

logger = logging.getLogger(__name__)
# Pauses (seconds) between tries at recording a streamed answer while the database is overloaded.
RECORD_RETRY_PAUSES = (0.5, 1, 2, 4)


def _chat_url(name: str, *, playground: bool, **kwargs) -> str:
    return reverse(f"dialogs:{'playground' if playground else 'chat'}_{name}", kwargs=kwargs)


def _page(request: HttpRequest, access: CourseAccess, dialog: Dialog | None, *, playground: bool) -> HttpResponse:
    assistants = list(access.course.assistants.select_related("provider"))
    transcript = (
        list(dialog.messages.filter(replaced_at__isnull=True).select_related("instructions_version")) if dialog else []
    )
    earlier = services.earlier_versions(dialog) if dialog else {}
    for message in transcript:
        message.earlier = earlier.get(message.pk, [])
    prefetch_related_objects([message for message in transcript if message.image_count], "images")
    context = {
        "access": access,
        "course": access.course,
        "dialog": dialog,
        "transcript": transcript,
        "models": MODELS,
        "dialogs": chat_dialogs_for_user(request.user, access, playground=playground)[:50],
        "assistants": assistants,
        "form": AskForm(assistants=assistants, playground=playground),
        "playground": playground,
        # Curators see in the playground what the assistants' pages warn about (a model that stops serving).
        "assistant_notices": [
            {"assistant": assistant, "notices": notices}
            for assistant in (assistants if playground else [])
            if (notices := assistant_notices(assistant))
        ],
    }
    return render(request, "dialogs/chat.html", context)


def _turn_response(
    request: HttpRequest,
    access: CourseAccess,
    question: Message,
    answer: Message,
    *,
    playground: bool,
    history: list[dict] | None = None,
) -> HttpResponse:
    """After asking: the new turn's HTML for the page's script, or the dialog page without it.
    The answer's stream will find what it needs in a ticket (dialogs.chat.tickets)."""
    tickets.ticket_issue(
        user=request.user,
        session_key=request.session.session_key,
        access=access,
        answer=answer,
        playground=playground,
        history=history,
    )
    dialog = answer.dialog
    if request.headers.get("Accept") == "application/json":
        html = render_to_string(
            "dialogs/_turn.html",
            {"messages": [question, answer], "dialog": dialog, "playground": playground, "course": dialog.course},
            request=request,
        )
        url = _chat_url("dialog", playground=playground, slug=dialog.course.slug, dialog_id=dialog.pk)
        return JsonResponse({"html": html, "dialog_url": url, "replaces": question.replaces_id})
    return redirect(_chat_url("dialog", playground=playground, slug=dialog.course.slug, dialog_id=dialog.pk))


@require_GET
@login_required
def chat_index(request: HttpRequest, slug: str, playground: bool = False) -> HttpResponse:
    access = get_chat_course_for_user(request.user, slug, playground=playground)
    return _page(request, access, None, playground=playground)


@require_GET
@login_required
def chat_dialog(request: HttpRequest, slug: str, dialog_id: int, playground: bool = False) -> HttpResponse:
    access, dialog = get_chat_dialog_for_user(request.user, slug, dialog_id, playground=playground)
    return _page(request, access, dialog, playground=playground)


# Asking (and editing, retrying) is async: its database work runs in core.db's threads, so the
# request needs no thread and no connection of its own (see core.db).


@require_POST
async def chat_ask(request: HttpRequest, slug: str, dialog_id: int | None = None, playground: bool = False):
    """Ask a question: in a new dialog (no id) or an existing one."""
    return await database(_chat_ask, request, slug, dialog_id, playground)


@login_required
def _chat_ask(request: HttpRequest, slug: str, dialog_id: int | None, playground: bool) -> HttpResponse:
    access = get_chat_course_for_user(request.user, slug, playground=playground)
    dialog = None
    if dialog_id is not None:  # the dialog first: one that is not the user's is a 404, whatever the body says
        _access, dialog = get_chat_dialog_for_user(request.user, slug, dialog_id, playground=playground)
        if dialog.assistant is None:
            raise Http404
    assistants = assistants_for_chat(access.course)
    form = AskForm(request.POST, request.FILES, assistants=assistants, playground=playground)
    if not form.is_valid():
        return _invalid(request, form)
    model = form.cleaned_data.get("model", "") if playground else ""
    content = form.cleaned_data["content"]
    assistant = dialog.assistant if dialog is not None else form.cleaned_data["assistant"]
    if assistant is None:
        form.add_error(None, _("This course has no assistant yet."))
        return _invalid(request, form)
    images = form.cleaned_data["images"]
    if refusal := question_images.images_refusal_for(
        model or assistant.model, images=images, dialog=dialog
    ):  # said before anything is recorded
        form.add_error("images", refusal)
        return _invalid(request, form)
    try:
        stored = question_images.files_store(access.course.pk, images)
    except question_images.ImagesNotStored as error:
        form.add_error("images", error.message)
        return _invalid(request, form, status=503)
    try:
        if dialog is not None:
            question, answer = services.turn_ask(dialog=dialog, content=content, model=model, images=stored)
            return _turn_response(request, access, question, answer, playground=playground)
        assistant.course = access.course
        source = Dialog.Source.PLAYGROUND if playground else Dialog.Source.CHAT
        question, answer = services.dialog_ask(
            assistant=assistant, source=source, content=content, user=request.user, model=model, images=stored
        )
    except BaseException:
        question_images.files_forget(stored)  # the question was not recorded: nor are its images
        raise
    history = services.history_of([question])  # all a new dialog's answer has before it
    return _turn_response(request, access, question, answer, playground=playground, history=history)


@require_POST
async def chat_edit(request: HttpRequest, slug: str, dialog_id: int, message_id: int, playground: bool = False):
    """Edit my question and regenerate the answer (the old turn is kept as history)."""
    return await database(_chat_edit, request, slug, dialog_id, message_id, playground)


@login_required
def _chat_edit(request: HttpRequest, slug: str, dialog_id: int, message_id: int, playground: bool) -> HttpResponse:
    access, question = get_chat_message_for_user(
        request.user, slug, dialog_id, message_id, playground=playground, message_role=Message.Role.USER
    )
    form = MessageForm(request.POST)
    assistant = question.dialog.assistant
    refusal = assistant and question_images.images_refusal_for(assistant.model, images=[], dialog=question.dialog)
    if form.is_valid() and refusal:
        form.add_error(None, refusal)
    if not form.is_valid():
        return _invalid(request, form)
    new_question, answer = services.turn_edit(question=question, content=form.cleaned_data["content"])
    return _turn_response(request, access, new_question, answer, playground=playground)


@require_POST
async def chat_retry(request: HttpRequest, slug: str, dialog_id: int, message_id: int, playground: bool = False):
    return await database(_chat_retry, request, slug, dialog_id, message_id, playground)


@login_required
def _chat_retry(request: HttpRequest, slug: str, dialog_id: int, message_id: int, playground: bool) -> HttpResponse:
    access, answer = get_chat_message_for_user(
        request.user, slug, dialog_id, message_id, playground=playground, message_role=Message.Role.ASSISTANT
    )
    question, new_answer = services.turn_retry(answer=answer)
    return _turn_response(request, access, question, new_answer, playground=playground)


@require_POST
@login_required
def chat_stop(request: HttpRequest, slug: str, dialog_id: int, message_id: int, playground: bool = False):
    _access, answer = get_chat_message_for_user(request.user, slug, dialog_id, message_id, playground=playground)
    services.answer_stop(answer=answer)
    return HttpResponse(status=204)


@require_POST
@login_required
def chat_feedback(request: HttpRequest, slug: str, dialog_id: int, message_id: int, playground: bool = False):
    _access, answer = get_chat_message_for_user(
        request.user, slug, dialog_id, message_id, playground=playground, message_role=Message.Role.ASSISTANT
    )
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        return HttpResponse(status=400)
    value = form.cleaned_data["value"]
    services.feedback_set(answer=answer, value=None if answer.feedback == value else value)  # a second click undoes
    context = {"message": answer, "dialog": answer.dialog, "course": answer.dialog.course, "playground": playground}
    return render(request, "dialogs/_message.html#feedback", context)


def _invalid(request: HttpRequest, form: MessageForm, *, status: int = 400) -> HttpResponse:
    errors = [str(e) for errors in form.errors.values() for e in errors]
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"errors": errors}, status=status)
    return HttpResponse(" ".join(errors), status=status, content_type="text/plain; charset=utf-8")


# Streaming the answer: Server-Sent Events from an async view (served by uvicorn).


def _sse(event: str, data: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _load_answer_for_stream(request: HttpRequest, slug: str, dialog_id: int, message_id: int, playground: bool):
    # Everything before the first token happens in this one call (one thread, one connection)
    # and stays lean: one query reads the answer with all it needs and the user's role (see
    # get_chat_answer_for_user), one reads the turns before it as plain values. The claim runs
    # later, while the provider is asked.
    access, answer = get_chat_answer_for_user(request.user, slug, dialog_id, message_id, playground=playground)
    assistant = answer.dialog.assistant
    assistant.course = access.course
    return answer, assistant, services.history_before(answer), access


def _stream_inputs(request: HttpRequest, slug: str, dialog_id: int, message_id: int, playground: bool):
    """The answer, its assistant, the history and the access: from the ask's ticket (issued to this
    session: no session or user to read), else the database."""
    ticket = tickets.ticket_take(
        session_key=request.COOKIES.get(settings.SESSION_COOKIE_NAME, ""),
        slug=slug,
        dialog_id=dialog_id,
        message_id=message_id,
        playground=playground,
    )
    if ticket is None:
        if not request.user.is_authenticated:
            raise Http404
        answer, assistant, history, access = _load_answer_for_stream(request, slug, dialog_id, message_id, playground)
    else:
        answer, assistant, history, access = (
            ticket.answer,
            ticket.answer.dialog.assistant,
            ticket.history,
            ticket.access,
        )
    return answer, assistant, question_images.history_images(history), access


def _render_message(
    request: HttpRequest, answer: Message, access: CourseAccess, playground: bool, *, refresh: bool = True
) -> str:
    if refresh:
        answer.refresh_from_db()
    context = {
        "message": answer,
        "dialog": answer.dialog,
        "course": answer.dialog.course,
        "access": access,  # curators get the 🎓 button
        "playground": playground,
    }
    return render_to_string("dialogs/_message.html", context, request=request)


def _answer_finish(
    request: HttpRequest, answer: Message, result: Completed | Failed | None, access: CourseAccess, playground: bool
) -> str:
    """The stream is over: record the answer, drop its ticket, render it (one visit to the database)."""
    if result is not None:
        services.answer_finish(answer=answer, result=result)
    tickets.ticket_drop(answer.pk)
    return _render_message(request, answer, access, playground, refresh=result is None)


def _answer_cut(answer: Message, text: str) -> None:
    services.answer_cut(answer=answer, text=text)
    tickets.ticket_drop(answer.pk)


async def _recorded[R](function: Callable[..., R], *args) -> R:
    """Record what was answered, even through a moment of overload: a database that is locked or
    out of pooled connections is tried again (the text is in memory, the learner has seen it)."""
    for pause in RECORD_RETRY_PAUSES:
        try:
            return await database(function, *args)
        except OperationalError:
            logger.warning("Recording a streamed answer failed; trying again in %s s", pause, exc_info=True)
            await asyncio.sleep(pause)
    return await database(function, *args)


@require_GET
async def chat_stream_view(request: HttpRequest, slug: str, dialog_id: int, message_id: int, playground=False):
    """Stream the pending answer as Server-Sent Events: delta, citation, tool, then done.

    The stream holds no database connection: each visit to the database (the inputs, the claim,
    the record) takes one from core.db's threads for its queries and gives it back, so a learner
    waiting for a slow model costs nothing but a socket."""
    answer, assistant, history, access = await database(
        _stream_inputs, request, slug, dialog_id, message_id, playground
    )

    async def already_answered() -> AsyncIterator[bytes]:
        # Answered, or being answered by another connection: show what there is.
        html = await database(_render_message, request, answer, access, playground)
        yield _sse("done", {"html": html})

    if answer.status != Message.Status.PENDING:
        return _event_stream(already_answered())
    # The claim (pending → streaming, once) runs while the provider is asked: it is only needed
    # before the first word is sent, and waiting for it first would delay that word. Should
    # another connection win the claim meanwhile, this one drops its provider stream unread.
    claim = asyncio.ensure_future(database(services.answer_claim, answer))

    async def events() -> AsyncIterator[bytes]:
        written = ""
        claimed = None
        stream = chat_stream(
            assistant=assistant, history=history, model=answer.model or None, keep_raw_events=playground
        )
        try:
            result = None
            async for event in stream:
                if claimed is None:
                    claimed = await claim
                    if not claimed:
                        await stream.aclose()
                        async for chunk in already_answered():
                            yield chunk
                        return
                if isinstance(event, TextDelta):
                    written += event.text
                    yield _sse("delta", {"text": event.text})
                elif isinstance(event, CitationAdded):
                    yield _sse("citation", {"number": event.number, "filename": event.filename})
                elif isinstance(event, ToolCalled):
                    yield _sse("tool", {"name": event.name})
                else:
                    result = event
            if claimed is None and not await claim:
                return
            html = await _recorded(_answer_finish, request, answer, result, access, playground)
            yield _sse("done", {"html": html})
        except (asyncio.CancelledError, GeneratorExit):
            # The learner pressed stop or left the page: keep what was written.
            if await asyncio.shield(claim):
                await asyncio.shield(_recorded(_answer_cut, answer, written))
            raise

    return _event_stream(events())


def _event_stream(events: AsyncIterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # proxies must not buffer the stream
    return response
