"""The chat engine against the sandbox, through the real SDK over a real ASGI server, on both wire
APIs: every test that does not say otherwise runs once on Responses and once on Chat Completions."""

import pytest

from assistants.engine import chat_stream
from assistants.events import CitationAdded, Completed, Failed, TextDelta, ToolCalled
from assistants.models import Assistant
from assistants.services import assistant_create
from assistants.wire import chat_tools
from llm.models import Provider
from tests.assistants.engine_helpers import sandbox_assistant
from tests.fixtures.servers import run_async


def _events(assistant: Assistant, question: str, **kwargs) -> list:
    async def collect():
        return [
            e async for e in chat_stream(assistant=assistant, history=[{"role": "user", "content": question}], **kwargs)
        ]

    return run_async(collect)


def test_it_streams_text_then_completes_with_usage(live_assistant):
    events = _events(live_assistant, "Hello there")
    deltas = [e for e in events if isinstance(e, TextDelta)]
    done = events[-1]
    assert isinstance(done, Completed)
    assert len(deltas) > 1
    assert done.turn.text == "".join(d.text for d in deltas)
    assert "sandbox" in done.turn.text
    assert done.turn.input_tokens > 0 and done.turn.output_tokens > 0
    assert done.turn.first_token_ms is not None and done.turn.total_ms >= done.turn.first_token_ms
    assert done.turn.wire_api == live_assistant.provider.wire_api
    assert done.turn.response_ids


def test_it_cites_knowledge_files(responses_assistant, make_sandbox_client, asgi_server):
    live_assistant = responses_assistant  # hosted file search is a Responses API tool
    client = make_sandbox_client(asgi_server.url)
    text = "Loops repeat code. A for loop walks over a list; a while loop runs while its condition holds."
    uploaded = client.files.create(file=("loops.md", text.encode()), purpose="assistants")
    store = client.vector_stores.create(name="course", file_ids=[uploaded.id])
    live_assistant.vector_store_id = store.id

    events = _events(live_assistant, "How does a while loop work?")
    citations = [e for e in events if isinstance(e, CitationAdded)]
    done = events[-1]
    assert isinstance(done, Completed)
    assert citations and citations[0].filename == "loops.md" and citations[0].number == 1
    assert "while loop" in done.turn.text
    assert done.turn.search_results[0]["filename"] == "loops.md"


def test_it_runs_a_function_and_answers_with_its_output(live_assistant):
    events = _events(live_assistant, "What is the current date today?")
    calls = [e for e in events if isinstance(e, ToolCalled)]
    done = events[-1]
    assert isinstance(done, Completed)
    assert [c.name for c in calls] == ["current_datetime"]
    assert calls[0].output["date"] in done.turn.text
    assert done.turn.tool_calls[0]["output"] == calls[0].output
    assert done.turn.tool_calls[0]["call_id"] == calls[0].call_id and calls[0].call_id


def test_it_both_wires_record_the_same_turn(asgi_server, course, curator):
    """What dialogs record (text, tool calls, usage) does not depend on the wire that carried it."""
    turns = {}
    for wire_api in Provider.WireApi.values:
        assistant = sandbox_assistant(asgi_server, course, curator, wire_api)
        for question in ("Hello there", "What is the current date today?"):
            done = _events(assistant, question)[-1]
            assert isinstance(done, Completed)
            turns[wire_api, question] = done.turn
    for question in ("Hello there", "What is the current date today?"):
        responses, chat = turns["responses", question], turns["chat_completions", question]
        assert [(c["name"], c["arguments"]) for c in chat.tool_calls] == [
            (c["name"], c["arguments"]) for c in responses.tool_calls
        ]
        if not chat.tool_calls:  # (a clock's answer differs by the second)
            assert chat.text == responses.text
        assert chat.output_tokens == responses.output_tokens
        assert chat.model == responses.model


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("429", "busy right now"),
        ("500", "error at its provider"),
    ],
)
def test_it_turns_provider_errors_into_a_clear_message(live_assistant, fault, message):
    live_assistant.provider.extra_headers = {"X-Sandbox-Fault": fault}
    live_assistant.provider.max_retries = 1
    events = _events(live_assistant, "Hello")
    assert isinstance(events[-1], Failed)
    assert message in events[-1].message


def test_it_gives_up_on_a_hanging_provider(live_assistant):
    live_assistant.provider.extra_headers = {"X-Sandbox-Fault": "hang"}
    live_assistant.provider.timeout_seconds = 0.5
    live_assistant.provider.max_retries = 0
    events = _events(live_assistant, "Hello")
    assert isinstance(events[-1], Failed)
    assert "took too long" in events[-1].message


def test_it_retries_a_passing_fault_and_answers(live_assistant):
    live_assistant.provider.extra_headers = {"X-Sandbox-Fault": "500;times=1;key=engine-retry"}
    live_assistant.provider.max_retries = 2
    events = _events(live_assistant, "Hello")
    assert isinstance(events[-1], Completed)


def test_it_uses_the_model_override(live_assistant):
    events = _events(live_assistant, "Hello", model="gpt-4.1-2025-04-14")
    assert events[-1].turn.model == "gpt-4.1-2025-04-14"


def test_it_waits_for_a_slow_first_token_within_the_timeout(live_assistant, settings):
    settings.SANDBOX_FAULT_SLOW_SECONDS = 0.4
    live_assistant.provider.extra_headers = {"X-Sandbox-Fault": "slow"}
    events = _events(live_assistant, "Hello")
    assert isinstance(events[-1], Completed)
    assert events[-1].turn.first_token_ms >= 400


def test_it_keeps_the_text_written_before_a_failure_in_the_stream(live_assistant):
    live_assistant.provider.extra_headers = {"X-Sandbox-Fault": "midstream"}
    events = _events(live_assistant, "Hello")
    failed = events[-1]
    assert isinstance(failed, Failed)
    assert failed.turn.text  # some of the answer arrived before the failure
    assert failed.turn.text == "".join(e.text for e in events if isinstance(e, TextDelta))
    assert "stopped because of an error" in failed.message


def test_it_offers_the_code_interpreter_only_to_providers_that_run_it(course, curator):
    openai_provider = Provider.objects.create(name="OpenAI", kind=Provider.Kind.OPENAI)
    assistant = assistant_create(
        course=course,
        name="Coder",
        provider=openai_provider,
        model="gpt-4.1-2025-04-14",
        use_code_interpreter=True,
        use_file_search=True,
        user=curator,
    )
    assistant.vector_store_id = "vs_1"
    assert {tool["type"] for tool in chat_tools(assistant)} == {"file_search", "code_interpreter"}
    assistant.provider = Provider.objects.create(
        name="Local", kind=Provider.Kind.OPENAI_COMPATIBLE, base_url="http://x/v1", wire_api="responses"
    )
    assistant.has_knowledge = True  # a server without vector stores: gradcap's search instead
    assert [(tool["type"], tool.get("name")) for tool in chat_tools(assistant)] == [("function", "search_knowledge")]


def test_it_a_model_server_speaks_chat_completions_unless_told_otherwise():
    assert Provider(kind=Provider.Kind.OPENAI).effective_wire_api == "responses"
    assert Provider(kind=Provider.Kind.SANDBOX).effective_wire_api == "responses"
    assert Provider(kind=Provider.Kind.OPENAI_COMPATIBLE).effective_wire_api == "chat_completions"
    assert Provider(kind=Provider.Kind.SELF_HOSTED).effective_wire_api == "chat_completions"
    assert Provider(kind=Provider.Kind.SELF_HOSTED, wire_api="responses").effective_wire_api == "responses"
