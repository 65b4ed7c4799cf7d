"""django-q2 tasks: thin, take ids, call services. Each may run more than once."""

from . import transfer


def transfer_run(transfer_id: int) -> None:
    transfer.transfer_run(transfer_id)


def transfers_recover() -> int:
    """Scheduled every minute (migration 0007): transfers whose task was lost run again."""
    return transfer.transfers_recover()
