"""Fixtures of the dataset page and transfer tests (imported by those modules, so no conftest
is shared with the other curation tests)."""

import pytest

from dialogs.datasets import services as curation
from dialogs.models import Dataset

INSTRUCTIONS = "You are the tutor of the Python course. Answer briefly."


def demo_rows(count: int = 12) -> list[dict]:
    """Lines like the demo's curated dialogs: Russian and English, system messages of their own on
    some, weights, a tool round with its tools declared."""
    tools = [
        {
            "type": "function",
            "function": {
                "name": "current_datetime",
                "description": "Today's date and time.",
                "parameters": {"type": "object", "properties": {}},
            },
        }
    ]
    rows = []
    for number in range(count):
        if number % 4 == 0:
            rows.append(
                {
                    "messages": [
                        {"role": "user", "content": f"Какой сегодня день? ({number})"},
                        {
                            "role": "assistant",
                            "tool_calls": [
                                {
                                    "id": f"call_{number}",
                                    "type": "function",
                                    "function": {"name": "current_datetime", "arguments": "{}"},
                                }
                            ],
                            "weight": 0,
                        },
                        {"role": "tool", "tool_call_id": f"call_{number}", "content": '{"weekday": "Monday"}'},
                        {"role": "assistant", "content": "Сегодня понедельник.", "weight": 1},
                    ],
                    "tools": tools,
                }
            )
        elif number % 4 == 1:
            rows.append(
                {
                    "messages": [
                        {"role": "system", "content": "Отвечай по-русски."},
                        {"role": "user", "content": f"Что такое список в Python? Вопрос {number}."},
                        {"role": "assistant", "content": "Упорядоченная изменяемая коллекция: [1, 2, 3].", "weight": 1},
                    ]
                }
            )
        else:
            rows.append(
                {
                    "messages": [
                        {"role": "user", "content": f"How do I loop over a list? (question {number})"},
                        {"role": "assistant", "content": "Use `for item in items:`.", "weight": 0},
                        {"role": "user", "content": "And with the index?"},
                        {"role": "assistant", "content": "Use `enumerate(items)`.", "weight": 1},
                    ]
                }
            )
    return rows


@pytest.fixture
def assistant(course, sandbox_provider):
    return course.assistants.create(
        name="Tutor", instructions=INSTRUCTIONS, provider=sandbox_provider, model="gpt-4.1-mini"
    )


@pytest.fixture
def dataset(course, assistant, curator) -> Dataset:
    return curation.dataset_create(course=course, name="Tutor examples", user=curator, assistant=assistant)


def fill(dataset: Dataset, rows: list[dict], user=None) -> list:
    curation.examples_create(dataset=dataset, rows=rows, user=user, summary="test")
    return list(dataset.examples.order_by("pk"))
