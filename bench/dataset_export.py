"""Validating and exporting a dataset must cost little more than tokenizing it.

Generates synthetic chat examples (Russian and English, 3–8 messages each, some with tool
calls), then times tiktoken encoding every message's text against `validate_dataset` plus
`export_supervised` over the same examples. Needs no database.

    .venv/bin/python bench/dataset_export.py [--examples 10000] [--repeat 3] [--seed 7]

Exits 0 when validate+export takes at most 1.5× the plain encoding time, 1 otherwise.
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

import django

django.setup()

from dialogs.formats import export_supervised
from dialogs.validation import validate_dataset
from llm.catalog import get_model
from llm.tokens import encoding

GOAL = 1.5

RU_TEXT = (
    "цикл функция переменная список словарь значение строка ошибка программа задача ответ вопрос "
    "пример условие индекс элемент модуль класс объект метод аргумент результат проверка тест "
    "почему как можно нужно сделать вернуть вывести сначала потом если иначе пока каждый"
)
EN_TEXT = (
    "loop function variable list dictionary value string error program task answer question "
    "example condition index element module class object method argument result check test "
    "why how can should make return print first then if else while each the a of to and"
)
RU_WORDS = tuple(RU_TEXT.split())
EN_WORDS = tuple(EN_TEXT.split())
SYSTEM_PROMPTS = tuple(
    f"Ты ассистент курса «{name}». Отвечай кратко, по-русски, с примерами кода. "
    f"You are the assistant of the {name} course; cite the course materials."
    for name in ("Основы Python", "Статистика", "Веб-разработка", "Алгоритмы", "SQL")
)


def _sentence(rng: random.Random, words: tuple[str, ...] | list[str], low: int, high: int) -> str:
    text = " ".join(rng.choice(words) for _ in range(rng.randint(low, high)))
    return text[0].upper() + text[1:] + rng.choice(".?!")


def _text(rng: random.Random, sentences: int) -> str:
    words = RU_WORDS if rng.random() < 0.6 else EN_WORDS
    parts = [_sentence(rng, words, 4, 18) for _ in range(sentences)]
    if rng.random() < 0.2:
        parts.append("```python\nfor i in range(10):\n    print(i * i)\n```")
    return " ".join(parts)


def make_examples(count: int, *, seed: int) -> list[dict]:
    rng = random.Random(seed)
    examples = []
    for number in range(count):
        messages: list[dict] = [{"role": "system", "content": rng.choice(SYSTEM_PROMPTS)}]
        turns = rng.randint(1, 3)  # 3–7 messages; a tool round makes some 8
        for turn in range(turns):
            messages.append({"role": "user", "content": f"#{number} " + _text(rng, rng.randint(1, 3))})
            if turn == turns - 1 and rng.random() < 0.1:
                call_id = f"call_{number}"
                call = {"name": "search_course", "arguments": '{"query": "цикл for"}'}
                calls = [{"id": call_id, "type": "function", "function": call}]
                messages.append({"role": "assistant", "tool_calls": calls})
                messages.append({"role": "tool", "tool_call_id": call_id, "content": _text(rng, 2)})
            answer = {"role": "assistant", "content": _text(rng, rng.randint(2, 6))}
            if turn < turns - 1 and rng.random() < 0.3:
                answer["weight"] = 0
            messages.append(answer)
        examples.append({"messages": messages})
    return examples


def encode_all(examples: list[dict]) -> int:
    """The baseline: tiktoken encoding every text of every message, nothing else."""
    enc = encoding()
    tokens = 0
    for example in examples:
        for message in example["messages"]:
            content = message.get("content")
            if content:
                tokens += len(enc.encode(content, disallowed_special=()))
    return tokens


def validate_and_export(examples: list[dict]) -> int:
    report = validate_dataset(enumerate(examples), base_model=get_model("gpt-4.1-mini"))
    if report.error_count:
        raise SystemExit(f"the synthetic dataset should be valid: {next(report.all_issues())}")
    return sum(len(line) for line in export_supervised(examples))


def best_time(function, examples: list[dict], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        function(examples)
        times.append(time.process_time() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    examples = make_examples(args.examples, seed=args.seed)
    encoding().encode("warm up")  # load the BPE file before timing
    encode_seconds = best_time(encode_all, examples, args.repeat)
    pipeline_seconds = best_time(validate_and_export, examples, args.repeat)
    ratio = pipeline_seconds / encode_seconds
    print(f"examples: {len(examples)}, messages: {sum(len(e['messages']) for e in examples)}")
    print(f"tiktoken encode: {encode_seconds:.3f} s")
    print(f"validate+export: {pipeline_seconds:.3f} s")
    print(f"goal: validate+export <= {GOAL}x tiktoken encode; measured {ratio:.2f}x; ratio to limit {ratio / GOAL:.2f}")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
