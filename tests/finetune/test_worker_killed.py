"""A real worker, on the Redis broker as in production, killed (SIGKILL) while it answers an
evaluation: the Redis broker keeps no receipts, so the task is gone; the sweep queues it again
and a new worker finishes the work, each answer recorded once."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

from finetune.models import Evaluation
from tests.conftest import stalled, subprocess_environment
from tests.finetune.conftest import running_evaluation, trained_model

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = [f"What is topic {number} about?" for number in range(8)]


@pytest.fixture
def redis_url(tmp_path):
    """A throwaway Redis server (Debian's redis-server, which bin/test installs) on a free port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.fail("redis-server not found: bin/test installs Debian's redis-server package.")
    server = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield url
    server.terminate()
    server.wait(timeout=10)


def _worker_env(redis_url: str) -> dict[str, str]:
    """The test's own database and settings, with the Redis broker and tasks not inline."""
    return subprocess_environment(GRADCAP_TEST_WORKER_REDIS=redis_url)


def _start_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        start_new_session=True,  # its own process group: SIGKILL reaches every process of the cluster
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _enqueue(env: dict[str, str], func: str, *args: int) -> None:
    code = f"from django_q.tasks import async_task; async_task({func!r}, *{args!r})"
    subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, timeout=60)


def _wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("gave up waiting")
        time.sleep(0.1)


def _evaluation(pk: int) -> Evaluation:
    return Evaluation.objects.get(pk=pk)


def test_it_a_killed_workers_evaluation_is_finished_by_the_sweep(dataset, provider, curator, redis_url):
    trained = trained_model(dataset, provider, curator)
    evaluation = running_evaluation(trained, curator, QUESTIONS)
    provider.extra_headers = {"X-Sandbox-Fault": "slow;delay=0.3"}  # answers take a while
    provider.save()
    env = _worker_env(redis_url)
    queue = redis.Redis.from_url(redis_url)
    queue_key = f"django_q:{settings.Q_CLUSTER['name']}:q"

    worker = _start_worker(env)
    try:
        _enqueue(env, "finetune.tasks.evaluation_answer", evaluation.pk)
        _wait_for(lambda: _evaluation(evaluation.pk).done >= 2)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    killed = _evaluation(evaluation.pk)
    assert killed.status == "running" and 2 <= killed.done < killed.total
    assert queue.llen(queue_key) == 0  # the Redis broker kept nothing to deliver again

    worker = _start_worker(env)
    try:
        Evaluation.objects.filter(pk=evaluation.pk).update(updated_at=stalled())  # time passes
        _enqueue(env, "finetune.tasks.work_recover")  # what the schedule runs every minute
        _wait_for(lambda: not _evaluation(evaluation.pk).is_active)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finished = _evaluation(evaluation.pk)
    assert (finished.status, finished.error, finished.done, finished.total) == ("done", "", 8, 8)
    assert all(item.answered and item.base_answer and item.tuned_answer for item in finished.items.all())
