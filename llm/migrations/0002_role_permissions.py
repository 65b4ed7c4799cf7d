from django.db import migrations

from accounts.roles import all_permissions, grant


def grant_role_permissions(apps, schema_editor):
    grant(apps, "llm", {"admin": all_permissions("provider"), "curator": ["view_provider"]})


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_role_groups"),
        ("llm", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant_role_permissions, migrations.RunPython.noop)]
