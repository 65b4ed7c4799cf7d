import pytest

from llm.clients import async_client_for, client_for
from llm.models import Provider


@pytest.fixture
def azure(db) -> Provider:
    provider = Provider(
        name="Azure",
        kind=Provider.Kind.AZURE,
        base_url="https://school.openai.azure.com/openai/v1/",
        timeout_seconds=12,
        max_retries=4,
    )
    provider.set_api_key("azure-key-123456789")
    provider.save()
    return provider


def test_it_builds_a_client_from_the_provider(azure):
    client = client_for(azure)
    assert str(client.base_url) == "https://school.openai.azure.com/openai/v1/"
    assert client.api_key == "azure-key-123456789"
    assert client.timeout == 12
    assert client.max_retries == 4
    # Azure's v1 endpoint reads the key from its own header.
    assert client.default_headers["api-key"] == "azure-key-123456789"


def test_it_lets_the_caller_shorten_timeouts(azure):
    client = async_client_for(azure, timeout=2, max_retries=0)
    assert client.timeout == 2
    assert client.max_retries == 0


def test_it_points_the_sandbox_at_the_configured_url(db, settings):
    settings.SANDBOX_BASE_URL = "http://127.0.0.1:9999/sandbox/v1"
    sandbox = Provider.objects.create(name="Sandbox", kind=Provider.Kind.SANDBOX)
    client = client_for(sandbox)
    assert str(client.base_url) == "http://127.0.0.1:9999/sandbox/v1/"
    assert client.api_key == settings.SANDBOX_API_KEY


def test_it_sends_the_providers_extra_headers(db):
    provider = Provider.objects.create(
        name="Local",
        kind=Provider.Kind.OPENAI_COMPATIBLE,
        base_url="http://127.0.0.1:11434/v1",
        extra_headers={"X-Team": "maths"},
    )
    assert client_for(provider).default_headers["X-Team"] == "maths"
