"""Triage flags on dialogs (dialogs.triage), and the worker's sweep that computes them every
minute. Every existing dialog starts due: the sweep is the backfill, and the dialogs page shows
how many it has still to read."""

from django.conf import settings
from django.db import migrations, models

NAME = "dialogs: triage flags"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME, defaults={"func": "dialogs.tasks.dialogs_triage", "schedule_type": "I", "minutes": 1, "repeats": -1}
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('assistants', '0004_knowledge_index'),
        ('courses', '0002_role_permissions'),
        ('dialogs', '0009_question_sent'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name='dialog',
            name='flags',
            field=models.PositiveIntegerField(default=0, verbose_name='flags'),
        ),
        migrations.AddField(
            model_name='dialog',
            name='triage_due',
            field=models.BooleanField(default=True, verbose_name='flags to compute'),
        ),
        migrations.AddField(
            model_name='dialog',
            name='triage_score',
            field=models.PositiveSmallIntegerField(default=0, verbose_name='worth curating'),
        ),
        migrations.AddIndex(
            model_name='dialog',
            index=models.Index(fields=['course', '-triage_score', '-id'], name='dialog_course_worth'),
        ),
        migrations.AddIndex(
            model_name='dialog',
            index=models.Index(condition=models.Q(('triage_due', True)), fields=['id'], name='dialog_triage_due'),
        ),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
