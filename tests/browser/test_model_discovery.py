"""An admin syncs a model server's models in the Django admin and completes the one the catalog
does not know (the sandbox over HTTP, with a vLLM-style runtime adapter loaded)."""

import re

from django.conf import settings
from playwright.sync_api import expect

from llm.models import Provider, ServedModel
from sandbox.models import LoraAdapter
from tests.browser.conftest import log_in

ADAPTER = "ft:SmolLM2-135M-Instruct:self-hosted:school:0123456789ab"


def test_it_an_admin_syncs_a_servers_models_and_gives_an_unknown_one_its_context_length(
    asgi_page, asgi_server, role_groups, site_admin
):
    provider = Provider.objects.create(
        name="Our vLLM", kind=Provider.Kind.OPENAI_COMPATIBLE, base_url=f"{asgi_server.url}/sandbox/v1/"
    )
    provider.set_api_key(settings.SANDBOX_API_KEY)
    provider.save()
    LoraAdapter.objects.create(name=ADAPTER, path="/srv/adapters/school")
    page = asgi_page
    log_in(page, site_admin.email)
    page.goto("/admin/llm/provider/")
    page.get_by_role("row").filter(has_text="Our vLLM").get_by_role("checkbox").check()
    action = page.get_by_role("combobox", name=re.compile(r"^Action"))
    action.select_option(label="Sync models from the server (GET /v1/models)")
    page.get_by_role("button", name="Run").or_(page.get_by_role("button", name="Go")).first.click()
    expect(page.get_by_text("Our vLLM lists")).to_be_visible()

    page.get_by_role("link", name="Our vLLM").click()
    row = page.get_by_role("row").filter(has_text=ADAPTER)
    expect(row).to_contain_text("LoRA adapter")
    row.get_by_role("spinbutton").first.fill("8192")  # context length
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("was changed successfully")).to_be_visible()
    assert ServedModel.objects.get(name=ADAPTER).context_length == 8192
