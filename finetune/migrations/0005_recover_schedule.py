"""The schedule that queues again, every minute, the submissions and evaluations whose task was
lost (core/background.py). A data migration, like 0002.
"""

from django.db import migrations

NAME = "finetune: recover lost submissions and evaluations"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME, defaults={"func": "finetune.tasks.work_recover", "schedule_type": "I", "minutes": 1, "repeats": -1}
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("finetune", "0004_task_heartbeats"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
