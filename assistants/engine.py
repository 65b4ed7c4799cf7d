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

A user message of the history may carry images: `{"role": "user", "content": "What is this?",
"images": [{"media_type": "image/png", "data": <bytes or a data URL>, "detail"?: "auto"}]}`, the
bytes cleaned by `core.images.clean_image`. They go as `input_image` parts (Responses) or
`image_url` parts (Chat Completions) with data URLs. A model that cannot see images (the catalog
says so, or does not know the model and the caller does not say it sees them) gets nothing: the
turn fails at once with `Failed(code=IMAGES_NOT_SEEN)`, before any request.

Providers fail: the SDK retries 429, 5xx and timeouts within the provider's `max_retries`; what is
still failing becomes a `Failed` event with a message for the learner, and the text received so far
is in it, so the caller can keep the partial answer.
"""

import time
from collections.abc import AsyncIterator

import openai
from django.utils.translation import gettext as _

from llm.catalog import sees_images as catalog_sees_images
from llm.clients import async_client_for
from llm.models import Provider

from .events import IMAGES_NOT_SEEN, Completed, Event, Failed, Turn
from .models import Assistant
from .turn_tools import cite_passages, history_with_context
from .wire import StreamFailed, chat_completions_rounds, history_has_images, ms_since, responses_rounds


async def chat_stream(
    *,
    assistant: Assistant,
    history: list[dict],
    model: str | None = None,
    client: openai.AsyncOpenAI | None = None,
    keep_raw_events: bool = False,
    sees_images: bool | None = None,
) -> AsyncIterator[Event]:
    """Answer the last user message of `history` ([{"role", "content", "images"?}, ...]).

    `assistant` must come with its `provider` and `course` loaded: the only query here is gradcap's
    knowledge search, in a thread that gives its connection back at once.
    `model` overrides the assistant's model (the playground's model switch). The provider's wire
    API (Responses or Chat Completions) carries the request; the events and the turn are the same.
    `sees_images` says whether the model sees images where the catalog does not know it (a model
    of the school's own server); images for a model that does not see them fail the turn unsent.
    """
    wire_api = assistant.provider.effective_wire_api
    turn = Turn(model=model or assistant.model, wire_api=wire_api)
    started = time.monotonic()
    if history_has_images(history) and not model_sees_images(model or assistant.model, sees_images=sees_images):
        turn.total_ms = ms_since(started)
        yield Failed(turn=turn, message=images_refusal(turn.model), detail=IMAGES_NOT_SEEN, code=IMAGES_NOT_SEEN)
        return
    client = client or async_client_for(assistant.provider)
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


def model_sees_images(model: str, *, sees_images: bool | None = None) -> bool:
    """Whether images may be sent to `model`: the caller's word where given, else the catalog's;
    a model neither knows is taken as blind (a text model would fail or ignore the images)."""
    if sees_images is not None:
        return sees_images
    return bool(catalog_sees_images(model))


def images_refusal(model: str) -> str:
    """What the chat says when a question has images and `model` cannot see them."""
    return _("The assistant's model (%(model)s) cannot see images. Send your question as text.") % {"model": model}


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
