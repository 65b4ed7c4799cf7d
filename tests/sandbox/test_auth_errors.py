"""The key check and OpenAI's error bodies."""

import openai
import pytest


def test_it_answers_401_to_a_wrong_key(make_sandbox_client):
    client = make_sandbox_client(api_key="sk-wrong-key-1234")

    with pytest.raises(openai.AuthenticationError) as caught:
        client.models.list()

    assert caught.value.status_code == 401
    assert caught.value.body["code"] == "invalid_api_key"
    assert "sk-wrong-key-1234" not in caught.value.body["message"]  # never echo a key whole


def test_it_answers_401_without_a_key(sandbox_client):
    with pytest.raises(openai.AuthenticationError) as caught:
        sandbox_client.models.list(extra_headers={"Authorization": openai.omit})

    assert "didn't provide an API key" in caught.value.body["message"]


def test_it_accepts_the_key_in_azure_s_header(make_sandbox_client, settings):
    client = make_sandbox_client(api_key="sk-not-this-one", headers={"api-key": settings.SANDBOX_API_KEY})

    assert client.models.list(extra_headers={"Authorization": openai.omit}).data


def test_it_accepts_the_configured_key(make_sandbox_client, settings):
    settings.SANDBOX_API_KEY = "sk-configured-elsewhere"

    assert make_sandbox_client(api_key="sk-configured-elsewhere").models.list().data


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.files.retrieve("file-nope"),
        lambda c: c.files.content("file-nope"),
        lambda c: c.fine_tuning.jobs.list_events("ftjob-nope"),
        lambda c: c.fine_tuning.jobs.checkpoints.list("ftjob-nope"),
        lambda c: c.fine_tuning.jobs.cancel("ftjob-nope"),
        lambda c: c.responses.retrieve("resp_nope"),
        lambda c: c.conversations.retrieve("conv_nope"),
        lambda c: c.conversations.items.list("conv_nope"),
        lambda c: c.vector_stores.retrieve("vs_nope"),
        lambda c: c.vector_stores.search("vs_nope", query="x"),
        lambda c: c.vector_stores.files.list(vector_store_id="vs_nope"),
    ],
)
def test_it_answers_404_with_openai_s_error_body(sandbox_client, call):
    with pytest.raises(openai.NotFoundError) as caught:
        call(sandbox_client)

    body = caught.value.body
    assert set(body) == {"message", "type", "param", "code"}
    assert body["type"] == "invalid_request_error"
    assert "nope" in body["message"]


def test_it_answers_404_for_an_unknown_path(sandbox_client):
    with pytest.raises(openai.NotFoundError) as caught:
        sandbox_client.get("/assistants", cast_to=object)

    assert caught.value.body["code"] == "unknown_url"


def test_it_answers_400_for_a_missing_parameter(sandbox_client):
    with pytest.raises(openai.BadRequestError) as caught:
        sandbox_client.post("/responses", body={"input": "Hi"}, cast_to=object)

    assert (caught.value.body["param"], caught.value.body["code"]) == ("model", "missing_required_parameter")


def test_it_answers_405_for_a_wrong_method(sandbox_client):
    with pytest.raises(openai.APIStatusError) as caught:
        sandbox_client.delete("/models", cast_to=object)

    assert caught.value.status_code == 405
