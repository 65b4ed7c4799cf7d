"""Every model registered in the admin opens: its list, search and (where allowed) add page."""

import re

import pytest
from django.contrib import admin
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model", sorted(admin.site._registry, key=lambda m: m._meta.label), ids=lambda m: m._meta.label
)
def test_it_admin_pages_open(admin_client, admin_user, model):
    client = admin_client
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    assert client.get(changelist).status_code == 200
    assert client.get(changelist, {"q": "<b>x</b>"}).status_code == 200
    if admin.site._registry[model].has_add_permission(type("R", (), {"user": admin_user})()):
        assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 200


def test_it_the_admin_has_one_accounts_section_and_an_icon(admin_client):
    client = admin_client
    page = client.get("/admin/").content.decode()
    sections = re.findall(r'class="section">([^<]+)</a>', page)
    assert len(sections) == len(set(sections)), sections  # allauth's "Accounts" (e-mail addresses) once
    assert "People and roles" in sections  # gradcap's users
    icon = client.get("/favicon.ico")
    assert icon.status_code == 301 and icon["Location"].endswith("favicon.svg")
