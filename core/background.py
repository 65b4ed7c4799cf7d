"""Background work that lost its task is queued again.

django-q2 delivers a task at least once with the ORM broker: a task whose worker died is
delivered again after `retry` seconds. The Redis broker keeps no receipts, so such a task is
simply lost; and with either broker a process can die between a commit and its `async_task`.
So each app schedules a sweep (every minute) that queues the task again for work that is still
unfinished and has shown no sign of life (its `updated_at`) for longer than any task may run.
Tasks are idempotent, so a task queued twice does its work once.
"""

import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django_q.tasks import async_task


def stalled_before() -> datetime.datetime:
    """Work untouched since then has no live task: django-q2 stops any task after its timeout,
    and TASK_STALLED_SECONDS exceeds it."""
    return timezone.now() - datetime.timedelta(seconds=settings.TASK_STALLED_SECONDS)


def requeue_stalled(unfinished: QuerySet, task: str) -> int:
    """Queue `task` (called with the primary key) again for each row of `unfinished` untouched
    since `stalled_before()`. Rows are touched first, so a row waiting in a long queue gets at most
    one more task per period. Returns how many were queued."""
    stalled = list(unfinished.filter(updated_at__lt=stalled_before()).values_list("pk", flat=True))
    if stalled:
        unfinished.model.objects.filter(pk__in=stalled).update(updated_at=timezone.now())
        for pk in stalled:
            async_task(task, pk)
    return len(stalled)
