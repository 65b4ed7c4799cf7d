"""The test suite: DATABASE_URL decides the database (SQLite by default, PostgreSQL in CI)."""

import os
from pathlib import Path

from .base import *  # noqa: F403
from .base import DATABASES, Q_CLUSTER, VAR_DIR

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not SQLite's in-memory database, so that servers that tests start in other
    # threads (uvicorn for streaming, the live server) see the same data.
    # One file per test run, so two runs at once (two developers' terminals) do not collide.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
    # A -wal file an earlier run of the same process id left would be replayed into the new database.
    for leftover in ("-wal", "-shm"):
        Path(DATABASES["default"]["TEST"]["NAME"] + leftover).unlink(missing_ok=True)

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production"
SANDBOX_ENABLED = True
# The sandbox answers at once; fault delays are short so reliability tests stay fast.
SANDBOX_FINE_TUNING_SECONDS = 0
SANDBOX_STREAM_DELAY_SECONDS = 0
SANDBOX_FAULT_SLOW_SECONDS = 0.5
SANDBOX_FAULT_HANG_SECONDS = 3
SANDBOX_FAULT_RETRY_AFTER_SECONDS = 0.01
FIELD_ENCRYPTION_KEYS = ["mBR0NflWmYfCdXAnsVjAMC2Yz501Gu8c7gzY2RX_fRs="]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed
# Training artefacts live on disk: a training worker that a test starts in a process of its own
# must see them (GRADCAP_TEST_TRAINING_STORAGE hands it the test run's folder).
TRAINING_TEST_STORAGE = os.environ.get("GRADCAP_TEST_TRAINING_STORAGE") or str(VAR_DIR / f"test-training-{os.getpid()}")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "training": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": TRAINING_TEST_STORAGE},
    },
    "chat_images": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True  # static files straight from the apps, no collectstatic
# Tasks run inline, except in a real worker that a test starts: with GRADCAP_TEST_WORKER_REDIS,
# one that takes its tasks from that Redis server, as production does (Q_CLUSTER is read at import
# time); with GRADCAP_TEST_TRAINING_WORKER, a training host on the ORM broker. A cluster in sync
# mode keeps the database connection it forked with, which PostgreSQL's protocol does not survive.
TRAINING_TASKS_INLINE = not os.environ.get("GRADCAP_TEST_TRAINING_WORKER")
TRAINING_WORK_DIR = Path(os.environ.get("GRADCAP_TEST_TRAINING_WORK") or VAR_DIR / f"test-training-work-{os.getpid()}")
if worker_redis := os.environ.get("GRADCAP_TEST_WORKER_REDIS"):
    Q_CLUSTER = {**{k: v for k, v in Q_CLUSTER.items() if k != "orm"}, "redis": worker_redis, "workers": 1}
elif TRAINING_TASKS_INLINE:  # (a training worker keeps production's cluster)
    Q_CLUSTER = {**Q_CLUSTER, "sync": True}
