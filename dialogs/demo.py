"""Recorded dialogs to curate from the first run (Russian and English, chat, playground and API,
some rated, some with tool calls, citations, a failed answer) and a dataset of ready examples made
from them with 🎓 — one with a rewritten answer, so the DPO export has a pair.

Everything goes through the services the product uses (dialogs.chat.services,
dialogs.datasets.services), so the demo's dialogs look exactly like recorded ones. Loaded once: a
rerun finds the dataset and stops.
"""

import io
from datetime import timedelta

from django.utils import timezone
from PIL import Image, ImageDraw

from accounts.demo import CURATOR_EMAIL, LEARNER_EMAIL
from accounts.models import User
from assistants.events import Turn
from assistants.models import Assistant
from core.images import CleanImage, clean_image
from courses.demo import DEMO_COURSE_SLUG
from courses.models import Course

from .chat import images as question_images
from .chat import services as chat
from .datasets import edits
from .datasets import services as curation
from .models import Dialog, Message
from .records import triage

DATASET_NAME = "Python tutor: curated answers"
LOOPS = "lesson-1-loops.md"
FUNCTIONS = "урок-2-функции.md"
UP, DOWN = 1, -1


def _turn(
    question: str,
    answer: str,
    *,
    feedback: int | None = None,
    cite: str = "",
    tool: dict | None = None,
    screenshot: str = "",
):
    """A question and its answer; `screenshot`, the text of a picture the learner sends with it."""
    return {"q": question, "a": answer, "feedback": feedback, "cite": cite, "tool": tool, "screenshot": screenshot}


def _screenshot(text: str) -> CleanImage:
    """A picture of a terminal showing `text`, as a learner photographs their screen."""
    picture = Image.new("RGB", (480, 120), (30, 30, 46))
    ImageDraw.Draw(picture).multiline_text((16, 16), text, fill=(235, 90, 90), spacing=8)
    output = io.BytesIO()
    picture.save(output, "PNG")
    return clean_image(output.getvalue())


def _deadline_call(call_id: str, zone: str, date: str, weekday: str) -> dict:
    return {
        "call_id": call_id,
        "name": "current_datetime",
        "arguments": f'{{"timezone": "{zone}"}}',
        "output": {"timezone": zone, "date": date, "time": "18:20", "weekday": weekday},
    }


COURSE_CALL = {
    "call_id": "call_demo_course",
    "name": "course_info",
    "arguments": "{}",
    "output": {"title": "Python basics / Основы Python", "active": True},
}

# (source, who, days ago, turns, failed last answer). "who": learner, curator or an external id.
DIALOGS: list[tuple[str, str, int, list[dict], bool]] = [
    (
        "chat",
        "learner",
        1,
        [
            _turn(
                "Как работает цикл for?",
                "Цикл `for` перебирает элементы последовательности по очереди:\n\n"
                "```python\nfor name in ['Аня', 'Борис']:\n    print(name)\n```",
                feedback=UP,
                cite=LOOPS,
            ),
            _turn(
                "А как выйти из цикла раньше?",
                "Используйте `break`: цикл завершится сразу, даже если элементы ещё остались.",
                feedback=UP,
                cite=LOOPS,
            ),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        1,
        [
            _turn(
                "What is the difference between a list and a tuple?",
                "A list can be changed after it is "
                "created (`append`, `remove`); a tuple cannot. Use a tuple for fixed groups such as "
                "coordinates: `point = (3, 4)`.",
                feedback=UP,
            ),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        2,
        [
            _turn(
                "Когда дедлайн по первому домашнему заданию?",
                "Домашнее задание к первому уроку нужно сдать до пятницы. Сегодня среда, так что у вас ещё два дня.",
                feedback=UP,
                cite=LOOPS,
                tool=_deadline_call("call_demo_1", "Europe/Moscow", "2026-11-18", "Wednesday"),
            ),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        2,
        [
            _turn(
                "How do I catch an exception when the user types a word instead of a number?",
                "Wrap the conversion in `try` and catch `ValueError`:\n\n```python\ntry:\n    age = int(text)\n"
                "except ValueError:\n    print('Please type a number')\n```",
                feedback=UP,
            ),
            _turn(
                "Can I catch several exceptions at once?",
                "Yes: `except (ValueError, TypeError):` catches either of them.",
            ),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        3,
        [
            _turn(
                "Почему моя функция возвращает None?",
                "Скорее всего, в ней нет `return`. Функция без `return` возвращает `None`.",
                feedback=UP,
                cite=FUNCTIONS,
            ),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        3,
        [
            _turn("What does range(5) give?", "It gives 1, 2, 3, 4, 5.", feedback=DOWN, cite=LOOPS),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        4,
        [
            _turn(
                "Как задать аргумент по умолчанию?",
                "Напишите значение после знака равенства: "
                "`def power(x, n=2): return x ** n`. Тогда `power(3)` вернёт 9.",
                feedback=UP,
                cite=FUNCTIONS,
            ),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        4,
        [
            _turn(
                "When is the homework for lesson 2 due?",
                "The homework for lesson 2 is due on Monday.",
                cite=FUNCTIONS,
                tool=_deadline_call("call_demo_2", "UTC", "2026-11-16", "Monday"),
            ),
            _turn("Is it this Monday or next Monday?", "Today is Monday, so it is due next Monday."),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        5,
        [
            _turn(
                "Чем while отличается от for?",
                "`while` повторяет тело, пока условие истинно; `for` "
                "перебирает готовую последовательность. Если число повторений известно, берите `for`.",
                cite=LOOPS,
            ),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        5,
        [
            _turn(
                "How do I read a file line by line?",
                "Open it with `with open(path) as f:` and loop over it: "
                "`for line in f: print(line.strip())`. The file is closed for you at the end.",
                feedback=UP,
            ),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        6,
        [
            _turn("Что такое исключение KeyError?", "Это ошибка, которая значит, что словарь пустой.", feedback=DOWN),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        6,
        [
            _turn(
                "How do I sort a list of numbers from largest to smallest?",
                "Use "
                "`sorted(numbers, reverse=True)` for a new list, or `numbers.sort(reverse=True)` to sort it "
                "in place.",
                feedback=UP,
            ),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        7,
        [
            _turn(
                "Как добавить элемент в список?",
                "Метод `append` добавляет в конец: `items.append(5)`; `insert(0, 5)` — в начало.",
            ),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        7,
        [
            _turn("Explain list comprehensions please", "", feedback=None),
        ],
        True,
    ),
    (
        "chat",
        "learner",
        8,
        [
            _turn(
                "What is a docstring?",
                "A string on the first line of a function's body that says what the "
                'function does: `def area(r):\n    """Area of a circle of radius r."""`.',
                cite=FUNCTIONS,
            ),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        9,
        [
            _turn(
                "Сколько уроков в курсе?",
                "Курс «Основы Python» — вводный: сейчас в нём два урока, про циклы и про функции.",
                tool=COURSE_CALL,
            ),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        10,
        [
            _turn(
                "continue и break — в чём разница?",
                "`break` завершает цикл целиком, `continue` пропускает остаток текущего шага и переходит к следующему.",
                feedback=UP,
                cite=LOOPS,
            ),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        11,
        [
            _turn(
                "Can a function return two values?",
                "Yes: `return x, y` returns a tuple, which you can unpack: `a, b = f()`.",
                feedback=UP,
                cite=FUNCTIONS,
            ),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        12,
        [
            _turn(
                "Что делает finally?",
                "Блок `finally` выполняется всегда — была ошибка или нет. Там закрывают файлы и соединения.",
            ),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        13,
        [
            _turn(
                "Как проверить, есть ли ключ в словаре?",
                "Используйте `in`: `if 'age' in person:`. "
                "Или `person.get('age')`, который вернёт `None` вместо ошибки.",
                feedback=UP,
            ),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        14,
        [
            _turn(
                "Why do I get IndentationError?",
                "Python uses indentation to group code. Indent the body of "
                "`if`, `for` and `def` by four spaces, the same in every line.",
            ),
        ],
        False,
    ),
    (
        "chat",
        "learner",
        15,
        [
            _turn(
                "Напиши за меня домашнее задание",
                "Не могу сделать его за вас, но помогу разобраться: с какой задачей трудности?",
                feedback=DOWN,
            ),
        ],
        False,
    ),
    (
        "playground",
        "curator",
        2,
        [
            _turn(
                "Объясни рекурсию на примере факториала",
                "Функция вызывает саму себя с меньшим аргументом:\n\n"
                "```python\ndef fact(n):\n    return 1 if n <= 1 else n * fact(n - 1)\n```",
                feedback=UP,
            ),
        ],
        False,
    ),
    (
        "playground",
        "curator",
        3,
        [
            _turn("What is the deadline policy for late homework?", "", feedback=None),
        ],
        True,
    ),
    (
        "playground",
        "curator",
        6,
        [
            _turn(
                "How do I loop over a dictionary's keys and values?",
                "Use `items()`: `for key, value in person.items(): print(key, value)`.",
                feedback=UP,
                cite=LOOPS,
            ),
        ],
        False,
    ),
    (
        "api",
        "tg-1001",
        1,
        [
            _turn("привет! как создать пустой список?", "Так: `items = []` или `items = list()`.", feedback=UP),
        ],
        False,
    ),
    (
        "api",
        "tg-1002",
        2,
        [
            _turn("how to print without a new line", "Pass `end`: `print('Loading', end='')`."),
        ],
        False,
    ),
    (
        "api",
        "tg-1003",
        4,
        [
            _turn(
                "что будет если поделить на ноль",
                "Будет исключение `ZeroDivisionError`. Перехватите его через `try ... except ZeroDivisionError`.",
                feedback=UP,
            ),
        ],
        False,
    ),
    (
        "api",
        "tg-1004",
        8,
        [
            _turn(
                "how do i convert a string to a number",
                "Use `int('42')` for whole numbers and "
                "`float('3.5')` for decimals; both raise `ValueError` for text that is not a number.",
            ),
        ],
        False,
    ),
    (
        "api",
        "tg-1005",
        16,
        [
            _turn(
                "какой сегодня день недели?",
                "Сегодня четверг.",
                tool=_deadline_call("call_demo_3", "Europe/Moscow", "2026-11-05", "Thursday"),
                feedback=UP,
            ),
        ],
        False,
    ),
    (  # the learner asks again in other words, then complains: triage flags it (dialogs.records.triage)
        "chat",
        "learner",
        1,
        [
            _turn("What does enumerate do in Python?", "It is a built-in function."),
            _turn(
                "Explain what enumerate does in a Python for loop",
                "It gives each item with its index: `for i, item in enumerate(items):`.",
            ),
            _turn("That was useless at first, why not say so right away?", "You are right, I should have."),
        ],
        False,
    ),
    (  # a photo of the screen: the chat takes images (dialogs.chat.images)
        "chat",
        "learner",
        0,
        [
            _turn(
                "What does this error mean?",
                "Python met the name `totl` before anything was assigned to it: a typo of `total`. "
                "Write `print(total)`.",
                screenshot='>>> print(totl)\nNameError: name "totl" is not defined',
            ),
        ],
        False,
    ),
]

# Examples made with 🎓: the dialog's index in DIALOGS, and a better answer where the recorded one was bad.
CURATED: dict[int, str | None] = {
    0: None,
    1: None,
    2: None,
    3: None,
    4: None,
    6: None,
    9: None,
    11: None,
    16: None,
    17: None,
    19: None,
    22: None,
    24: None,
    27: None,
    5: "`range(5)` gives 0, 1, 2, 3 and 4: it starts at 0 and stops before 5.",
    10: "`KeyError` значит, что в словаре нет такого ключа. Проверьте ключ через `in` или используйте "
    "`dict.get(key)`, который вернёт `None`.",
}


def _citations(filename: str, answer: str) -> list[dict]:
    """A footnote after the answer's first line (never inside a code block below it)."""
    if not filename:
        return []
    return [{"number": 1, "file_id": f"demo-{filename}", "filename": filename, "index": len(answer.split("\n")[0])}]


def _record(assistant: Assistant, source: str, who: str, turns: list[dict], failed: bool, users: dict) -> Dialog:
    user = users.get(who)
    dialog = chat.dialog_start(assistant=assistant, source=source, user=user, external_user_id="" if user else who)
    for number, turn in enumerate(turns):
        images = [_screenshot(turn["screenshot"])] if turn["screenshot"] else []
        stored = question_images.files_store(dialog.course_id, images)
        _question, answer = chat.turn_ask(dialog=dialog, content=turn["q"], images=stored)
        broken = failed and number == len(turns) - 1
        recorded = Turn(
            text=turn["a"],
            model=assistant.model,
            citations=_citations(turn["cite"], turn["a"]),
            tool_calls=[turn["tool"]] if turn["tool"] else [],
            input_tokens=180 + 40 * number,
            output_tokens=max(1, len(turn["a"]) // 4),
            first_token_ms=420,
            total_ms=1300 + 10 * len(turn["a"]),
        )
        chat.answer_record(
            answer=answer,
            turn=recorded,
            status=Message.Status.FAILED if broken else Message.Status.COMPLETE,
            error="The assistant is not available right now (the provider answered 503). Try again in a minute."
            if broken
            else "",
        )
        if turn["feedback"]:
            chat.feedback_set(answer=answer, value=turn["feedback"])
    return dialog


def load(*, stdout) -> None:
    course = Course.objects.get(slug=DEMO_COURSE_SLUG)
    if course.datasets.filter(name=DATASET_NAME).exists():
        stdout.write("Demo dialogs: already there")
        return
    assistant = Assistant.objects.filter(course=course).order_by("pk").first()
    curator = User.objects.get(email=CURATOR_EMAIL)
    users = {"learner": User.objects.get(email=LEARNER_EMAIL), "curator": curator}
    now = timezone.now()
    dialogs = []
    for index, (source, who, days_ago, turns, failed) in enumerate(DIALOGS):
        dialog = _record(assistant, source, who, turns, failed, users)
        moment = now - timedelta(days=days_ago, minutes=37 * index)
        Dialog.objects.filter(pk=dialog.pk).update(created_at=moment, updated_at=moment + timedelta(minutes=3))
        for position in dialog.messages.values_list("position", flat=True):  # a minute apart
            dialog.messages.filter(position=position).update(created_at=moment + timedelta(minutes=position - 1))
        dialogs.append(dialog)

    dataset = curation.dataset_create(course=course, name=DATASET_NAME, user=curator, assistant=assistant)
    for index, better in CURATED.items():
        example = curation.example_from_dialog(dialog=dialogs[index], dataset=dataset, user=curator)
        if better is not None:  # the curator rewrote the answer: a DPO pair (better vs recorded)
            last = max(i for i, m in enumerate(example.messages) if m["role"] == "assistant")
            example = curation.example_change(
                example=example, version=example.version, user=curator, change=edits.set_content(last, better)
            )
        curation.example_change(
            example=example, version=example.version, user=curator, change=edits.set_status("ready")
        )
    flagged = triage.dialogs_triage()  # at once, rather than at the worker's first sweep
    stdout.write(
        f"Demo dialogs: {len(dialogs)} ({flagged} read for triage flags); "
        f"dataset “{dataset.name}” with {len(CURATED)} ready examples"
    )
