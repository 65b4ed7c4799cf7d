from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DialogsConfig(AppConfig):
    name = "dialogs"
    verbose_name = _("Dialogs and datasets")

    def ready(self) -> None:
        from .chat import images  # noqa: F401 -- its post_delete receiver removes unnamed image files
