from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FinetuneConfig(AppConfig):
    name = "finetune"
    verbose_name = _("Fine-tuning")
