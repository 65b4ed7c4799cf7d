"""The merged model of a succeeded job, made on request on a training host: the base model with the
adapter folded into its weights, a plain model directory that any server (or `transformers`) loads."""

import logging
import shutil
import subprocess
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from . import files
from .models import TrainingJob
from .process import trainer_child_setup, trainer_environment

logger = logging.getLogger(__name__)


def _set(job_id: int, **fields) -> None:
    TrainingJob.objects.filter(pk=job_id).update(**fields, updated_at=timezone.now())


def job_merge(job_id: int) -> None:
    claimed = TrainingJob.objects.filter(pk=job_id, merge_status="queued").update(
        merge_status="running", updated_at=timezone.now()
    )
    if not claimed:
        return  # done, or another host is merging it
    job = TrainingJob.objects.select_related("base_model").get(pk=job_id)
    work = Path(settings.TRAINING_WORK_DIR) / f"{job.public_id}-merge"
    shutil.rmtree(work, ignore_errors=True)
    try:
        files.tree_download(job.adapter_path, work / "adapter")
        command = [
            settings.TRAINER_PYTHON, "-m", "trainer", "merge", job.base_model.source, str(work / "adapter"),
            str(work / "merged"), "--revision", job.base_model.revision,
        ]  # fmt: skip
        result = subprocess.run(  # noqa: S603 — our own trainer
            command,
            cwd=settings.BASE_DIR,
            env=trainer_environment(),
            capture_output=True,
            timeout=settings.TRAINING_TIMEOUT_SECONDS,
            preexec_fn=trainer_child_setup,
            check=False,
        )
        if result.returncode != 0:
            tail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
            _set(job_id, merge_status="failed", merge_error="\n".join(tail) or f"exit status {result.returncode}")
            return
        prefix = f"{files.job_prefix(job.public_id)}/merged"
        files.tree_upload(work / "merged", prefix)
        _set(job_id, merge_status="done", merged_path=prefix, merge_error="")
    except (OSError, subprocess.SubprocessError) as error:
        logger.exception("Merging training job %s failed", job.public_id)
        _set(job_id, merge_status="failed", merge_error=str(error))
    finally:
        shutil.rmtree(work, ignore_errors=True)
