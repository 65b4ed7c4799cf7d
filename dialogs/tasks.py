"""django-q2 tasks: thin, take ids, call services. Each may run more than once."""

from django.conf import settings

from .datasets import checks, transfer
from .records import triage


def transfer_run(transfer_id: int) -> None:
    transfer.transfer_run(transfer_id)


def transfers_recover() -> int:
    """Scheduled every minute (migration 0007): transfers whose task was lost run again."""
    return transfer.transfers_recover()


def dialogs_triage() -> int:
    """Scheduled every minute (migration 0010): the due dialogs get their triage flags. It stops
    after TRIAGE_SWEEP_SECONDS, before the next sweep begins; a backfill takes a few sweeps."""
    return triage.dialogs_triage(seconds=settings.TRIAGE_SWEEP_SECONDS)


def dataset_revalidate(dataset_id: int) -> None:
    checks.dataset_revalidate_task(dataset_id)


def revalidations_recover() -> int:
    """Scheduled every minute (migration 0011): re-validations whose task was lost run again."""
    return checks.revalidations_recover()
