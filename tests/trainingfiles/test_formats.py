import json

from llm.catalog import get_model
from tests.trainingfiles.examples import chat_example, demo_examples, demo_pairs, tool_example
from trainingfiles.formats import export_dpo, export_hf_chat, export_supervised
from trainingfiles.hf_chat import hf_chat_example
from trainingfiles.validation import validate_dataset


def test_it_exports_one_openai_line_per_example():
    examples = demo_examples()

    lines = list(export_supervised(examples))

    assert len(lines) == len(examples)
    assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in lines)
    assert [json.loads(line) for line in lines] == examples


def test_it_keeps_weights_and_tool_calls_in_the_openai_export():
    (line,) = export_supervised([tool_example()])

    exported = json.loads(line)
    assert exported["messages"][2]["weight"] == 0
    assert exported["messages"][4]["tool_calls"][0]["function"]["name"] == "search_course"
    assert exported["tools"][0]["function"]["name"] == "search_course"
    assert exported["parallel_tool_calls"] is False


def test_it_keeps_russian_text_readable():
    (line,) = export_supervised(demo_examples()[:1])

    assert "Основы Python".encode() in line
    assert b"\\u" not in line


def test_it_leaves_out_keys_openai_would_reject():
    example = {**demo_examples()[0], "note": "curator's remark"}

    (line,) = export_supervised([example])

    assert "note" not in json.loads(line)


def test_it_exports_numbers_beyond_64_bits_through_the_json_module():
    # json.loads reads them from an imported file; orjson refuses to write them.
    example = {**demo_examples()[0], "parallel_tool_calls": 2**70}

    (line,) = export_supervised([example])

    assert json.loads(line) == example
    assert line.endswith(b'"parallel_tool_calls":1180591620717411303424}\n')  # orjson's separators


def test_it_exports_a_lone_surrogate_as_valid_json():
    # JSON text may escape half of a character ("\\ud800"); UTF-8 has no bytes for it.
    example = chat_example("Что это: \ud800?", "Половинка символа.")

    (line,) = export_supervised([example])

    assert b"\\ud800" in line
    assert json.loads(line.decode()) == example


def test_it_streams_lazily():
    def examples():
        yield demo_examples()[0]
        raise AssertionError("read further than asked")

    lines = export_supervised(examples())

    assert json.loads(next(lines))["messages"][1]["role"] == "user"


def test_it_exports_a_demo_like_dataset_that_passes_every_check():
    lines = list(export_supervised(demo_examples()))

    report = validate_dataset(enumerate(json.loads(line) for line in lines), base_model=get_model("gpt-4.1-mini"))

    assert not report.is_blocked
    assert [issue.code for issue in report.all_issues()] == ["few_examples"]  # 13 examples: fewer than 50


def test_it_exports_dpo_pairs_in_openais_preference_format():
    pairs = demo_pairs()

    lines = list(export_dpo(pairs))

    first = json.loads(lines[0])
    assert set(first) == {"input", "preferred_output", "non_preferred_output"}
    assert first["preferred_output"] == [
        {"role": "assistant", "content": "Используйте `for i in range(1, 11): print(i)`."}
    ]
    assert [json.loads(line) for line in lines] == pairs


def test_it_exports_hugging_face_chat_without_weights():
    lines = list(export_hf_chat(demo_examples()))

    example = json.loads(lines[-1])
    assert all(
        set(message) <= {"role", "content", "tool_calls", "tool_call_id", "name"} for message in example["messages"]
    )
    assert [message["role"] for message in example["messages"]] == [
        "system",
        "user",
        "assistant",  # weight 0 in the OpenAI file: kept, as HF has no weights
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    assert example["tools"][0]["function"]["name"] == "search_course"


def test_it_gives_hugging_face_tool_calls_decoded_arguments():
    converted = hf_chat_example(tool_example())

    call = converted["messages"][4]
    assert call["content"] == ""
    assert call["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "search_course", "arguments": {"query": "генераторы"}},
        }
    ]
    assert converted["messages"][5] == {
        "role": "tool",
        "content": "Урок 7: генераторы и yield.",
        "name": "search_course",
        "tool_call_id": "call_1",
    }
    assert "parallel_tool_calls" not in converted


def test_it_gives_hugging_face_images_as_trl_holds_them():
    photo = "data:image/png;base64,iVBORw0KGgo="
    example = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": photo}},
                ],
            },
            {"role": "assistant", "content": "A red square."},
        ]
    }

    converted = hf_chat_example(example)

    assert converted["messages"][0]["content"] == [{"type": "text", "text": "What is this?"}, {"type": "image"}]
    assert converted["images"] == [photo]
    assert "images" not in hf_chat_example(tool_example())
