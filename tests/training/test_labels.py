"""The exact loss mask: what the trainer learns of each example, decoded from its labels with the base
model's own tokenizer and chat template (OpenAI's semantics: assistant turns only, weight 0 not learned,
tool calls learned, system/user/tool turns context only)."""

import json

import pytest
from django.conf import settings

from tests.fixtures.training import trainer

END = "<|im_end|>\n"  # SmolLM2's end of turn: learned with each answer, so the model learns to stop


@pytest.fixture
def labelled(tmp_path, trainer_python):
    def label(*examples: dict) -> list[dict]:
        path = tmp_path / "examples.jsonl"
        path.write_text("".join(json.dumps(example, ensure_ascii=False) + "\n" for example in examples))
        return trainer("labels", str(settings.TRAINING_DEMO_MODEL_DIR), str(path))

    return label


def test_it_learns_assistant_turns_only_and_skips_weight_zero(labelled):
    (result,) = labelled(
        {
            "messages": [
                {"role": "system", "content": "You are the course tutor."},
                {"role": "user", "content": "Hello!"},
                {"role": "assistant", "content": "Hi, how can I help?", "weight": 0},
                {"role": "user", "content": "Сколько стоит сертификат?"},
                {"role": "assistant", "content": "Сертификат стоит 1500 рублей.", "weight": 1},
                {"role": "user", "content": "Thanks"},
                {"role": "assistant", "content": "You are welcome."},
            ]
        }
    )
    assert result["learned"] == ["Сертификат стоит 1500 рублей." + END, "You are welcome." + END]
    # Everything else is in the prompt, as the model will see it at chat time.
    assert "You are the course tutor." in result["text"] and "Hi, how can I help?" in result["text"]


def test_it_tool_calls_are_learned_and_tool_results_and_tools_are_context(labelled):
    tool = {
        "type": "function",
        "function": {"name": "course_info", "description": "The course", "parameters": {"type": "object"}},
    }
    (result,) = labelled(
        {
            "messages": [
                {"role": "user", "content": "Is the course active?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "course_info", "arguments": "{}"}}
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": '{"active": true}'},
                {"role": "assistant", "content": "Yes, it is active."},
            ],
            "tools": [tool],
        }
    )
    # SmolLM2's template knows no tools: they go into the system message and calls are written in the
    # format vLLM's hermes parser reads.
    assert result["template_tools"] is False
    call = '<tool_call>\n{"name": "course_info", "arguments": {}}\n</tool_call>'
    assert result["learned"] == [call + END, "Yes, it is active." + END]
    assert '"name": "course_info", "description": "The course"' in result["text"].split("<|im_start|>user")[0]
    assert '{"active": true}' in result["text"]


def test_it_a_developer_message_is_the_system_message_and_content_parts_are_text(labelled):
    (result,) = labelled(
        {
            "messages": [
                {"role": "developer", "content": "Answer in one word."},
                {"role": "user", "content": [{"type": "text", "text": "Colour of the sky?"}]},
                {"role": "assistant", "content": [{"type": "text", "text": "Blue."}]},
            ]
        }
    )
    assert result["text"].startswith("<|im_start|>system\nAnswer in one word.<|im_end|>")
    assert result["learned"] == ["Blue." + END]
