import json

import openai
import pytest

from tests.fixtures.sandbox import BASE_MODEL, sample_lines, upload_jsonl

GRADE = {
    "type": "function",
    "function": {
        "name": "get_grade",
        "description": "The learner's grade in a course",
        "parameters": {"type": "object", "properties": {"course": {"type": "string"}}, "required": ["course"]},
    },
}


def test_it_completes_a_chat(sandbox_client):
    completion = sandbox_client.chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"}]
    )

    choice = completion.choices[0]
    assert completion.object == "chat.completion"
    assert (choice.message.role, choice.finish_reason) == ("assistant", "stop")
    assert "sandbox" in choice.message.content
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens


def test_it_answers_as_a_tuned_model(sandbox_client):
    training = upload_jsonl(sandbox_client, sample_lines())
    job = sandbox_client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training.id)
    tuned = sandbox_client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model

    completion = sandbox_client.chat.completions.create(
        model=tuned, messages=[{"role": "user", "content": "What are strings for?"}]
    )

    assert completion.choices[0].message.content == "Strings are taught in week 8."


def test_it_runs_the_tool_call_loop(sandbox_client):
    messages = [{"role": "user", "content": "What is my grade in Statistics?"}]
    first = sandbox_client.chat.completions.create(model="gpt-4.1-mini", messages=messages, tools=[GRADE])
    call = first.choices[0].message.tool_calls[0]

    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": '{"grade": "A"}'},
    ]
    second = sandbox_client.chat.completions.create(model="gpt-4.1-mini", messages=messages, tools=[GRADE])

    assert first.choices[0].finish_reason == "tool_calls"
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_grade", {"course": "Statistics"})
    assert "get_grade returned grade: A" in second.choices[0].message.content


def test_it_streams_chunks_as_openai_sends_them(asgi_sandbox_client):
    stream = asgi_sandbox_client.chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": "Hi"}], stream=True
    )

    chunks = list(stream)

    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert "sandbox" in "".join(chunk.choices[0].delta.content or "" for chunk in chunks)


def test_it_ends_the_stream_with_a_usage_chunk_and_done(asgi_sandbox_client):
    with asgi_sandbox_client.chat.completions.with_streaming_response.create(
        model="gpt-4.1-mini",
        messages=[{"role": "user", "content": "Hi"}],
        stream=True,
        stream_options={"include_usage": True},
    ) as response:
        lines = [line for line in response.iter_lines() if line]

    assert response.headers["content-type"].startswith("text/event-stream")
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    usage_chunk = json.loads(lines[-2].removeprefix("data: "))
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] > 0


def test_it_streams_a_tool_call(asgi_sandbox_client):
    chunks = list(
        asgi_sandbox_client.chat.completions.create(
            model="gpt-4.1-mini",
            messages=[{"role": "user", "content": "My grade in Biology?"}],
            tools=[GRADE],
            stream=True,
        )
    )

    opening = chunks[1].choices[0].delta.tool_calls[0]
    arguments = "".join(c.choices[0].delta.tool_calls[0].function.arguments for c in chunks[1:-1])
    assert (opening.function.name, json.loads(arguments)) == ("get_grade", {"course": "Biology"})
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_it_answers_404_for_an_unknown_model(sandbox_client):
    with pytest.raises(openai.NotFoundError):
        sandbox_client.chat.completions.create(model="llama-9", messages=[{"role": "user", "content": "Hi"}])
