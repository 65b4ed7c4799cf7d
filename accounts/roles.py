"""Role groups and their permissions. Each app grants its own models' permissions to the role
groups in a data migration of its own, through `grant`, so the groups grow with the apps."""

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions


def grant(apps: Apps, app_label: str, grants: dict[str, list[str]]) -> None:
    """Give each role group (created if missing) the listed permission codenames of `app_label`.

    Permissions are normally created after all migrations ran (post_migrate); create this app's
    now so that a fresh database gets its groups complete in one `migrate`.
    """
    app_config = apps.get_app_config(app_label)
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = models_module or True  # create_permissions skips apps without
    try:
        create_permissions(app_config, verbosity=0)
    finally:
        app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in grants.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Unknown permissions for {app_label}: {sorted(missing)}")
        group.permissions.add(*permissions)


def all_permissions(*model_names: str) -> list[str]:
    return [f"{action}_{model}" for model in model_names for action in ("add", "change", "delete", "view")]
