"""django-q2 tasks: thin, take ids, call services. Each may run more than once."""

from . import evaluation, services, tracking
from .models import Run


def run_submit(run_id: int) -> None:
    services.run_submit(run_id=run_id)


def run_sync(run_id: int) -> None:
    run = Run.objects.select_related("provider", "course").filter(pk=run_id).first()
    if run is not None:
        tracking.run_sync(run=run)


def runs_sync_active() -> int:
    """Scheduled every minute (migration 0002): active runs move on even when nobody watches."""
    return tracking.runs_sync_active()


def evaluation_answer(evaluation_id: int) -> None:
    evaluation.evaluation_answer(evaluation_id=evaluation_id)


def work_recover() -> int:
    """Scheduled every minute (migration 0005): submissions and evaluations whose task was lost run again."""
    return services.runs_recover() + evaluation.evaluations_recover()
