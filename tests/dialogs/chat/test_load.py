"""The chat under load: no database connection is held while a model thinks, overload answers
"busy, try again" and an answer that was streamed is recorded whole."""

import threading
import time

import pytest
from django.db import OperationalError, connection
from psycopg_pool import PoolTimeout

from dialogs.chat import services as chat
from dialogs.models import Dialog, Message

from .test_stream import JSON, _ask, _events, _http, _stream_url

MODEL_THINKS_SECONDS = 2


@pytest.fixture
def slow_tutor(served_tutor):
    served_tutor.provider.extra_headers = {"X-Sandbox-Fault": f"slow;delay={MODEL_THINKS_SECONDS}"}
    served_tutor.provider.save()
    return served_tutor


def _checked_out() -> int:
    stats = connection.pool.get_stats()
    return stats["pool_size"] - stats["pool_available"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="counts PostgreSQL's pooled connections (CI's database)")
def test_it_holds_no_pooled_connection_while_the_model_thinks(client, course, learner, slow_tutor, asgi_server):
    answer = _ask(client, course, learner)
    url = _stream_url(answer)  # (here: reading it in the reader's thread would open a connection there)
    before = _checked_out()  # this test's own connection
    events: list = []
    started = time.monotonic()

    def read_stream():
        with _http(asgi_server, client) as http, http.stream("GET", url) as response:
            events.extend(_events(response))

    reader = threading.Thread(target=read_stream)
    reader.start()
    time.sleep(MODEL_THINKS_SECONDS / 2)  # the stream is open, the model has not written a word
    while_waiting = _checked_out()
    waited = time.monotonic() - started
    reader.join(timeout=20)

    assert waited < MODEL_THINKS_SECONDS  # measured inside the wait
    assert while_waiting == before
    assert [name for name, _ in events][-1] == "done"
    answer.refresh_from_db()
    assert answer.status == "complete"


def test_it_a_streamed_answer_is_recorded_through_a_moment_of_overload(
    client, course, learner, served_tutor, asgi_server, monkeypatch
):
    record = chat.answer_record
    failures = []

    def locked_once(**kwargs):
        if not failures:
            failures.append(1)
            raise OperationalError("database is locked")
        return record(**kwargs)

    monkeypatch.setattr(chat, "answer_record", locked_once)
    monkeypatch.setattr("dialogs.chat.views.RECORD_RETRY_PAUSES", (0.05,))
    answer = _ask(client, course, learner)
    with _http(asgi_server, client) as http, http.stream("GET", _stream_url(answer)) as response:
        events = _events(response)

    assert failures == [1]
    assert [name for name, _ in events][-1] == "done"
    answer.refresh_from_db()
    assert answer.status == "complete"
    assert answer.content == "".join(data["text"] for name, data in events if name == "delta")


def _pool_timeout():
    try:
        raise PoolTimeout("couldn't get a connection after 30.00 sec")
    except PoolTimeout as exc:
        raise OperationalError(str(exc)) from exc


def _locked():
    raise OperationalError("database is locked")


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
@pytest.mark.parametrize("overload", [_pool_timeout, _locked], ids=["pool timeout", "locked SQLite"])
def test_it_past_capacity_the_learner_is_told_to_try_again_and_nothing_is_written(
    client, course, learner, tutor, monkeypatch, accept, overload
):
    def overloaded(**kwargs):
        overload()

    monkeypatch.setattr(chat, "dialog_ask", overloaded)
    client.force_login(learner)
    response = client.post(f"/c/{course.slug}/chat/ask/", {"content": "Hello"}, HTTP_ACCEPT=accept)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    message = "Too many people are asking at once. Please try again in a few seconds."
    body = response.json()["errors"] if accept == "application/json" else [response.content.decode()]
    assert body == [message]
    assert not Dialog.objects.exists()
    assert not Message.objects.exists()


def test_it_a_database_error_that_is_not_overload_stays_a_server_error(client, course, learner, tutor, monkeypatch):
    def broken(**kwargs):
        raise OperationalError("no such column: dialogs_dialog.title")

    monkeypatch.setattr(chat, "dialog_ask", broken)
    client.raise_request_exception = False
    client.force_login(learner)
    response = client.post(f"/c/{course.slug}/chat/ask/", {"content": "Hello"}, **JSON)
    assert response.status_code == 500
