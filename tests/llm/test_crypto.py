import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test import override_settings

from llm.crypto import DecryptionError
from llm.models import Provider, mask_key

RAW_KEY = "sk-proj-very-secret-key-1234"


def _stored_column(provider: Provider) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key_encrypted, api_key_hint FROM llm_provider WHERE id = %s", [provider.pk])
        return " ".join(cursor.fetchone())


@pytest.fixture
def provider(db) -> Provider:
    provider = Provider(name="OpenAI", kind=Provider.Kind.OPENAI)
    provider.set_api_key(RAW_KEY)
    provider.save()
    return provider


def test_it_does_not_store_the_key_in_clear(provider):
    stored = _stored_column(provider)
    assert RAW_KEY not in stored
    assert "very-secret" not in stored


def test_it_reads_the_key_back(provider):
    assert Provider.objects.get(pk=provider.pk).api_key == RAW_KEY


def test_it_keeps_only_a_masked_hint(provider):
    assert provider.api_key_hint == "sk-…1234"
    assert mask_key("abc") == "…bc"
    assert mask_key("") == ""


def test_it_fails_loudly_with_a_wrong_key(provider):
    with (
        override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]),
        pytest.raises(DecryptionError, match="FIELD_ENCRYPTION_KEYS"),
    ):
        _ = Provider.objects.get(pk=provider.pk).api_key


def test_it_decrypts_after_a_key_rotation(provider, settings):
    new_key = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, *settings.FIELD_ENCRYPTION_KEYS]):
        assert Provider.objects.get(pk=provider.pk).api_key == RAW_KEY


def test_it_removes_the_key(provider):
    provider.set_api_key("")
    provider.save()
    provider.refresh_from_db()
    assert provider.api_key == ""
    assert provider.api_key_hint == ""
