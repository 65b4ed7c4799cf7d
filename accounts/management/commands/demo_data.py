from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = "Create the demo: a course, one user per role, the sandbox provider and sample data. Safe to rerun."

    def handle(self, *args, **options) -> None:
        # Each app adds its own part in `<app>/demo.py`, in INSTALLED_APPS order, so later apps can
        # build on what earlier ones created and no app imports a later one.
        with transaction.atomic():
            for app_config in apps.get_app_configs():
                module_name = f"{app_config.name}.demo"
                if find_spec(module_name) is not None:
                    import_module(module_name).load(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
