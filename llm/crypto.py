"""Encryption at rest for provider API keys (Fernet: AES-128-CBC + HMAC-SHA256).

FIELD_ENCRYPTION_KEYS lists Fernet keys: the first encrypts, all decrypt, so a key can be rotated
by putting a new one first. Development without keys derives one from SECRET_KEY; production
settings refuse to start without FIELD_ENCRYPTION_KEYS.

Generate a key: python -m llm.crypto
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class DecryptionError(Exception):
    """A stored secret cannot be decrypted with the configured keys."""


def _fernet() -> MultiFernet:
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        digest = hashlib.sha256(b"gradcap field encryption:" + settings.SECRET_KEY.encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "A stored API key cannot be decrypted with FIELD_ENCRYPTION_KEYS. Was the key changed "
            "or removed? Put the old key back (after the new one) or enter the API key again."
        ) from exc


if __name__ == "__main__":
    print(Fernet.generate_key().decode())
