"""The demo's sign-in page: its accounts by role with a one-click sign-in, in development only."""

import io

import pytest
from django.core.checks import run_checks

from accounts import demo
from accounts.models import User


@pytest.fixture
def demo_people(db):
    demo.load(stdout=io.StringIO())


def test_it_the_demo_lists_its_accounts_and_signs_in_with_one_click(client, settings, demo_people):
    settings.DEMO_SIGN_IN = True
    page = client.get("/accounts/login/").content.decode()
    assert "gradcap trains a course's assistant on its own conversations" in page
    for label in (
        "Sign in as Ada Admin (admin)",
        "Sign in as Katya Curator (curator)",
        "Sign in as Lev Learner (learner)",
    ):
        assert label in page
    response = client.post("/accounts/login/", {"login": demo.CURATOR_EMAIL, "password": demo.DEMO_PASSWORD})
    assert response.status_code == 302
    assert client.get("/").context["user"].email == demo.CURATOR_EMAIL


def test_it_an_account_whose_password_changed_is_not_offered(client, settings, demo_people):
    settings.DEMO_SIGN_IN = True
    learner = User.objects.get(email=demo.LEARNER_EMAIL)
    learner.set_password("the learner's own")
    learner.save()
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in as Katya Curator (curator)" in page
    assert demo.LEARNER_EMAIL not in page


def test_it_outside_the_demo_the_sign_in_page_lists_nobody(client, demo_people):
    page = client.get("/accounts/login/").content.decode()  # the test settings, as production: off
    assert "Sign in as" not in page and demo.DEMO_PASSWORD not in page


def test_it_the_deployment_check_refuses_it(db, settings):
    settings.DEMO_SIGN_IN = True
    assert "gradcap.E001" in [message.id for message in run_checks(include_deployment_checks=True)]
    settings.DEMO_SIGN_IN = False
    assert "gradcap.E001" not in [message.id for message in run_checks(include_deployment_checks=True)]
