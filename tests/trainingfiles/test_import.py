import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from llm.catalog import DPO, SFT
from tests.trainingfiles.examples import INSTRUCTIONS, chat_example, demo_examples, demo_pairs
from trainingfiles.formats import LineError, export_dpo, export_supervised, parse_csv, parse_jsonl

LIMITS = {"max_bytes": 1_000_000, "max_lines": 1000}


def jsonl(*examples: object) -> bytes:
    return "".join(json.dumps(example, ensure_ascii=False) + "\n" for example in examples).encode()


def test_it_round_trips_supervised_jsonl_unchanged():
    original = b"".join(export_supervised(demo_examples()))

    result = parse_jsonl(original, **LIMITS)

    assert result.ok
    assert result.kind == SFT
    assert b"".join(export_supervised(result.examples)) == original


def test_it_round_trips_dpo_jsonl_unchanged():
    original = b"".join(export_dpo(demo_pairs()))

    result = parse_jsonl(original, **LIMITS)

    assert result.kind == DPO
    assert b"".join(export_dpo(result.examples)) == original


def test_it_names_the_line_with_bad_json_and_imports_nothing():
    lines = [json.dumps(example, ensure_ascii=False) for example in demo_examples()[:4]]
    lines[2] = lines[2][:-1]  # a missing closing brace

    result = parse_jsonl("\n".join(lines).encode(), **LIMITS)

    assert result.examples == []
    assert [error.line for error in result.errors] == [3]
    assert "JSON" in result.errors[0].message
    assert str(result.errors[0]).startswith("Line 3: ")


def test_it_reports_every_bad_line_with_what_is_wrong():
    good = chat_example("Вопрос?", "Ответ.")
    data = jsonl(
        good,
        ["not", "an", "object"],
        {"conversation": []},
        {"messages": [{"role": "bot", "content": "Привет"}, {"role": "assistant", "content": "Да"}]},
        {"messages": [{"role": "user", "content": "Вопрос?"}, {"role": "assistant", "content": "   "}]},
        {"messages": [{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": "Вопрос?"}]},
        good,
    )

    result = parse_jsonl(data, **LIMITS)

    assert result.examples == []
    problems = {error.line: error.message for error in result.errors}
    assert sorted(problems) == [2, 3, 4, 5, 6]
    assert "JSON object" in problems[2]
    assert "no list of messages" in problems[3]
    assert problems[4].startswith("Message 1: ") and "“bot” is not a role" in problems[4]
    assert problems[5] == "Message 2: The assistant answer is empty."
    assert "no assistant message" in problems[6]


def test_it_rejects_a_file_over_the_size_limit_without_reading_it_all():
    data = jsonl(*demo_examples())
    upload = io.BytesIO(data)

    result = parse_jsonl(upload, max_bytes=len(data) - 1, max_lines=1000)

    assert result.examples == []
    assert result.errors[0].line == 0
    assert "larger than" in result.errors[0].message
    assert upload.tell() == len(data)  # one byte over the limit tells enough


def test_it_rejects_more_lines_than_allowed():
    result = parse_jsonl(jsonl(*demo_examples()), max_bytes=1_000_000, max_lines=5)

    assert result.examples == []
    assert result.errors == [LineError(6, "The file has more than 5 examples; split it into smaller files.")]


def test_it_rejects_an_empty_file():
    for data in (b"", b"\n\n  \n"):
        result = parse_jsonl(data, **LIMITS)

        assert result.examples == []
        assert [str(error) for error in result.errors] == ["The file is empty."]


def test_it_accepts_a_bom_blank_lines_and_an_upload():
    data = b"\xef\xbb\xbf" + jsonl(demo_examples()[0]) + b"\n\r\n" + jsonl(demo_examples()[1])

    result = parse_jsonl(SimpleUploadedFile("data.jsonl", data), **LIMITS)

    assert result.ok
    assert result.examples == demo_examples()[:2]


def test_it_keeps_line_separators_inside_text():
    example = chat_example("Первая строка\u2028вторая", "Ответ\u2029абзац.")

    result = parse_jsonl(json.dumps(example, ensure_ascii=False).encode(), **LIMITS)

    assert result.examples == [example]


def test_it_refuses_text_that_is_not_utf8():
    data = jsonl(demo_examples()[0]) + json.dumps(chat_example("Вопрос", "Ответ"), ensure_ascii=False).encode("cp1251")

    result = parse_jsonl(data, **LIMITS)

    assert [(error.line, error.message) for error in result.errors] == [(2, "The line is not UTF-8 text.")]


def test_it_refuses_a_file_mixing_chat_examples_and_pairs():
    result = parse_jsonl(jsonl(demo_examples()[0], demo_pairs()[0]), **LIMITS)

    assert result.examples == []
    assert result.errors[0].line == 2
    assert "preference pair" in result.errors[0].message


def test_it_stops_listing_errors_after_the_limit():
    result = parse_jsonl(b"{\n" * 50, max_bytes=1000, max_lines=1000, max_errors=10)

    assert len(result.errors) == 11
    assert result.errors[-1].line == 11
    assert "Too many errors" in result.errors[-1].message


def test_it_refuses_nan_and_infinity_which_are_not_json():
    good = json.dumps(chat_example("Вопрос?", "Ответ."), ensure_ascii=False)
    bad = good.replace('"role": "assistant"', '"role": "assistant", "weight": NaN')

    result = parse_jsonl(f"{good}\n{bad}\n".encode(), **LIMITS)

    assert result.examples == []
    assert [error.line for error in result.errors] == [2]
    assert "NaN is not a JSON value" in result.errors[0].message


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800"])
def test_it_refuses_characters_a_database_cannot_store(escape):
    good = json.dumps(chat_example("Вопрос?", "Ответ."), ensure_ascii=False)
    bad = good.replace("Ответ.", f"Ответ{escape}.")

    result = parse_jsonl(f"{good}\n{bad}\n{good}\n".encode(), **LIMITS)

    assert result.examples == []
    assert [error.line for error in result.errors] == [2]
    assert "cannot be stored" in result.errors[0].message


def test_it_keeps_escaped_text_a_database_can_store():
    line = json.dumps(chat_example("Смайлик \U0001f642 и \\u0000 как текст?", "Да."))  # ASCII escapes

    result = parse_jsonl(f"{line}\n".encode(), **LIMITS)

    assert result.ok
    assert result.examples[0]["messages"][1]["content"] == "Смайлик \U0001f642 и \\u0000 как текст?"


def test_it_survives_absurdly_nested_json():
    result = parse_jsonl(b"[" * 100_000, **LIMITS)

    assert result.errors[0].line == 1
    assert result.examples == []


def test_it_imports_question_answer_csv():
    data = "question,answer,system\nКак написать цикл?,Через for.,Ты ассистент.\nWhat is len?,Length.,\n".encode()

    result = parse_csv(data, **LIMITS)

    assert result.ok
    assert result.kind == SFT
    assert result.examples == [
        {
            "messages": [
                {"role": "system", "content": "Ты ассистент."},
                {"role": "user", "content": "Как написать цикл?"},
                {"role": "assistant", "content": "Через for."},
            ]
        },
        {"messages": [{"role": "user", "content": "What is len?"}, {"role": "assistant", "content": "Length."}]},
    ]


def test_it_a_csv_cell_keeps_its_line_breaks_as_lf():
    # Excel ends rows and the lines inside a quoted cell with CRLF; an old Mac file, with CR.
    data = b'question,answer,system\r\nQ1,"A1\r\nsecond line\rthird",S\r\n'

    result = parse_csv(data, **LIMITS)

    assert result.ok
    assert [m["content"] for m in result.examples[0]["messages"]] == ["S", "Q1", "A1\nsecond line\nthird"]
    assert b"\\r" not in b"".join(export_supervised(result.examples))


def test_it_reads_excel_csv_with_semicolons_and_a_bom():
    data = '\ufeffQuestion ; Answer\n"Что такое; кортеж?";Неизменяемый список.\n\n'.encode()

    result = parse_csv(data, **LIMITS)

    assert result.examples == [
        {
            "messages": [
                {"role": "user", "content": "Что такое; кортеж?"},
                {"role": "assistant", "content": "Неизменяемый список."},
            ]
        }
    ]


def test_it_refuses_csv_without_the_answer_column():
    result = parse_csv("question,reply\nКак?,Так.\n".encode(), **LIMITS)

    assert result.examples == []
    assert result.errors[0].line == 1
    assert "missing: answer" in result.errors[0].message
    assert "found: question, reply" in result.errors[0].message


def test_it_names_the_csv_line_with_an_empty_cell():
    data = 'question,answer\n"Многострочный\nвопрос",Ответ.\nВопрос без ответа,\n'.encode()

    result = parse_csv(data, **LIMITS)

    assert result.examples == []
    assert [(error.line, error.message) for error in result.errors] == [(4, "The “answer” cell is empty.")]


def test_it_refuses_an_empty_or_header_only_csv():
    assert [str(error) for error in parse_csv(b"", **LIMITS).errors] == ["The file is empty."]
    assert [str(error) for error in parse_csv(b"question,answer\n", **LIMITS).errors] == ["The file has no examples."]


def test_it_refuses_a_csv_cell_with_a_nul_character():
    data = "question,answer\nВопрос?,Ответ.\nВторой\x00?,Ответ.\n".encode()

    result = parse_csv(data, **LIMITS)

    assert result.examples == []
    assert [error.line for error in result.errors] == [3]
    assert "cannot be stored" in result.errors[0].message


def test_it_asks_for_utf8_csv():
    result = parse_csv("question,answer\nВопрос,Ответ\n".encode("cp1251"), **LIMITS)

    assert result.errors[0].line == 2
    assert "UTF-8" in result.errors[0].message
