"""django-q2 tasks of self-hosted training: thin, take ids, may run more than once.

`job_run` and `job_merge` go to the training queue (settings.TRAINING_QUEUE), which only training
hosts consume; `jobs_recover` is the ordinary cluster's schedule (migration 0002)."""

from . import merge, runner, services


def job_run(job_id: int) -> None:
    runner.job_run(job_id)


def job_merge(job_id: int) -> None:
    merge.job_merge(job_id)


def jobs_recover() -> int:
    """Every minute: jobs whose runner or task was lost are queued again."""
    return services.jobs_recover()
