import re

import pytest

pytestmark = pytest.mark.smoke


def test_it_sends_a_content_security_policy_with_a_nonce(client, learner):
    client.force_login(learner)
    response = client.get("/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    # Every script tag on the page carries the nonce.
    scripts = re.findall(r"<script[^>]*>", response.text)
    assert scripts
    assert all(f'nonce="{nonce}"' in tag for tag in scripts)


def test_it_forbids_framing(client, db):
    response = client.get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
