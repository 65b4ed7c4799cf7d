"""Model discovery: "Sync models" in the providers' admin reads the server's GET /v1/models (the
sandbox over HTTP, with a vLLM-style runtime adapter loaded); a model the catalog does not know is
offered to assistants once an admin gives its context length."""

import pytest
from django.conf import settings
from django.urls import reverse

from assistants.forms import AssistantForm
from llm.models import Provider, ServedModel
from sandbox.models import LoraAdapter

ADAPTER = "ft:SmolLM2-135M-Instruct:self-hosted:school:0123456789ab"


@pytest.fixture
def server(asgi_server) -> Provider:
    provider = Provider.objects.create(
        name="Our vLLM", kind=Provider.Kind.OPENAI_COMPATIBLE, base_url=f"{asgi_server.url}/sandbox/v1/"
    )
    provider.set_api_key(settings.SANDBOX_API_KEY)
    provider.save()
    return provider


def _sync(client, provider):
    return client.post(
        reverse("admin:llm_provider_changelist"),
        {"action": "sync_models", "_selected_action": [provider.pk]},
        follow=True,
    ).content.decode()


def _form(course, provider, model):
    data = {"name": "Tutor", "instructions": "", "provider": provider.pk, "model": model, "temperature": "0.3"}
    return AssistantForm(data, course=course)


def test_it_sync_lists_the_servers_models_and_unknown_ones_wait_for_a_context_length(
    client, site_admin, server, course
):
    site_admin.is_superuser = True
    site_admin.save()
    client.force_login(site_admin)
    LoraAdapter.objects.create(name=ADAPTER, path="/srv/adapters/school")

    page = _sync(client, server)
    assert "Our vLLM lists" in page
    adapter = ServedModel.objects.get(provider=server, name=ADAPTER)
    assert adapter.kind == ServedModel.Kind.ADAPTER and adapter.parent == "gpt-4.1-mini-2025-04-14"
    assert adapter.context_length is None and adapter.is_listed
    base = ServedModel.objects.get(provider=server, name="gpt-4.1-mini-2025-04-14")
    assert base.kind == ServedModel.Kind.BASE and base.context_length == 1_047_576  # from the catalog

    # The catalog does not know the adapter: assistants cannot use it yet, and say why.
    form = _form(course, server, ADAPTER)
    assert not form.is_valid() and "is not in the catalog" in form.errors["model"][0]
    change = client.get(reverse("admin:llm_provider_change", args=[server.pk])).content.decode()
    assert ADAPTER in change  # beside the provider's settings, for the admin to complete

    adapter.context_length = 8192  # what the admin enters
    adapter.save()
    assert _form(course, server, ADAPTER).is_valid()

    # Unloaded from the server: kept, marked as no longer listed, with what the admin entered.
    LoraAdapter.objects.all().delete()
    _sync(client, server)
    adapter.refresh_from_db()
    assert not adapter.is_listed and adapter.context_length == 8192
    assert not _form(course, server, ADAPTER).is_valid()


def test_it_a_server_that_is_down_is_said_so(client, site_admin, db):
    site_admin.is_superuser = True
    site_admin.save()
    client.force_login(site_admin)
    down = Provider.objects.create(
        name="Gone", kind=Provider.Kind.OPENAI_COMPATIBLE, base_url="http://127.0.0.1:9/v1/", timeout_seconds=2
    )
    page = _sync(client, down)
    assert "Gone did not list its models: Connection error." in page
    assert not ServedModel.objects.exists()
