"""Shared set-up for the benchmarks: a throwaway database, the production server, the last line.

Each benchmark works in a database of its own: a temporary SQLite file, or — when DATABASE_URL
points at PostgreSQL — a fresh database on that server, dropped at the end.
"""

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# One key for this process (which creates the data and the sessions) and the server.
SECRET_KEY = "bench-secret-" + uuid.uuid4().hex * 2


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """Yield a DATABASE_URL for a new, empty database; remove it afterwards."""
    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith(("postgres://", "postgresql://")):
        import psycopg

        base, _, _ = configured.rpartition("/")
        name = f"gradcap_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{base}/{name}"
        finally:
            with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        with tempfile.TemporaryDirectory(prefix="gradcap-bench-") as directory:
            yield f"sqlite:///{directory}/bench.sqlite3"


def setup_django(database_url: str, settings: str = "config.settings.dev") -> None:
    """Configure Django in this process for `database_url` and migrate it."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = settings
    os.environ["SECRET_KEY"] = SECRET_KEY
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def migrate(database_url: str, *, root: Path = ROOT) -> None:
    """Migrate `database_url` from a process of its own (a database this process does not use)."""
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings.dev"}
    for command in (["migrate", "-v0"], ["createcachetable"]):
        subprocess.run([PYTHON, "manage.py", *command], cwd=root, env=env, check=True)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and every process below it (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


@contextlib.contextmanager
def production_server(
    database_url: str,
    *,
    workers: int = 1,
    port: int | None = None,
    root: Path = ROOT,
    env_extra: dict | None = None,
    pid: list | None = None,
    profile_stats: Path | None = None,
) -> Iterator[str]:
    """The production server command (uvicorn, production settings, sandbox enabled) on localhost,
    run from the checkout at `root`. `pid`, when given, receives the server's process id. With
    `profile_stats`, one process under yappi's CPU clock instead (bench/profiled_server.py), which
    writes its profile there when stopped."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": os.environ.get("FIELD_ENCRYPTION_KEYS") or _fernet_key(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SANDBOX_ENABLED": "true",
        "SANDBOX_BASE_URL": f"{url}/sandbox/v1",
        "EMAIL_HOST": "localhost",
        "LOG_LEVEL": "WARNING",
        **(env_extra or {}),
    }
    command = [PYTHON, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    if profile_stats is not None:
        command = [
            PYTHON,
            str(ROOT / "bench" / "profiled_server.py"),
            "--port",
            str(port),
            "--stats",
            str(profile_stats),
        ]
    # As a release would: the hashed static files the production settings serve.
    subprocess.run([PYTHON, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=root, env=env, check=True)
    server = subprocess.Popen(command, cwd=root, env=env)
    if pid is not None:
        pid.append(server.pid)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/accounts/login/", timeout=1)  # noqa: S310 -- our own server
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)


def time_requests(client, plan: list[tuple[str, str]], rounds: int) -> dict[str, list[float]]:
    """Milliseconds of each (name, url) GET through Django's test `client`, `rounds` times, after
    one warm-up round (templates, the connection, caches)."""
    for _name, url in plan:
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    timings: dict[str, list[float]] = {name: [] for name, _url in plan}
    for _ in range(rounds):
        for name, url in plan:
            started = time.perf_counter()
            response = client.get(url)
            timings[name].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    return timings


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def finish(*, goal: str, measured: float, limit: float, unit: str = "") -> int:
    """Print the last line (goal, figure, ratio to the limit) and return the exit code."""
    # A goal of zero (errors) is met only by zero.
    zero_ratio = 0.0 if measured == 0 else float("inf")
    ratio = measured / limit if limit else zero_ratio
    met = measured <= limit
    print(f"goal: {goal}; measured {measured:.2f}{unit}; ratio to limit {ratio:.2f} ({'met' if met else 'NOT met'})")
    return 0 if met else 1


CSRF_TOKEN = "benchmarkbenchmarkbenchmarkbench"  # any 32 allowed characters: cookie and header agree


def chat_fixture(*, server_url: str, learners: int = 1):
    """A course with a sandbox assistant (no tools, no files: the plainest answer) and logged-in
    learners. Returns (course, assistant, [request headers per learner])."""
    from django.test import Client

    from accounts.models import User
    from assistants.services import assistant_create
    from courses.models import Course, Membership
    from llm.models import Provider

    course = Course.objects.create(title="Bench", slug="bench")
    provider = Provider.objects.create(
        name="Sandbox", kind=Provider.Kind.SANDBOX, base_url=f"{server_url}/sandbox/v1/", max_retries=0
    )
    assistant = assistant_create(
        course=course, name="Bench", provider=provider, model="gpt-4.1-mini-2025-04-14", instructions="Be brief."
    )
    headers = []
    for number in range(learners):
        user = User.objects.create_user(email=f"learner{number}@example.com", password="bench-password-1")
        Membership.objects.create(course=course, user=user, role=Membership.Role.LEARNER)
        client = Client()
        client.force_login(user)
        session = client.cookies["sessionid"].value
        headers.append(
            {
                "Cookie": f"sessionid={session}; csrftoken={CSRF_TOKEN}",
                "X-CSRFToken": CSRF_TOKEN,
                "Accept": "application/json",
            }
        )
    return course, assistant, headers
