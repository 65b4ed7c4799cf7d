"""The demo course's assistant, with two lessons as knowledge files (pushed by the worker)."""

from django.core.files.base import ContentFile
from django.db import transaction
from django_q.tasks import async_task

from accounts.demo import CURATOR_EMAIL
from accounts.models import User
from courses.demo import DEMO_COURSE_SLUG
from courses.models import Course
from llm.services import provider_ensure_default

from .models import Assistant, KnowledgeFile
from .services import assistant_create

INSTRUCTIONS = """You are the assistant of the course "Python basics". Answer the learner's question briefly \
and precisely, with a short code example when it helps. Answer in the learner's language (Russian or English). \
Cite the course materials you rely on.

Ты — ассистент курса «Основы Python». Отвечай кратко и точно, с коротким примером кода, если он помогает. \
Отвечай на языке слушателя и ссылайся на материалы курса."""

LESSONS = {
    "lesson-1-loops.md": """# Lesson 1. Loops

A `for` loop walks over the items of a sequence: `for name in names: print(name)`.
A `while` loop repeats its body as long as its condition is true: `while n > 0: n -= 1`.
Use `break` to leave a loop early and `continue` to skip to the next round.
`range(5)` gives the numbers 0, 1, 2, 3, 4 — handy for counting loops.
The homework for lesson 1 is due on Friday.
""",
    "урок-2-функции.md": """# Урок 2. Функции

Функция объявляется словом `def`: `def greet(name): return "Привет, " + name`.
Аргументы по умолчанию задаются так: `def power(x, n=2): return x ** n`.
Функция без `return` возвращает `None`.
Документируйте функции строкой документации (docstring) в первой строке тела.
Домашнее задание ко второму уроку нужно сдать до понедельника.
""",
}


def load(*, stdout) -> None:
    course = Course.objects.get(slug=DEMO_COURSE_SLUG)
    assistant = Assistant.objects.filter(course=course).first()
    if assistant is None:
        assistant = assistant_create(
            course=course,
            name="Python tutor",
            provider=provider_ensure_default(),
            model="gpt-4.1-mini-2025-04-14",
            instructions=INSTRUCTIONS,
            temperature=0.3,
            function_tools=["course_info", "current_datetime"],
            user=User.objects.get(email=CURATOR_EMAIL),
        )
    for name, text in LESSONS.items():
        if not assistant.knowledge_files.filter(name=name).exists():
            data = text.encode()
            knowledge_file = KnowledgeFile.objects.create(
                assistant=assistant, file=ContentFile(data, name=name), name=name, size=len(data)
            )
            # The worker pushes it to the provider once the web server (and its sandbox) is up.
            transaction.on_commit(lambda pk=knowledge_file.pk: async_task("assistants.tasks.knowledge_file_push", pk))
    stdout.write(f"Demo assistant: {assistant.name} ({assistant.model}), {len(LESSONS)} knowledge files")
