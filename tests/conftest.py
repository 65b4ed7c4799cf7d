"""Shared fixtures: one course (plus another one), one user per role."""

import datetime
import os

import pytest
from django.contrib.auth.models import Group
from django.core.cache import caches
from django.core.files.storage import storages

from accounts.models import Role, User
from core.background import stalled_before
from courses.models import Course, Membership

pytest_plugins = ["tests.fixtures.sandbox", "tests.fixtures.servers", "tests.fixtures.training"]

# Playwright's sync API runs an event loop in the test thread; the ORM calls that tests make
# beside it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct-horse-battery-staple"


def make_user(email: str, **fields) -> User:
    return User.objects.create_user(email=email, password=PASSWORD, **fields)


def stalled() -> datetime.datetime:
    """A moment longer ago than any task runs: work last touched then has lost its task."""
    return stalled_before() - datetime.timedelta(seconds=1)


def subprocess_environment(**extra: str) -> dict[str, str]:
    """What a process that a test starts (a worker, a runner) needs to use the test's own database,
    settings and training storage."""
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        database_url = f"sqlite:///{db['NAME']}"
    else:
        database_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url,
        "GRADCAP_TEST_TRAINING_STORAGE": settings.TRAINING_TEST_STORAGE,
        "GRADCAP_TEST_TRAINING_WORK": str(settings.TRAINING_WORK_DIR),
        **extra,
    }


def add_member(user: User, course: Course, role: str) -> Membership:
    return Membership.objects.create(user=user, course=course, role=role)


@pytest.fixture
def course(db) -> Course:
    return Course.objects.create(title="Python basics", slug="python-basics", description="Loops and functions.")


@pytest.fixture
def other_course(db) -> Course:
    return Course.objects.create(title="Statistics", slug="statistics")


@pytest.fixture
def site_admin(db) -> User:
    user = make_user("admin@example.com", is_staff=True)
    # get_or_create: transactional tests (the browser's live server) flush the groups that the
    # data migration created.
    user.groups.add(Group.objects.get_or_create(name=Role.ADMIN)[0])
    return user


@pytest.fixture
def curator(course) -> User:
    user = make_user("curator@example.com")
    add_member(user, course, Membership.Role.CURATOR)
    return user


@pytest.fixture
def learner(course) -> User:
    user = make_user("learner@example.com")
    add_member(user, course, Membership.Role.LEARNER)
    return user


@pytest.fixture
def other_curator(other_course) -> User:
    """A curator, but of another course."""
    user = make_user("other-curator@example.com")
    add_member(user, other_course, Membership.Role.CURATOR)
    return user


@pytest.fixture
def stranger(db) -> User:
    """Logged in, member of nothing."""
    return make_user("stranger@example.com")


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    """The cache is a database table that flushes do not empty: rate-limit counters must not leak
    from one test into the next (nor stream tickets, kept in this process's memory)."""
    for name in ("transactional_db", "db"):
        if name in request.fixturenames:
            request.getfixturevalue(name)
            for each in caches.all():
                each.clear()
            break
    yield


@pytest.fixture(autouse=True)
def _fresh_chat_images():
    """The chat's images are kept in memory in tests: each test starts with none (a rolled-back
    test deletes its rows, never their files)."""
    storages._storages.pop("chat_images", None)
    yield
    storages._storages.pop("chat_images", None)
