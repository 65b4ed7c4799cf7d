import copy
import json
import os
import random
import string
import subprocess
import sys

import pytest

from llm import tokens
from llm.catalog import DPO, SFT, get_model
from tests.trainingfiles.examples import INSTRUCTIONS, chat_example, demo_examples, demo_pairs, dpo_pair, tool_example
from trainingfiles.duplicates import near_duplicate_key
from trainingfiles.reports import ERROR, WARNING
from trainingfiles.validation import (
    TOKENIZE_BATCH,
    check_examples,
    example_errors,
    validate_dataset,
    validate_example,
)


def codes(report) -> list[str]:
    return [issue.code for issue in report.issues]


def check(example: object) -> list[str]:
    return codes(validate_example(example, token_limit=None))


def test_it_finds_nothing_wrong_with_good_examples():
    for example in demo_examples():
        report = validate_example(example, token_limit=65_536, key="k")

        assert report.issues == ()
        assert report.is_valid
        assert report.kind == SFT


def test_it_counts_tokens_like_the_guide():
    for example in [
        *demo_examples(),
        {"messages": [{"role": "user", "content": "Hi", "name": "lev"}, *tool_example()["messages"][1:]]},
    ]:
        report = validate_example(example, token_limit=None)

        assert report.total_tokens == tokens.count_messages(example["messages"], tools=example.get("tools"))
        assert report.assistant_tokens == tokens.count_assistant_tokens(example["messages"])
        assert report.messages == len(example["messages"])


def test_it_counts_special_token_lookalikes_and_lone_surrogates_as_text():
    # JSON can carry a lone surrogate ("\\ud800"); tiktoken cannot encode it as it is.
    texts = ["Что такое <|endoftext|>?", "Ответ: \ud800 — половинка символа.", "<|endofprompt|>"]
    example = {"messages": [{"role": "user", "content": texts[0]}, {"role": "assistant", "content": texts[1]}]}
    pair = dpo_pair("Вопрос?", texts[2], "Плохой ответ.")

    for report in (
        validate_example(example, token_limit=None),
        validate_dataset([(1, example)], base_model=None).examples[0],
    ):
        assert report.total_tokens == tokens.count_messages(example["messages"])
        assert report.assistant_tokens == tokens.count_text(texts[1])
    assert validate_example(pair, token_limit=None).assistant_tokens == tokens.count_text(texts[2]) + tokens.count_text(
        "Плохой ответ."
    )


def test_it_gives_each_example_its_own_counts_across_tokenizing_batches():
    examples = [
        chat_example(f"Вопрос {number}: " + "как? " * (number % 7), "Ответ. " * (1 + number % 5))
        for number in range(TOKENIZE_BATCH * 2 + 3)
    ]
    examples[TOKENIZE_BATCH + 1] = copy.deepcopy(examples[1])  # a duplicate in the next batch
    examples[-1] = {"messages": [{"role": "user", "content": "Q"}]}  # an error in the last, short batch

    report = validate_dataset(enumerate(examples), base_model=None)

    for example, example_report in zip(examples, report.examples, strict=True):
        assert example_report == validate_example(example, token_limit=None, key=example_report.key)
    assert [(issue.code, issue.example_key) for issue in report.issues] == [("duplicate", TOKENIZE_BATCH + 1)]
    assert report.error_count == 1


def test_it_reports_a_role_that_is_not_text():
    example = {"messages": [{"role": ["user"], "content": "Q"}, {"role": "assistant", "content": "A"}]}

    assert check(example) == ["unrecognized_role"]
    assert [issue.code for issue in example_errors(example)] == ["unrecognized_role"]


@pytest.mark.parametrize(
    ("example", "code"),
    [
        ("just text", "data_type"),
        ({"messages": []}, "missing_messages_list"),
        ({"prompt": "Q", "completion": "A"}, "missing_messages_list"),
        ({"messages": [{"content": "Q"}, {"role": "assistant", "content": "A"}]}, "message_missing_key"),
        (
            {"messages": [{"role": "user", "content": "Q", "lang": "ru"}, {"role": "assistant", "content": "A"}]},
            "message_unrecognized_key",
        ),
        ({"messages": [{"role": "human", "content": "Q"}, {"role": "assistant", "content": "A"}]}, "unrecognized_role"),
        ({"messages": [{"role": "user"}, {"role": "assistant", "content": "A"}]}, "missing_content"),
        ({"messages": [{"role": "user", "content": ["Q"]}, {"role": "assistant", "content": "A"}]}, "bad_content_part"),
        (
            {"messages": [{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": "Q"}]},
            "missing_assistant_message",
        ),
        ({"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": " \n "}]}, "empty_content"),
        ({"messages": ["Q", {"role": "assistant", "content": "A"}]}, "message_not_object"),
        ({**chat_example("Q", "A"), "metadata": {}}, "unrecognized_key"),
    ],
)
def test_it_reports_the_format_errors_of_openais_guide(example, code):
    report = validate_example(example, token_limit=None)

    assert code in codes(report)
    assert not report.is_valid
    assert all(issue.severity == ERROR for issue in report.issues)


def test_it_points_at_the_message_at_fault():
    example = chat_example("Q", "A")
    example["messages"][1]["role"] = "learner"

    (issue,) = validate_example(example, token_limit=None, key=42).issues

    assert (issue.code, issue.example_key, issue.message_index) == ("unrecognized_role", 42, 1)
    assert "learner" in issue.message


def broken_tool_example(change) -> dict:
    example = copy.deepcopy(tool_example())
    change(example["messages"])
    return example


def test_it_checks_tool_calls():
    def bad_arguments(messages):
        messages[4]["tool_calls"][0]["function"]["arguments"] = {"query": "генераторы"}

    def no_name(messages):
        del messages[4]["tool_calls"][0]["function"]["name"]

    def wrong_answer(messages):
        messages[5]["tool_call_id"] = "call_2"

    def no_answer(messages):
        del messages[5]

    def tool_calls_on_user(messages):
        messages[3]["tool_calls"] = messages[4]["tool_calls"]

    assert "bad_tool_arguments" in check(broken_tool_example(bad_arguments))
    assert "bad_tool_call" in check(broken_tool_example(no_name))
    assert "unmatched_tool_call" in check(broken_tool_example(wrong_answer))
    assert "unanswered_tool_call" in check(broken_tool_example(no_answer))
    assert "message_unrecognized_key" in check(broken_tool_example(tool_calls_on_user))


def test_it_accepts_an_example_that_ends_with_a_tool_call():
    example = tool_example()
    example["messages"] = example["messages"][:5]  # teaches when to call the tool

    assert check(example) == []


def test_it_warns_about_calls_to_undeclared_tools():
    example = copy.deepcopy(tool_example())
    example["tools"][0]["function"]["name"] = "search_web"

    report = validate_example(example, token_limit=None)

    assert codes(report) == ["unknown_tool"]
    assert report.is_valid


def test_it_checks_weights():
    def with_weights(*weights):
        example = {"messages": [{"role": "user", "content": "Q"}]}
        for number, weight in enumerate(weights):
            example["messages"] += [{"role": "assistant", "content": f"A{number}", "weight": weight}]
            example["messages"] += [{"role": "user", "content": f"Q{number}"}]
        example["messages"].pop()
        return example

    assert check(with_weights(0, 1)) == []
    assert check(with_weights(2)) == ["bad_weight"]
    assert check(with_weights(True)) == ["bad_weight"]
    assert check(with_weights(0, 0)) == ["nothing_to_learn"]
    user_weight = {"messages": [{"role": "user", "content": "Q", "weight": 1}, {"role": "assistant", "content": "A"}]}
    assert check(user_weight) == ["weight_not_on_assistant"]


def test_it_warns_when_messages_follow_the_last_answer():
    example = chat_example("Q", "A")
    example["messages"].append({"role": "user", "content": "Спасибо!"})

    assert check(example) == ["last_message_not_assistant"]


def test_it_enforces_the_base_models_token_limit():
    example = chat_example("Q", "Очень длинный ответ. " * 50)

    report = validate_example(example, token_limit=100)

    assert codes(report) == ["token_limit"]
    assert str(report.total_tokens) in report.issues[0].message
    assert validate_example(example, token_limit=None).issues == ()


def test_it_blocks_a_dataset_under_ten_examples():
    report = validate_dataset(enumerate(demo_examples()[:9]), base_model=get_model("gpt-4.1-mini"))

    assert report.is_blocked
    assert [issue.code for issue in report.issues] == ["too_few_examples"]
    assert "9" in report.issues[0].message


def test_it_warns_under_fifty_examples_but_lets_training_start():
    report = validate_dataset(enumerate(demo_examples()[:10]), base_model=get_model("gpt-4.1-mini"))

    assert not report.is_blocked
    assert [(issue.code, issue.severity) for issue in report.issues] == [("few_examples", WARNING)]


def test_it_finds_duplicates_and_near_duplicates():
    examples = demo_examples()
    examples.append(copy.deepcopy(examples[0]))
    near = copy.deepcopy(examples[1])
    near["messages"][1]["content"] = "  чем СПИСОК отличается от кортежа!!  "
    near["messages"][2]["content"] = "Список можно изменять; кортеж - нет"
    examples.append(near)
    examples.append(chat_example("Чем список отличается от множества?", "Множество не хранит порядок."))

    report = validate_dataset(((f"ex{number}", example) for number, example in enumerate(examples)), base_model=None)

    found = [(issue.code, issue.example_key) for issue in report.issues if issue.code != "few_examples"]
    assert found == [("duplicate", "ex13"), ("near_duplicate", "ex14")]
    assert "ex0" in report.issues_by_example()["ex13"][0].message
    assert "ex1" in report.issues_by_example()["ex14"][0].message


# Text whose key takes each path: ASCII, cp1251, characters cp1251 lacks but whose folded form it
# has ("ß" → "ss", the Kelvin sign, a ligature), one it has but whose folded form it lacks ("µ" → "μ"),
# characters it lacks altogether (an emoji, Chinese, a lone surrogate).
KEY_FRAGMENTS = [
    "Привет", "ПРИВЕТ", "Ёж", "ёж", "Hello", "HELLO", "µ", "μ", "Μ", "ß", "ẞ", "SS", "\u212a", "k", "ﬁ", "FI",
    "😀", "中文", "Ђ", "ђ", "İ", "i\u0307", "123", " ", ", ", "—", "«", "»", "\u00a0", "\n", "\ud800",
]  # fmt: skip
IGNORED = string.punctuation + string.whitespace + "—–…“”„‘’«»\u00a0"


def plain_near_key(text: str) -> str:
    """The definition: the case-folded text, punctuation and spacing dropped."""
    return "".join(char for char in text.casefold() if char not in IGNORED)


def test_it_near_duplicate_keys_are_equal_exactly_when_the_plain_definition_says_so():
    rng = random.Random(11)
    texts = ["".join(rng.choices(KEY_FRAGMENTS, k=rng.randint(0, 5))) for _ in range(600)]
    texts += [text.upper() for text in texts[:200]] + [text.lower() for text in texts[200:400]]
    plain_by_key: dict[bytes, set[str]] = {}
    key_by_plain: dict[str, set[bytes]] = {}
    for text in texts:
        key, plain = near_duplicate_key(text), plain_near_key(text)
        plain_by_key.setdefault(key, set()).add(plain)
        key_by_plain.setdefault(plain, set()).add(key)

    assert all(len(plains) == 1 for plains in plain_by_key.values())
    assert all(len(keys) == 1 for keys in key_by_plain.values())
    assert near_duplicate_key("Straße, µm!") == near_duplicate_key("STRASSE μM") != near_duplicate_key("STRASE μM")
    assert near_duplicate_key("«Ёлка» — 😀") == near_duplicate_key("ЁЛКА😀")


def test_it_reports_example_issues_with_the_dataset():
    examples = demo_examples()
    examples[3] = {"messages": [{"role": "user", "content": "Q"}]}

    report = validate_dataset(
        ((example_id, example) for example_id, example in enumerate(examples, 100)), base_model=None
    )

    assert report.is_blocked
    assert report.error_count == 1
    assert report.issues_by_example()[103][0].code == "missing_assistant_message"
    assert [r.key for r in report.examples] == list(range(100, 113))


def test_it_checks_dpo_pairs():
    assert check(demo_pairs()[0]) == []
    assert check(dpo_pair("Q", "Same answer.", " Same answer. ")) == ["identical_outputs"]
    assert check(dpo_pair("Q", "Good.", "  ")) == ["empty_content"]
    two_preferred = dpo_pair("Q", "A", "B")
    two_preferred["preferred_output"].append({"role": "assistant", "content": "C"})
    assert check(two_preferred) == ["bad_dpo_output"]
    user_output = dpo_pair("Q", "A", "B")
    user_output["non_preferred_output"][0]["role"] = "user"
    assert check(user_output) == ["bad_dpo_output"]
    bad_input = dpo_pair("Q", "A", "B")
    bad_input["input"]["messages"][1]["role"] = "human"
    assert check(bad_input) == ["unrecognized_role"]
    assert check({"preferred_output": [], "non_preferred_output": []}) == ["missing_messages_list"]


def test_it_counts_both_answers_of_a_pair():
    pair = dpo_pair("Вопрос?", "Хороший ответ.", "Плохой ответ.")

    report = validate_example(pair, token_limit=None)

    assert report.kind == DPO
    assert report.messages == 4
    assert report.assistant_tokens == tokens.count_text("Хороший ответ.") + tokens.count_text("Плохой ответ.")
    outputs = pair["preferred_output"] + pair["non_preferred_output"]
    assert report.total_tokens == tokens.count_messages(pair["input"]["messages"] + outputs)


def test_it_refuses_dpo_for_a_model_that_only_learns_supervised():
    pairs = demo_pairs()

    assert not validate_dataset(enumerate(pairs), base_model=get_model("gpt-4.1-mini")).is_blocked
    report = validate_dataset(enumerate(pairs), base_model=get_model("gpt-4o-mini"))
    assert [issue.code for issue in report.issues if issue.severity == ERROR] == ["method_not_supported"]


def test_it_refuses_a_dataset_mixing_examples_and_pairs():
    report = validate_dataset(enumerate(demo_examples() + demo_pairs()[:1]), base_model=None)

    assert report.kind is None
    assert "mixed_kinds" in [issue.code for issue in report.issues]


def test_it_gives_import_only_the_format_errors():
    example = chat_example("Пишите на ivan@example.com", "Хорошо.")

    assert example_errors(example) == []
    assert [issue.code for issue in example_errors({"messages": [{"role": "user", "content": ""}]})] == [
        "empty_content",
        "missing_assistant_message",
    ]


def test_it_stored_fingerprints_are_the_same_in_another_process():
    """Stored with each example and compared in the database: `hash` would differ per process."""
    example = {"messages": [{"role": "user", "content": "Что такое список?"}, {"role": "assistant", "content": "Ok."}]}
    here = next(check_examples([(1, example)], token_limit=None, stored=True))
    script = (
        "import json, sys, django; django.setup()\n"
        "from trainingfiles.validation import check_examples\n"
        "checked = next(check_examples([(1, json.loads(sys.argv[1]))], token_limit=None, stored=True))\n"
        "print(checked.exact_fingerprint, checked.near_fingerprint)"
    )
    environment = {**os.environ, "PYTHONHASHSEED": "12345"}
    output = subprocess.run(
        [sys.executable, "-c", script, json.dumps(example)], env=environment, capture_output=True, text=True, check=True
    ).stdout.split()
    assert [int(value) for value in output] == [here.exact_fingerprint, here.near_fingerprint]
    assert here.exact_fingerprint is not None
