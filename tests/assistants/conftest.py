import pytest

from assistants.models import Assistant
from assistants.services import assistant_create
from llm.models import Provider


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
