import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from llm import tokens


def test_it_counts_text_with_o200k_base():
    assert tokens.count_text("hello world") == 2
    assert tokens.count_text("") == 0


def test_it_counts_special_token_lookalikes_as_text():
    assert tokens.count_text("<|endoftext|>") > 1


def test_it_counts_a_chat_example_like_openais_guide():
    messages = [
        {"role": "system", "content": "hello world"},
        {"role": "user", "content": "hello world", "name": "lev"},
        {"role": "assistant", "content": "hello world", "weight": 1},
    ]
    role_tokens = sum(tokens.count_text(m["role"]) for m in messages)
    expected = 3 + 3 * 3 + role_tokens + 3 * 2 + (tokens.count_text("lev") + 1)
    assert tokens.count_messages(messages) == expected
    assert tokens.count_assistant_tokens(messages) == 2


# Pieces that tiktoken's pattern would merge with a neighbour if a separator let it: spaces and
# line breaks before and after text, punctuation runs, digit groups, contractions, marks.
FRAGMENTS = [
    "", " ", "  ", "\n", "\r\n", "\n\n ", "\t", "word", "Слово", "ЁЖИК", "'s", "'LL", "123", "4567", "!", "?!",
    ".\n", "/", "«", "»", "—", "e\u0301", "😀", "中文", "<|endofprompt|>", "<|endof", "text|>", "<|", "|>",
]  # fmt: skip


def test_it_count_texts_counts_each_text_as_count_text_does():
    rng = random.Random(7)
    for _ in range(300):
        texts = ["".join(rng.choices(FRAGMENTS, k=rng.randint(0, 6))) for _ in range(rng.randint(2, 8))]

        assert tokens.count_texts(texts) == [tokens.count_text(text) for text in texts], texts


@pytest.mark.parametrize(
    "texts",
    [
        ["Что такое <|endoftext|>?", "Ответ."],  # the separator itself, as plain text
        ["<|endoftext|>", "", "<|endoftext|><|endoftext|>"],
        ["Ответ: \ud800 — половинка символа.", "Вопрос?"],  # a lone surrogate, which JSON allows
        ["один"],
        [],
    ],
)
def test_it_count_texts_counts_texts_it_cannot_join(texts: list[str]):
    assert tokens.count_texts(texts) == [tokens.count_text(text) for text in texts]


@pytest.mark.smoke
def test_it_works_offline_on_a_fresh_machine(tmp_path: Path):
    """A new cache directory and no way out to the network: counting must still work."""
    env = {
        **os.environ,
        "TIKTOKEN_CACHE_DIR": str(tmp_path / "tiktoken"),
        "HTTPS_PROXY": "http://127.0.0.1:9",  # nothing listens there: any download fails
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    code = "import django; django.setup(); from llm.tokens import count_text; print(count_text('Привет, мир'))"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 0
    assert len(list((tmp_path / "tiktoken").iterdir())) == 1
