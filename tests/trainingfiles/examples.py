"""Demo-like fine-tuning data for the training-file tests: what curators of the Python course produce."""

INSTRUCTIONS = "Ты ассистент курса «Основы Python». Отвечай кратко и по делу."

QUESTIONS = (
    ("Как написать цикл от 1 до 10?", "Используйте `for i in range(1, 11): print(i)`."),
    ("Чем список отличается от кортежа?", "Список можно изменять, кортеж — нет."),
    ("What does len() return?", "The number of items in a sequence or collection."),
    ("Как проверить, что ключ есть в словаре?", "Оператором `in`: `if key in d:`."),
    ("How do I read a file line by line?", "Use `with open(path) as f: for line in f: ...`."),
    ("Что такое f-строка?", 'Строка с префиксом f: `f"{name}"` подставляет значения.'),
    ("How do I sort a list in place?", "Call `items.sort()`; `sorted(items)` returns a new list."),
    ("Зачем нужен `if __name__ == '__main__'`?", "Чтобы код выполнялся только при запуске файла."),
    ("What is a virtual environment?", "An isolated set of packages for one project: `python -m venv .venv`."),
    ("Как объединить два словаря?", "В Python 3.9+: `a | b`."),
    ("How do I catch an exception?", "Wrap the code in `try:` and handle it in `except ValueError:`."),
    ("Что делает `enumerate`?", "Возвращает пары (индекс, элемент)."),
)


def chat_example(question: str, answer: str) -> dict:
    return {
        "messages": [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ]
    }


def tool_example() -> dict:
    """A learner question answered through the course's search tool, with a context-only turn."""
    return {
        "messages": [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": "Привет!"},
            {"role": "assistant", "content": "Здравствуйте! Чем помочь?", "weight": 0},
            {"role": "user", "content": "Где в курсе про генераторы?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "search_course", "arguments": '{"query": "генераторы"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "Урок 7: генераторы и yield."},
            {"role": "assistant", "content": "Генераторам посвящён урок 7.", "weight": 1},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "search_course",
                    "description": "Search the course materials.",
                    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
                },
            }
        ],
        "parallel_tool_calls": False,
    }


def demo_examples() -> list[dict]:
    return [chat_example(question, answer) for question, answer in QUESTIONS] + [tool_example()]


def dpo_pair(question: str, preferred: str, rejected: str) -> dict:
    return {
        "input": {"messages": [{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": question}]},
        "preferred_output": [{"role": "assistant", "content": preferred}],
        "non_preferred_output": [{"role": "assistant", "content": rejected}],
    }


def demo_pairs() -> list[dict]:
    return [dpo_pair(question, answer, "Не знаю.") for question, answer in QUESTIONS]
