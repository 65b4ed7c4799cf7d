from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The project itself as an app: its system checks."""

    name = "config"
    verbose_name = "gradcap"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers them)
