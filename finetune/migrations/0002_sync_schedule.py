"""The schedule that syncs active runs every minute.

A data migration rather than code at app start: it runs once per database, in every process
kind (web, worker) alike, and needs no database access while Django starts up.
"""

from django.db import migrations

NAME = "finetune: sync active runs"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME,
        defaults={"func": "finetune.tasks.runs_sync_active", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("finetune", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
