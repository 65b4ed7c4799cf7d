import pytest

from assistants.models import Assistant
from assistants.services import assistant_create
from llm.models import Provider
from tests.assistants.engine_helpers import sandbox_assistant


@pytest.fixture
def provider(db) -> Provider:
    return Provider.objects.create(name="Sandbox", kind=Provider.Kind.SANDBOX, is_default=True)


@pytest.fixture
def assistant(course, provider, curator) -> Assistant:
    return assistant_create(
        course=course,
        name="Tutor",
        provider=provider,
        model="gpt-4.1-mini-2025-04-14",
        instructions="Answer briefly.",
        user=curator,
    )


@pytest.fixture(params=Provider.WireApi.values)
def live_assistant(request, asgi_server, course, curator) -> Assistant:
    """An assistant on the sandbox over HTTP: a test that uses it runs on each wire API."""
    return sandbox_assistant(asgi_server, course, curator, request.param)


@pytest.fixture
def responses_assistant(asgi_server, course, curator) -> Assistant:
    return sandbox_assistant(asgi_server, course, curator, Provider.WireApi.RESPONSES)
