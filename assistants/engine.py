"""The chat engine: one assistant turn on the Responses API or Chat Completions, as plain events.

The engine is stateless. It builds the request from the assistant's configuration in our database
(instructions, tools, vector store) and the history it is given, streams the provider's events,
runs server-side function calls in a loop, and yields `Event`s. Recording them is the caller's job
(dialogs), which keeps this module free of any later app. The events are in `assistants.events`,
the two wire APIs with their tool loops in `assistants.wire`, gradcap's search and the function
tools of a turn in `assistants.turn_tools`.

Knowledge files reach the model in one of three ways (`Assistant.knowledge_mode`): the provider's
hosted file_search (Responses API), gradcap's own search as the `search_knowledge` function, or
gradcap's best passages sent with the question. With gradcap's search the passages are numbered,
the answer cites them as [n], and those become the citations; the only database work, the
search, runs in a thread and gives its connection back at once.

Providers fail: the SDK retries 429, 5xx and timeouts within the provider's `max_retries`; what is
still failing becomes a `Failed` event with a message for the learner, and the text received so far
is in it, so the caller can keep the partial answer.
"""

import time
from collections.abc import AsyncIterator

import openai
from django.utils.translation import gettext as _

from llm.clients import async_client_for
from llm.models import Provider

from .events import Completed, Event, Failed, Turn
from .models import Assistant
from .turn_tools import cite_passages, history_with_context
from .wire import StreamFailed, chat_completions_rounds, ms_since, responses_rounds


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
    rounds = chat_completions_rounds if wire_api == Provider.WireApi.CHAT_COMPLETIONS else responses_rounds
    try:
        history = await history_with_context(turn, assistant, history)
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
    except (StreamFailed, openai.APIError) as exc:
        # openai.APIError itself: an error object inside a Chat Completions stream.
        yield _failed(turn, started, _("The assistant stopped because of an error at its provider."), exc)
    else:
        for citation in cite_passages(turn):
            yield citation
        turn.total_ms = ms_since(started)
        yield Completed(turn)


async def chat_complete(**kwargs) -> Completed | Failed:
    """The whole answer at once (the integration API)."""
    async for event in chat_stream(**kwargs):
        if isinstance(event, Completed | Failed):
            return event
    raise RuntimeError("chat_stream ended without a result")  # pragma: no cover


def _failed(turn: Turn, started: float, message: str, exc: Exception) -> Failed:
    cite_passages(turn)  # the partial answer keeps the citations it has
    turn.total_ms = ms_since(started)
    return Failed(turn=turn, message=message, detail=f"{type(exc).__name__}: {exc}")
