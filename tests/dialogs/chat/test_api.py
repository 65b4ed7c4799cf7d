"""The integration API over a real ASGI server, as a bot builder calls it."""

import httpx2
import pytest

from assistants.services import api_key_create, api_key_revoke, assistant_create
from dialogs.models import Dialog


@pytest.fixture
def served_tutor(asgi_server, tutor):
    tutor.provider.base_url = f"{asgi_server.url}/sandbox/v1/"
    tutor.provider.max_retries = 0
    tutor.provider.save()
    return tutor


@pytest.fixture
def key(served_tutor, curator) -> str:
    return api_key_create(assistant=served_tutor, name="bot", user=curator)[1]


@pytest.fixture
def http(asgi_server):
    with httpx2.Client(base_url=asgi_server.url, timeout=10) as client:
        yield client


def _post(http, assistant, key, body=None, *, content=None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    url = f"/api/v1/assistants/{assistant.pk}/messages"
    if content is not None:
        return http.post(url, content=content, headers={**headers, "Content-Type": "application/json"})
    return http.post(url, json=body, headers=headers)


@pytest.mark.smoke
def test_it_answers_and_records_an_api_dialog(http, served_tutor, key):
    response = _post(http, served_tutor, key, {"message": "Hello", "user_id": "telegram:42"})
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "complete" and "sandbox" in data["reply"]
    dialog = Dialog.objects.get(pk=data["conversation_id"])
    assert (dialog.source, dialog.external_user_id, dialog.user) == ("api", "telegram:42", None)
    assert [m.role for m in dialog.messages.all()] == ["user", "assistant"]

    again = _post(http, served_tutor, key, {"message": "And more?", "conversation_id": dialog.pk}).json()
    assert again["conversation_id"] == dialog.pk
    assert dialog.messages.count() == 4


def test_it_returns_citations(http, served_tutor, key, make_sandbox_client, asgi_server):
    client = make_sandbox_client(asgi_server.url)
    uploaded = client.files.create(
        file=("loops.md", b"A while loop repeats while its condition holds."), purpose="assistants"
    )
    served_tutor.vector_store_id = client.vector_stores.create(name="c", file_ids=[uploaded.id]).id
    served_tutor.save()
    data = _post(http, served_tutor, key, {"message": "How does a while loop work?"}).json()
    assert data["citations"][0]["filename"] == "loops.md"


@pytest.mark.parametrize(
    ("auth", "status"),
    [(None, 401), ("gck_000000000000_nope", 401), ("sk-openai-style", 401)],
)
def test_it_refuses_missing_and_wrong_keys(http, served_tutor, auth, status):
    response = _post(http, served_tutor, auth, {"message": "Hello"})
    assert response.status_code == status
    assert response.json()["error"]["type"] == "invalid_api_key"
    assert not Dialog.objects.exists()


def test_it_refuses_a_revoked_key(http, served_tutor, curator):
    api_key, raw = api_key_create(assistant=served_tutor, name="old", user=curator)
    api_key_revoke(api_key=api_key)
    assert _post(http, served_tutor, raw, {"message": "Hello"}).status_code == 401


def test_it_refuses_a_key_of_another_assistant(http, served_tutor, key, course, curator):
    other = assistant_create(
        course=course, name="Other", provider=served_tutor.provider, model="gpt-4.1-mini-2025-04-14", user=curator
    )
    response = _post(http, other, key, {"message": "Hello"})
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "wrong_assistant"


def test_it_refuses_a_conversation_of_another_assistant(http, served_tutor, key, course, curator):
    other = assistant_create(
        course=course, name="Other", provider=served_tutor.provider, model="gpt-4.1-mini-2025-04-14", user=curator
    )
    other_key = api_key_create(assistant=other, name="b", user=curator)[1]
    conversation = _post(http, other, other_key, {"message": "Hi"}).json()["conversation_id"]
    response = _post(http, served_tutor, key, {"message": "Hi", "conversation_id": conversation})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"message": ""}', "non-empty string"),
        (b'{"message": "hi", "conversation_id": "12"}', "integer"),
        # PostgreSQL stores neither; a database error must not be what the client sees.
        (b'{"message": "hi\\u0000"}', "NUL character"),
        (b'{"message": "hi \\ud800"}', "surrogate pair"),
    ],
)
def test_it_explains_bad_requests(http, served_tutor, key, content, fragment):
    response = _post(http, served_tutor, key, content=content)
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]
    assert not Dialog.objects.exists()


def test_it_refuses_an_overlong_message(http, served_tutor, key, settings):
    settings.CHAT_MESSAGE_MAX_CHARS = 10
    response = _post(http, served_tutor, key, {"message": "x" * 11})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "message_too_long"


def test_it_rate_limits_each_key(http, served_tutor, key, curator, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 2
    assert _post(http, served_tutor, key, {"message": "1"}).status_code == 200
    assert _post(http, served_tutor, key, {"message": "2"}).status_code == 200
    limited = _post(http, served_tutor, key, {"message": "3"})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    # Another key has its own budget.
    other = api_key_create(assistant=served_tutor, name="second", user=curator)[1]
    assert _post(http, served_tutor, other, {"message": "4"}).status_code == 200


def test_it_reports_a_provider_failure_and_records_it(http, served_tutor, key):
    served_tutor.provider.extra_headers = {"X-Sandbox-Fault": "500"}
    served_tutor.provider.save()
    response = _post(http, served_tutor, key, {"message": "Hello"})
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "provider_error"
    answer = Dialog.objects.get().messages.get(role="assistant")
    assert answer.status == "failed"


def test_it_describes_itself_with_openapi(http):
    spec = http.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/assistants/{assistant_id}/messages" in spec["paths"]


def test_it_returns_gradcaps_citations_with_their_quotes(http, served_tutor, key, curator):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from assistants import knowledge
    from assistants.services import assistant_update

    knowledge.knowledge_file_add(
        assistant=served_tutor,
        upload=SimpleUploadedFile("loops.md", b"# While loops\n\nA while loop repeats while its condition holds."),
        user=curator,
    )
    served_tutor.refresh_from_db()
    assistant_update(assistant=served_tutor, user=curator, knowledge_search="tool")
    data = _post(http, served_tutor, key, {"message": "How does a while loop work?"}).json()
    assert [(c["filename"], c["number"]) for c in data["citations"]] == [("loops.md", 1)]
    assert "repeats while its condition holds" in data["citations"][0]["quote"]
    assert "[1]" in data["reply"]
