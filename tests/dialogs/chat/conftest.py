import pytest

from assistants.models import Assistant
from assistants.services import assistant_create
from llm.models import Provider


@pytest.fixture
def tutor(course, curator) -> Assistant:
    provider = Provider.objects.create(name="Sandbox", kind=Provider.Kind.SANDBOX)
    return assistant_create(
        course=course, name="Tutor", provider=provider, model="gpt-4.1-mini-2025-04-14", user=curator
    )


@pytest.fixture
def served_tutor(asgi_server, tutor):
    """The tutor, answered by the sandbox of a real ASGI server (uvicorn)."""
    tutor.provider.base_url = f"{asgi_server.url}/sandbox/v1/"
    tutor.provider.timeout_seconds = 5
    tutor.provider.max_retries = 0
    tutor.provider.save()
    return tutor
