import pytest

from llm.models import Provider

RAW_KEY = "sk-admin-entered-secret-9876"
INLINE = {"served_models-TOTAL_FORMS": "0", "served_models-INITIAL_FORMS": "0"}  # no served models yet


@pytest.fixture
def admin_client_logged_in(client, site_admin):
    site_admin.is_superuser = True
    site_admin.save()
    client.force_login(site_admin)
    return client


def _add(client, **fields) -> object:
    data = {
        "name": "OpenAI",
        "kind": "openai",
        "base_url": "",
        "api_key": "",
        "organization": "",
        "project": "",
        "extra_headers": "{}",
        "timeout_seconds": "60",
        "max_retries": "2",
        **INLINE,
        **fields,
    }
    return client.post("/admin/llm/provider/add/", data)


def test_it_stores_an_entered_key_encrypted_and_never_shows_it(admin_client_logged_in):
    response = _add(admin_client_logged_in, api_key=RAW_KEY)
    assert response.status_code == 302
    provider = Provider.objects.get()
    assert provider.api_key == RAW_KEY
    page = admin_client_logged_in.get(f"/admin/llm/provider/{provider.pk}/change/").text
    assert RAW_KEY not in page
    assert provider.api_key_encrypted not in page
    assert "sk-…9876" in page


def test_it_keeps_the_key_when_the_field_is_left_empty(admin_client_logged_in):
    _add(admin_client_logged_in, api_key=RAW_KEY)
    provider = Provider.objects.get()
    data = {
        "name": "OpenAI (renamed)",
        "kind": "openai",
        "base_url": "",
        "api_key": "",
        "organization": "org-1",
        "project": "",
        "extra_headers": "{}",
        "timeout_seconds": "30",
        "max_retries": "2",
        **INLINE,
    }
    response = admin_client_logged_in.post(f"/admin/llm/provider/{provider.pk}/change/", data)
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.name == "OpenAI (renamed)"
    assert provider.api_key == RAW_KEY


def test_it_requires_a_base_url_for_azure(admin_client_logged_in):
    response = _add(admin_client_logged_in, kind="azure", api_key=RAW_KEY)
    assert response.status_code == 200
    assert "needs a base URL" in response.text
    assert not Provider.objects.exists()


def test_it_is_out_of_reach_for_curators(client, curator):
    client.force_login(curator)
    response = client.get("/admin/llm/provider/")
    assert response.status_code == 302  # to the admin login: curators are not staff
