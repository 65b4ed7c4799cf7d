from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FinetuneConfig(AppConfig):
    name = "finetune"
    verbose_name = _("Fine-tuning")

    def ready(self) -> None:
        from assistants.notices import notice_source_register

        from .selectors import assistant_notices

        # assistants comes before finetune: it learns about trained models through this callable.
        notice_source_register(assistant_notices)
