from django.db import migrations

from accounts.roles import all_permissions, grant


def grant_role_permissions(apps, schema_editor):
    grant(
        apps,
        "accounts",
        {"admin": all_permissions("user"), "curator": [], "learner": []},
    )
    grant(apps, "auth", {"admin": ["view_group", "change_group"]})


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(grant_role_permissions, migrations.RunPython.noop)]
