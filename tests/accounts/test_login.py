import pytest
from django.core import mail

from accounts.models import User
from tests.conftest import PASSWORD


@pytest.mark.smoke
def test_it_logs_in_with_email_and_password(client, learner):
    response = client.post("/accounts/login/", {"login": learner.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_it_refuses_a_wrong_password(client, learner):
    response = client.post("/accounts/login/", {"login": learner.email, "password": "nope"})
    assert response.status_code == 200
    assert "not correct" in response.text


def test_it_signs_up_with_an_email_address(client, db):
    response = client.post(
        "/accounts/signup/", {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    assert User.objects.filter(email="new@example.com").exists()
    assert "not a member of any course yet" in client.get("/").text


def test_it_closes_sign_up_when_configured(client, db, settings):
    settings.ACCOUNT_ALLOW_REGISTRATION = False
    response = client.get("/accounts/signup/")
    assert "Sign Up Closed" in response.text


def test_it_emails_a_password_reset_link(client, learner):
    response = client.post("/accounts/password/reset/", {"email": learner.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


def test_it_logs_out(client, learner):
    client.force_login(learner)
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_it_the_admin_signs_in_where_failed_attempts_are_throttled(client, site_admin):
    """Django's admin login form has no limit: /admin/login/ leads to the throttled sign-in page
    (allauth: 5 failed attempts per account in 5 minutes), and back to the admin page asked for."""
    response = client.get("/admin/llm/provider/")
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Fllm%2Fprovider%2F"
    # Its own form takes no password at all now.
    response = client.post("/admin/login/", {"username": site_admin.email, "password": PASSWORD})
    assert response.status_code == 302 and "_auth_user_id" not in client.session
    # Another site's address is not followed.
    assert client.get("/admin/login/?next=https://evil.example/")["Location"] == "/accounts/login/?next=%2Fadmin%2F"

    # Through the sign-in page, the right password opens the admin page asked for.
    response = client.post(
        "/accounts/login/?next=/admin/llm/provider/", {"login": site_admin.email, "password": PASSWORD}
    )
    assert response["Location"] == "/admin/llm/provider/"
    client.logout()

    for _ in range(5):
        wrong = client.post("/accounts/login/", {"login": site_admin.email, "password": "guess"})
        assert "_auth_user_id" not in client.session
    right = client.post("/accounts/login/?next=/admin/", {"login": site_admin.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session  # locked out, the right password included
    assert "Too many failed login attempts" in right.text, wrong.text
