from django.db import migrations

from accounts.roles import all_permissions, grant


def grant_role_permissions(apps, schema_editor):
    grant(
        apps,
        "dialogs",
        {
            "admin": all_permissions("dialog", "message", "dataset", "example", "examplerevision", "transfer"),
            "curator": ["view_dialog", "view_dataset", "view_example"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_role_groups"),
        ("dialogs", "0005_transfer"),
    ]

    operations = [migrations.RunPython(grant_role_permissions, migrations.RunPython.noop)]
