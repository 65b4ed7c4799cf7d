import re

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import services
from .models import BaseModel

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # part of trained models' names ("ft:<name>:…")


class BaseModelForm(forms.ModelForm):
    """The admin's form for a base model: it saves only a model that loads in the trainer's
    environment on this host (configuration, tokenizer, chat template, weights that fit the
    architecture), and takes the context length from the model when none is given."""

    class Meta:
        model = BaseModel
        fields = ["provider", "name", "source", "revision", "chat_template", "context_length", "hosts", "multimodal",
                  "is_active"]  # fmt: skip

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not NAME.match(name):
            raise forms.ValidationError(_("Use letters, digits, dots, - and _ (no spaces or colons)."))
        return name

    def clean(self):
        data = super().clean()
        source = (data.get("source") or "").strip()
        if not source or self.errors:
            return data
        checked = {"source", "revision", "chat_template"}
        if self.instance.pk and self.instance.checked_at and not checked & set(self.changed_data):
            return data  # the model itself did not change: no need to load it again
        try:
            result = services.base_model_check(
                source=source, revision=data.get("revision", ""), chat_template=data.get("chat_template", "")
            )
        except services.JobError as error:
            raise forms.ValidationError(error.message) from error
        self.checked = result
        if not data.get("context_length") and result.get("context_length"):
            data["context_length"] = result["context_length"]
        return data

    def save(self, commit: bool = True) -> BaseModel:
        model = super().save(commit=False)
        result = getattr(self, "checked", None)
        if result is not None:
            model.architecture = result.get("architecture", "")[:100]
            model.parameters = result.get("parameters")
            model.fingerprint = result.get("fingerprint", "")
            model.checked_at = timezone.now()
        if commit:
            model.save()
        return model
