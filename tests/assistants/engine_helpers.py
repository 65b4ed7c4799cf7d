"""Assistants on a sandbox served over real HTTP, for the engine's tests on both wire APIs."""

from assistants.models import Assistant
from assistants.services import assistant_create
from tests.fixtures.sandbox import sandbox_provider_for


def sandbox_assistant(asgi_server, course, curator, wire_api: str) -> Assistant:
    """An assistant on a sandbox provider at `asgi_server` that speaks `wire_api`."""
    provider = sandbox_provider_for(
        f"{asgi_server.url}/sandbox/v1/", name=f"Sandbox ({wire_api})", wire_api=wire_api, timeout_seconds=10
    )
    provider.save()
    assistant = assistant_create(
        course=course,
        name=f"Tutor ({wire_api})",
        provider=provider,
        model="gpt-4.1-mini-2025-04-14",
        instructions="You help with the Python course.",
        function_tools=["current_datetime"],
        user=curator,
    )
    return Assistant.objects.select_related("provider", "course").get(pk=assistant.pk)
