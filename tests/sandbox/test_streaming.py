"""Streams over a real ASGI server (uvicorn), as the product serves them."""

import pytest

from llm.clients import async_client_for
from tests.fixtures.sandbox import SANDBOX_PATH, sandbox_provider_for
from tests.fixtures.servers import run_async

NOTES = b"Office hours are on Tuesdays at four in room 12. Bring your laptop."


@pytest.fixture
def store(asgi_sandbox_client):
    notes = asgi_sandbox_client.files.create(file=("notes.txt", NOTES), purpose="assistants")
    return asgi_sandbox_client.vector_stores.create(name="Notes", file_ids=[notes.id])


def _events(client, **request) -> list:
    with client.responses.create(model="gpt-4.1-mini", stream=True, **request) as stream:
        return list(stream)


def test_it_streams_a_text_answer_in_openai_order(asgi_sandbox_client):
    events = _events(asgi_sandbox_client, input="Hello")

    types = [event.type for event in events]
    deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert len(deltas) > 3
    assert "".join(deltas) == events[-1].response.output_text
    assert [event.sequence_number for event in events] == list(range(len(events)))


def test_it_reports_usage_when_the_stream_completes(asgi_sandbox_client):
    events = _events(asgi_sandbox_client, input="Hello")

    assert events[0].response.status == "in_progress"
    assert events[0].response.usage is None
    assert events[-1].response.status == "completed"
    assert events[-1].response.usage.output_tokens > 0


def test_it_streams_file_search_and_citations(asgi_sandbox_client, store):
    events = _events(
        asgi_sandbox_client,
        input="When are office hours?",
        tools=[{"type": "file_search", "vector_store_ids": [store.id]}],
    )

    types = [event.type for event in events]
    search = types.index("response.file_search_call.in_progress")
    assert types[search : search + 4] == [
        "response.file_search_call.in_progress",
        "response.file_search_call.searching",
        "response.file_search_call.completed",
        "response.output_item.done",
    ]
    annotation = next(e for e in events if e.type == "response.output_text.annotation.added")
    assert types.index("response.output_text.annotation.added") > types.index("response.output_text.delta")
    assert (annotation.annotation.type, annotation.annotation.filename) == ("file_citation", "notes.txt")


def test_it_streams_a_function_call(asgi_sandbox_client):
    tool = {
        "type": "function",
        "name": "get_grade",
        "description": "The learner's grade in a course",
        "parameters": {"type": "object", "properties": {"course": {"type": "string"}}, "required": ["course"]},
    }

    events = _events(asgi_sandbox_client, input="What is my grade in Statistics?", tools=[tool])

    types = [event.type for event in events]
    assert types[2:6] == [
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
    ]
    done = events[4]
    assert (done.name, done.arguments) == ("get_grade", '{"course": "Statistics"}')


def test_it_streams_to_the_async_client(asgi_server):
    client = async_client_for(sandbox_provider_for(f"{asgi_server.url}{SANDBOX_PATH}/"), timeout=10)

    async def collect() -> list[str]:
        stream = await client.responses.create(model="gpt-4.1-mini", input="Hi", stream=True)
        return [event.type async for event in stream]

    types = run_async(collect)

    assert types[0] == "response.created"
    assert types[-1] == "response.completed"
