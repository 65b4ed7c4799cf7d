"""Injected faults (X-Sandbox-Fault), as the SDK sees them."""

import time
import uuid

import httpx2
import openai
import pytest

from llm.clients import client_for
from sandbox.models import FaultCounter
from tests.fixtures.sandbox import IN_PROCESS_URL, in_process_app

FAULT = "X-Sandbox-Fault"


def _series(kind: str, times: int) -> tuple[str, str]:
    key = uuid.uuid4().hex
    return f"{kind};times={times};key={key}", key


def test_it_rate_limits_with_retry_after(make_sandbox_client):
    client = make_sandbox_client(headers={FAULT: "429"}, max_retries=0)

    with pytest.raises(openai.RateLimitError) as caught:
        client.models.list()

    assert caught.value.body["code"] == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "1"


def test_it_fails_with_a_server_error(make_sandbox_client):
    client = make_sandbox_client(headers={FAULT: "500"}, max_retries=0)

    with pytest.raises(openai.InternalServerError) as caught:
        client.responses.create(model="gpt-4.1-mini", input="Hi")

    assert caught.value.body["type"] == "server_error"


@pytest.mark.parametrize("kind", ["429", "500"])
def test_it_lets_the_sdk_retry_until_the_series_is_over(make_sandbox_client, kind):
    header, key = _series(kind, times=2)
    client = make_sandbox_client(headers={FAULT: header}, max_retries=2)

    response = client.responses.create(model="gpt-4.1-mini", input="Hi")

    assert response.status == "completed"
    assert FaultCounter.objects.get(key=key).count == 3  # two failures, then the answer


def test_it_fails_when_the_series_outlasts_the_retries(make_sandbox_client):
    header, key = _series("500", times=5)
    client = make_sandbox_client(headers={FAULT: header}, max_retries=2)

    with pytest.raises(openai.InternalServerError):
        client.models.list()

    assert FaultCounter.objects.get(key=key).count == 3


def test_it_injects_faults_per_provider(sandbox_provider):
    sandbox_provider.extra_headers = {FAULT: "429"}
    sandbox_provider.max_retries = 0
    sandbox_provider.save()
    transport = httpx2.WSGITransport(app=in_process_app())
    client = client_for(
        sandbox_provider, http_client=openai.DefaultHttpx2Client(transport=transport, base_url=IN_PROCESS_URL)
    )

    with pytest.raises(openai.RateLimitError):
        client.files.list()


def test_it_injects_faults_per_request(sandbox_client):
    with pytest.raises(openai.InternalServerError):
        sandbox_client.with_options(max_retries=0).models.list(extra_headers={FAULT: "500"})

    assert sandbox_client.models.list().data  # the next request is fine


def test_it_refuses_an_unknown_fault(sandbox_client):
    with pytest.raises(openai.BadRequestError) as caught:
        sandbox_client.models.list(extra_headers={FAULT: "teapot"})

    assert caught.value.body["param"] == FAULT


def test_it_times_out_a_slow_answer(asgi_server, make_sandbox_client):
    client = make_sandbox_client(asgi_server.url, headers={FAULT: "slow;delay=1"}, timeout=0.3, max_retries=0)

    with pytest.raises(openai.APITimeoutError):
        client.responses.create(model="gpt-4.1-mini", input="Hi")


def test_it_delays_the_first_token_of_a_stream(asgi_server, make_sandbox_client):
    client = make_sandbox_client(asgi_server.url, headers={FAULT: "slow;delay=0.5"}, timeout=5)
    started = time.monotonic()
    arrivals = {}

    with client.responses.create(model="gpt-4.1-mini", input="Hi", stream=True) as stream:
        for event in stream:
            arrivals.setdefault(event.type, time.monotonic() - started)

    assert arrivals["response.created"] < 0.4
    assert arrivals["response.output_text.delta"] >= 0.5
    assert "response.completed" in arrivals


def test_it_hangs_until_the_client_times_out(asgi_server, make_sandbox_client):
    client = make_sandbox_client(asgi_server.url, headers={FAULT: "hang"}, timeout=0.5, max_retries=0)
    started = time.monotonic()

    with pytest.raises(openai.APITimeoutError):
        client.fine_tuning.jobs.list()

    assert 0.4 < time.monotonic() - started < 2.5


def test_it_fails_a_response_stream_midway(asgi_server, make_sandbox_client):
    client = make_sandbox_client(asgi_server.url, headers={FAULT: "midstream"}, timeout=5)

    with client.responses.create(model="gpt-4.1-mini", input="Hi there", stream=True) as stream:
        events = list(stream)

    types = [event.type for event in events]
    assert types.count("response.output_text.delta") == 2
    assert types[-1] == "response.failed"
    assert "response.completed" not in types
    assert events[-1].response.error.code == "server_error"
    assert client.responses.retrieve(events[-1].response.id).status == "failed"


def test_it_fails_a_chat_stream_midway(asgi_server, make_sandbox_client):
    client = make_sandbox_client(asgi_server.url, headers={FAULT: "midstream"}, timeout=5)
    stream = client.chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": "Hi"}], stream=True
    )

    with pytest.raises(openai.APIError) as caught:
        list(stream)

    assert "sandbox fault injection" in caught.value.message
