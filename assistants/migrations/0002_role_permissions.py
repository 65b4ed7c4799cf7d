from django.db import migrations

from accounts.roles import all_permissions, grant


def grant_role_permissions(apps, schema_editor):
    grant(
        apps,
        "assistants",
        {
            "admin": all_permissions("assistant", "instructionsversion", "knowledgefile", "apikey"),
            "curator": ["view_assistant", "view_knowledgefile"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_role_groups"),
        ("assistants", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant_role_permissions, migrations.RunPython.noop)]
