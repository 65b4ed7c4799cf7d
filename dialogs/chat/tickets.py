"""Stream tickets: the request that asks a question prepares what its answer's stream needs.

Opening the stream is where the learner waits for the first word, and reading the answer with its
dialog, assistant, provider and course plus the turns before it costs several milliseconds of ORM
work. The ask has all of it at hand a moment earlier, so it leaves a ticket in the "tickets" cache
for the stream to pick up: Redis where there is one (shared by every web process), else the
memory of the process that took the question. A stream without a ticket — served by another
process, opened later, or after the ticket expired — reads the database instead; the answer is
the same either way.

A ticket holds ids, texts and model rows as the database has them (the provider's API key stays
encrypted). It is honoured only for the session, course, dialog and chat kind it was issued for:
the stream that presents the ask's session cookie is the ask's browser, so it needs neither the
session's row nor the user's (two queries, and a signed session decoded). What the ask checked
(the login, the membership) stands for the ticket's short life (TICKET_SECONDS); a stream opened
later, or from another session, reads everything from the database and checks it again.
"""

from dataclasses import dataclass

from django.core.cache import caches
from django.utils.crypto import constant_time_compare

from accounts.models import User
from courses.access import CourseAccess

from ..models import Message
from . import services

TICKET_SECONDS = 120


@dataclass(frozen=True)
class StreamTicket:
    user_id: int
    session_key: str
    slug: str
    dialog_id: int
    playground: bool
    access: CourseAccess
    answer: Message  # with dialog, dialog.assistant (and its provider) and dialog.course loaded
    history: list[dict]


def _key(answer_id: int) -> str:
    return f"gradcap:stream-ticket:{answer_id}"


def ticket_issue(
    *,
    user: User,
    session_key: str | None,
    access: CourseAccess,
    answer: Message,
    playground: bool,
    history: list[dict] | None = None,
) -> None:
    """Leave the stream's ticket for the session that asked; `history`, the turns before the
    answer, when the caller knows them."""
    if not session_key:
        return
    dialog = answer.dialog
    assistant = dialog.assistant
    if assistant is None:
        return
    assistant.provider  # noqa: B018 -- loaded now, so the stream need not
    dialog.course = assistant.course = access.course  # the engine's tools read the course
    ticket = StreamTicket(
        user_id=user.pk,
        session_key=session_key,
        slug=access.course.slug,
        dialog_id=dialog.pk,
        playground=playground,
        access=access,
        answer=answer,
        history=services.history_before(answer) if history is None else history,
    )
    caches["tickets"].set(_key(answer.pk), ticket, TICKET_SECONDS)


def ticket_take(
    *, session_key: str, slug: str, dialog_id: int, message_id: int, playground: bool
) -> StreamTicket | None:
    """The ticket for this answer, if it was issued to this session for this very stream."""
    if not session_key:
        return None
    ticket = caches["tickets"].get(_key(message_id))
    if not isinstance(ticket, StreamTicket):
        return None
    if (ticket.slug, ticket.dialog_id, ticket.playground) != (slug, dialog_id, playground):
        return None
    if not constant_time_compare(ticket.session_key, session_key):
        return None
    return ticket


def ticket_drop(answer_id: int) -> None:
    """The stream is over: a later reconnect reads the database (and finds the answer written)."""
    caches["tickets"].delete(_key(answer_id))
