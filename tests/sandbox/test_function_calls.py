"""Function tools: the model calls a function the input clearly asks for, then uses its output."""

import json

import pytest

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
    "strict": True,
}
DEADLINE = {
    "type": "function",
    "name": "assignment_deadline",
    "description": "Look up when an assignment must be handed in, by its number",
    "parameters": {
        "type": "object",
        "properties": {
            "assignment_number": {"type": "integer", "minimum": 1},
            "late": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["assignment_number"],
    },
    "strict": False,
}


def _call(response):
    calls = [item for item in response.output if item.type == "function_call"]
    return calls[0] if calls else None


def test_it_calls_a_function_asked_for_by_name(sandbox_client):
    response = sandbox_client.responses.create(
        model="gpt-4.1-mini", input="What's the weather in Paris, in fahrenheit?", tools=[WEATHER, DEADLINE]
    )

    call = _call(response)
    assert call.name == "get_weather"
    assert call.call_id.startswith("call_")
    assert json.loads(call.arguments) == {"city": "Paris", "unit": "fahrenheit"}


def test_it_calls_a_function_asked_for_by_its_description(sandbox_client):
    response = sandbox_client.responses.create(
        model="gpt-4.1-mini", input="When must assignment 3 be handed in?", tools=[WEATHER, DEADLINE]
    )

    call = _call(response)
    assert call.name == "assignment_deadline"
    assert json.loads(call.arguments) == {"assignment_number": 3}  # only the required property, an integer


def test_it_does_not_call_a_function_the_input_does_not_ask_for(sandbox_client):
    response = sandbox_client.responses.create(model="gpt-4.1-mini", input="Tell me a joke.", tools=[WEATHER])

    assert _call(response) is None


@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        ("none", None),
        ("required", "get_weather"),
        ({"type": "function", "name": "assignment_deadline"}, "assignment_deadline"),
    ],
)
def test_it_follows_tool_choice(sandbox_client, tool_choice, expected):
    response = sandbox_client.responses.create(
        model="gpt-4.1-mini", input="What's the weather in Oslo?", tools=[WEATHER, DEADLINE], tool_choice=tool_choice
    )

    call = _call(response)
    assert (call.name if call else None) == expected


def test_it_answers_with_the_function_output(sandbox_client):
    """The loop: call → run the function → send function_call_output → the answer uses it."""
    first = sandbox_client.responses.create(model="gpt-4.1-mini", input="Weather in Rome?", tools=[WEATHER])
    call = _call(first)

    second = sandbox_client.responses.create(
        model="gpt-4.1-mini",
        previous_response_id=first.id,
        input=[
            {"type": "function_call_output", "call_id": call.call_id, "output": '{"temperature": 24, "sky": "clear"}'}
        ],
        tools=[WEATHER],
    )

    assert _call(second) is None
    assert "get_weather returned temperature: 24, sky: clear" in second.output_text


def test_it_answers_with_the_output_when_history_is_sent_by_hand(sandbox_client):
    first = sandbox_client.responses.create(model="gpt-4.1-mini", input="Weather in Rome?", tools=[WEATHER])
    call = _call(first)
    history = [
        {"role": "user", "content": "Weather in Rome?"},
        call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "Sunny, 24 degrees"},
    ]

    second = sandbox_client.responses.create(model="gpt-4.1-mini", input=history, tools=[WEATHER])

    assert "Sunny, 24 degrees" in second.output_text
