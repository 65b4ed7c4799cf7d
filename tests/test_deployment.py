"""Production settings: strict, and `check --deploy` has nothing to say."""

import os
import secrets
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    skip = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL"}
    environment = {k: v for k, v in os.environ.items() if k not in skip}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args, "--settings=config.settings.prod"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION_ENV = {
    "SECRET_KEY": secrets.token_urlsafe(60),
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "gradcap.example.com",
    "EMAIL_HOST": "smtp.example.com",
}


@pytest.mark.smoke
def test_it_passes_the_deployment_check():
    result = _manage("check", "--deploy", "--fail-level=WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_to_start_without_a_real_secret_key():
    result = _manage("check", **{**PRODUCTION_ENV, "SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_it_refuses_to_start_without_encryption_keys():
    result = _manage("check", **{**PRODUCTION_ENV, "FIELD_ENCRYPTION_KEYS": ""})
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr


def test_it_does_not_mount_the_sandbox_unless_enabled():
    code = "from config.urls import urlpatterns; print(any('sandbox' in str(p.pattern) for p in urlpatterns))"
    assert _manage("shell", "-c", code, **PRODUCTION_ENV).stdout.strip().endswith("False")
    assert _manage("shell", "-c", code, **PRODUCTION_ENV, SANDBOX_ENABLED="true").stdout.strip().endswith("True")


def test_it_still_warns_when_the_security_middleware_is_missing(settings):
    # Django's own check is silenced for our subclass; ours must still catch a missing one.
    from config.checks import check_security_middleware

    assert check_security_middleware() == []
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if not m.endswith((".SecurityMiddleware", ".CsrfViewMiddleware"))
    ]
    assert [warning.id for warning in check_security_middleware()] == ["gradcap.W001", "gradcap.W003"]
