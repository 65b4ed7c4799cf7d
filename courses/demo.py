from accounts.demo import CURATOR_EMAIL, LEARNER_EMAIL
from accounts.models import User

from .models import Course, Membership

DEMO_COURSE_SLUG = "python-basics"


def load(*, stdout) -> None:
    course, _ = Course.objects.get_or_create(
        slug=DEMO_COURSE_SLUG,
        defaults={
            "title": "Python basics / Основы Python",
            "description": (
                "An introductory course. Learners ask the course assistant about variables, loops and "
                "functions; curators teach the assistant from the best dialogs.\n\n"
                "Вводный курс: слушатели задают вопросы ассистенту, кураторы обучают его на лучших диалогах."
            ),
        },
    )
    for email, role in ((CURATOR_EMAIL, Membership.Role.CURATOR), (LEARNER_EMAIL, Membership.Role.LEARNER)):
        Membership.objects.get_or_create(course=course, user=User.objects.get(email=email), defaults={"role": role})
    stdout.write(f"Demo course: /c/{course.slug}/")
