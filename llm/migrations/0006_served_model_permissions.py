from django.db import migrations

from accounts.roles import all_permissions, grant


def grant_role_permissions(apps, schema_editor):
    grant(apps, "llm", {"admin": all_permissions("servedmodel"), "curator": ["view_servedmodel"]})


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_role_groups"),
        ("llm", "0005_served_models"),
    ]

    operations = [migrations.RunPython(grant_role_permissions, migrations.RunPython.noop)]
