from django.db import migrations

from accounts.roles import all_permissions, grant


def grant_role_permissions(apps, schema_editor):
    grant(
        apps,
        "finetune",
        {
            "admin": all_permissions("snapshot", "run", "runevent", "trainedmodel", "activation"),
            "curator": ["view_run", "view_trainedmodel"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_role_groups"),
        ("finetune", "0002_sync_schedule"),
    ]

    operations = [migrations.RunPython(grant_role_permissions, migrations.RunPython.noop)]
