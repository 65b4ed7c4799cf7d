"""config.handlers: each ASGI request's sync code runs in one thread, borrowed from a pool and
reused by later requests, as asgiref's own per-request thread would run it (but not made anew)."""

import asyncio
import threading
import time

import httpx2
import pytest
from django.core import signals

from config import handlers

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def threads_seen():
    """(signal, thread) for each request signal's sync receiver, as Django runs them."""
    seen: list[tuple[str, threading.Thread]] = []

    def started(**kwargs):
        seen.append(("started", threading.current_thread()))

    def finished(**kwargs):
        seen.append(("finished", threading.current_thread()))

    signals.request_started.connect(started, weak=False)
    signals.request_finished.connect(finished, weak=False)
    yield seen
    signals.request_started.disconnect(started)
    signals.request_finished.disconnect(finished)


def _all_finished(seen: list, requests: int) -> None:
    # A response is closed (request_finished) just after its last byte is sent.
    deadline = time.monotonic() + 5
    while sum(name == "finished" for name, _thread in seen) < requests and time.monotonic() < deadline:
        time.sleep(0.01)


def test_it_runs_a_requests_sync_code_in_one_thread_and_reuses_it_for_the_next(asgi_server, threads_seen):
    with httpx2.Client(base_url=asgi_server.url) as http:
        for number in range(1, 11):
            assert http.get("/accounts/login/").status_code == 200
            _all_finished(threads_seen, number)
    assert [name for name, _thread in threads_seen] == ["started", "finished"] * 10
    threads = {thread for _name, thread in threads_seen}
    # Reused: one thread serves one request after another (a second one when a request comes in
    # while the last one's handler is still giving its thread back).
    assert len(threads) <= 2
    assert all(thread.name.startswith("request") for thread in threads)


def test_it_gives_concurrent_requests_threads_of_their_own_and_keeps_a_bounded_few(
    asgi_server, threads_seen, monkeypatch
):
    monkeypatch.setattr(handlers, "REQUEST_THREADS_IDLE", 2)

    async def at_once():
        async with httpx2.AsyncClient(base_url=asgi_server.url) as http:
            return await asyncio.gather(*(http.get("/accounts/login/") for _ in range(6)))

    responses = asyncio.run(at_once())
    _all_finished(threads_seen, 6)

    assert [response.status_code for response in responses] == [200] * 6
    by_request: dict[threading.Thread, list[str]] = {}
    for name, thread in threads_seen:
        by_request.setdefault(thread, []).append(name)
    # Each thread ran whole requests: never a start while its request was unfinished.
    for names in by_request.values():
        assert names == ["started", "finished"] * (len(names) // 2)
    assert len(handlers._idle) <= 2
