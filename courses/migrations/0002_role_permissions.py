from django.db import migrations

from accounts.roles import all_permissions, grant


def grant_role_permissions(apps, schema_editor):
    grant(
        apps,
        "courses",
        {"admin": all_permissions("course", "membership"), "curator": ["view_course", "view_membership"]},
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_role_groups"),
        ("courses", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant_role_permissions, migrations.RunPython.noop)]
