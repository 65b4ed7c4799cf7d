"""The schedule that queues again, every minute, the imports and exports whose task was
lost (core/background.py).

A data migration, like finetune's sync schedule: it runs once per database and needs no database
access while Django starts up.
"""

from django.db import migrations

NAME = "dialogs: recover lost transfers"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME, defaults={"func": "dialogs.tasks.transfers_recover", "schedule_type": "I", "minutes": 1, "repeats": -1}
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("dialogs", "0006_role_permissions"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
