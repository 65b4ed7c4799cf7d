"""The demo and local development: debug on, the sandbox on, a fixed secret key."""

from .base import *  # noqa: F403
from .base import env, env_bool

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env("SECRET_KEY", "dev-only-secret-key-do-not-use-in-production")
SANDBOX_ENABLED = env_bool("SANDBOX_ENABLED", True)
DEMO_SIGN_IN = env_bool("DEMO_SIGN_IN", True)  # the sign-in page lists the demo's accounts
# The demo: a sandbox fine-tuning job runs from created to succeeded in about half a minute.
SANDBOX_FINE_TUNING_SECONDS = float(env("SANDBOX_FINE_TUNING_SECONDS", "30"))
# Development derives the encryption key from SECRET_KEY when none is configured (llm/crypto.py).
