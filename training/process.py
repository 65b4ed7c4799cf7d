"""How training hosts start the trainer: its environment and what it inherits (nothing secret)."""

import contextlib
import ctypes
import os
import resource
import signal

from django.conf import settings

# What the trainer inherits: never the database, keys or secrets of the web application.
ENVIRONMENT_PREFIXES = ("HF_", "TRANSFORMERS_", "CUDA_", "NVIDIA_", "NCCL_", "TORCH", "PYTORCH_", "ACCELERATE_")
ENVIRONMENT_NAMES = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "XDG_CACHE_HOME", "OMP_NUM_THREADS", "MKL_NUM_THREADS"}
ENVIRONMENT_NAMES |= {"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "TRAINER_FAULT"}


def trainer_environment() -> dict[str, str]:
    keep = {
        name: value
        for name, value in os.environ.items()
        if name in ENVIRONMENT_NAMES or name.startswith(ENVIRONMENT_PREFIXES)
    }
    return {**keep, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(settings.BASE_DIR)}


def trainer_child_setup() -> None:
    """In the trainer's process, before it starts: die with its runner (a killed worker leaves no
    orphan trainer writing checkpoints), and keep to the host's memory limit where one is set."""
    # Not on Linux: the trainer notices its closed stdout instead.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if settings.TRAINING_MEMORY_LIMIT_MB:
        limit = settings.TRAINING_MEMORY_LIMIT_MB * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
