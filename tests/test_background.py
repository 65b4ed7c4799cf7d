"""Background work: the periodic tasks are scheduled, and each can be found by the worker."""

import importlib

import pytest
from django_q.models import Schedule

PERIODIC = [
    "finetune.tasks.runs_sync_active",
    "finetune.tasks.work_recover",  # lost submissions and evaluations
    "dialogs.tasks.transfers_recover",  # lost imports and exports
    "assistants.tasks.knowledge_files_recover",  # lost knowledge file pushes and removals
]


@pytest.mark.parametrize("func", PERIODIC)
def test_it_the_migrations_schedule_it_every_minute(db, func):
    schedule = Schedule.objects.get(func=func)

    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 1, -1)
    module, name = func.rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module), name))
