"""The sweep that queues lost training jobs again (every minute, on the ordinary cluster), and the
role groups' permissions: admins manage base models and see jobs, curators see base models."""

from django.db import migrations

from accounts.roles import all_permissions, grant

NAME = "training: recover lost jobs"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME, defaults={"func": "training.tasks.jobs_recover", "schedule_type": "I", "minutes": 1, "repeats": -1}
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


def grant_role_permissions(apps, schema_editor):
    grant(
        apps,
        "training",
        {
            "admin": [*all_permissions("basemodel"), "view_trainingjob", "view_trainingevent"],
            "curator": ["view_basemodel"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_role_groups"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("training", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_schedule, remove_schedule),
        migrations.RunPython(grant_role_permissions, migrations.RunPython.noop),
    ]
