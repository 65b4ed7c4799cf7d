"""Streaming answers over a real ASGI server (uvicorn), as the browser receives them."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx2
import pytest

from dialogs.models import Dialog, Message

JSON = {"HTTP_ACCEPT": "application/json"}


def _ask(client, course, user, content="Hello there") -> Message:
    client.force_login(user)
    client.post(f"/c/{course.slug}/chat/ask/", {"content": content}, **JSON)
    return Message.objects.get(role="assistant", status="pending")


def _events(response) -> list[tuple[str, dict]]:
    events, name = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[len("data: ") :])))
    return events


def _stream_url(answer: Message) -> str:
    return f"/c/{answer.dialog.course.slug}/chat/{answer.dialog_id}/messages/{answer.pk}/stream/"


def _http(asgi_server, client) -> httpx2.Client:
    return httpx2.Client(base_url=asgi_server.url, cookies={"sessionid": client.cookies["sessionid"].value}, timeout=10)


@pytest.mark.smoke
def test_it_streams_the_answer_and_records_it(client, course, learner, served_tutor, asgi_server):
    answer = _ask(client, course, learner)
    with _http(asgi_server, client) as http, http.stream("GET", _stream_url(answer)) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(response)
    names = [name for name, _ in events]
    assert names[0] == "delta" and names[-1] == "done" and names.count("done") == 1
    text = "".join(data["text"] for name, data in events if name == "delta")
    answer.refresh_from_db()
    assert answer.status == "complete"
    assert answer.content == text
    assert answer.model == "gpt-4.1-mini-2025-04-14"
    assert answer.input_tokens > 0 and answer.output_tokens > 0 and answer.first_token_ms is not None
    assert "sandbox" in events[-1][1]["html"]


def test_it_does_not_generate_an_answer_twice(client, course, learner, served_tutor, asgi_server):
    answer = _ask(client, course, learner)
    with _http(asgi_server, client) as http:
        http.get(_stream_url(answer))
        answer.refresh_from_db()
        first = (answer.content, answer.total_ms)
        with http.stream("GET", _stream_url(answer)) as response:
            events = _events(response)
    assert [name for name, _ in events] == ["done"]
    answer.refresh_from_db()
    assert (answer.content, answer.total_ms) == first


def test_it_two_connections_at_once_generate_the_answer_once(
    client, course, learner, served_tutor, asgi_server, settings
):
    # The claim runs while the provider is asked: the connection that loses it drops its stream.
    settings.SANDBOX_STREAM_DELAY_SECONDS = 0.02
    answer = _ask(client, course, learner)
    with _http(asgi_server, client) as http, ThreadPoolExecutor(2) as pool:

        def read() -> list[tuple[str, dict]]:
            with http.stream("GET", _stream_url(answer)) as response:
                return _events(response)

        both = list(pool.map(lambda _: read(), range(2)))
    names = sorted(([name for name, _ in events] for events in both), key=len)
    assert names[0] == ["done"]  # the loser shows what there is
    assert names[1][0] == "delta" and names[1][-1] == "done"
    answer.refresh_from_db()
    assert answer.status == "complete"
    written = next(events for events in both if len(events) > 1)
    assert answer.content == "".join(data["text"] for name, data in written if name == "delta")


def test_it_keeps_a_failed_answer_with_a_clear_message(client, course, learner, served_tutor, asgi_server):
    served_tutor.provider.extra_headers = {"X-Sandbox-Fault": "500"}
    served_tutor.provider.save()
    answer = _ask(client, course, learner)
    with _http(asgi_server, client) as http, http.stream("GET", _stream_url(answer)) as response:
        events = _events(response)
    answer.refresh_from_db()
    assert answer.status == "failed"
    assert "error at its provider" in answer.error
    assert "error at its provider" in events[-1][1]["html"]
    assert "Try again" in events[-1][1]["html"]


def test_it_keeps_the_partial_answer_when_the_learner_leaves(
    client, course, learner, served_tutor, asgi_server, settings
):
    settings.SANDBOX_STREAM_DELAY_SECONDS = 0.1  # slow enough to leave in the middle
    answer = _ask(client, course, learner)
    with _http(asgi_server, client) as http, http.stream("GET", _stream_url(answer)) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                break  # the first delta arrived: close the connection, like pressing Stop
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        answer.refresh_from_db()
        if answer.status != "streaming":
            break
        time.sleep(0.05)
    assert answer.status == "stopped"
    assert answer.content  # what was written is kept
    assert Dialog.objects.get().messages.count() == 2


def test_it_404s_the_stream_of_someone_elses_answer(client, course, learner, curator, served_tutor, asgi_server):
    answer = _ask(client, course, learner)
    client.force_login(curator)
    with _http(asgi_server, client) as http:
        assert http.get(_stream_url(answer)).status_code == 404
    answer.refresh_from_db()
    assert answer.status == "pending"


def test_it_without_the_asks_ticket_it_reads_the_answer_from_the_database(
    client, course, learner, served_tutor, asgi_server
):
    # The ask leaves a ticket for the stream (dialogs.tickets); a stream opened without one —
    # another process, an expired ticket — reads the database and answers the same.
    from django.core.cache import caches

    cache = caches["tickets"]
    answer = _ask(client, course, learner)
    assert cache.get(f"gradcap:stream-ticket:{answer.pk}") is not None
    cache.clear()
    with _http(asgi_server, client) as http, http.stream("GET", _stream_url(answer)) as response:
        events = _events(response)
    assert [name for name, _ in events][-1] == "done"
    answer.refresh_from_db()
    assert answer.status == "complete"
    assert answer.content == "".join(data["text"] for name, data in events if name == "delta")


def test_it_the_ticket_is_dropped_once_the_answer_is_written(client, course, learner, served_tutor, asgi_server):
    from django.core.cache import caches

    cache = caches["tickets"]
    answer = _ask(client, course, learner)
    with _http(asgi_server, client) as http:
        http.get(_stream_url(answer))
    assert cache.get(f"gradcap:stream-ticket:{answer.pk}") is None


def test_it_the_asks_own_session_streams_from_its_ticket_without_reading_the_session_or_the_user(
    client, course, learner, served_tutor, asgi_server
):
    from django.db import connections
    from django.db.backends.signals import connection_created

    statements: list[str] = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    def watch(sender, connection, **kwargs):
        connection.execute_wrappers.append(record)

    answer = _ask(client, course, learner)
    connection_created.connect(watch)
    try:
        for connection in connections.all():  # the server's threads open theirs as the stream runs
            connection.close()
        with _http(asgi_server, client) as http, http.stream("GET", _stream_url(answer)) as response:
            events = _events(response)
    finally:
        connection_created.disconnect(watch)
    assert [name for name, _ in events][-1] == "done"
    assert statements, "the stream's claim and record ran no query on a watched connection"
    assert not [sql for sql in statements if "django_session" in sql or "accounts_user" in sql]


def test_it_another_session_of_the_same_learner_streams_from_the_database(
    client, course, learner, served_tutor, asgi_server
):
    # The ticket is the asking session's: the learner's second browser reads and checks it all.
    from django.test import Client

    answer = _ask(client, course, learner)
    other = Client()
    other.force_login(learner)
    with _http(asgi_server, other) as http, http.stream("GET", _stream_url(answer)) as response:
        events = _events(response)
    assert [name for name, _ in events][-1] == "done"
    answer.refresh_from_db()
    assert answer.status == "complete"


def test_it_a_stream_without_a_session_cookie_is_a_404_even_with_a_ticket(
    client, course, learner, served_tutor, asgi_server
):
    answer = _ask(client, course, learner)
    with httpx2.Client(base_url=asgi_server.url, timeout=10) as http:
        assert http.get(_stream_url(answer)).status_code == 404
    answer.refresh_from_db()
    assert answer.status == "pending"
