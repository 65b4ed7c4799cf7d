from pathlib import Path

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.text import normalize_newlines
from django.utils.translation import gettext_lazy as _

from courses.models import Course
from llm.catalog import get_model
from llm.models import Provider
from llm.services import usable_models

from .models import Assistant
from .tools import tool_choices


class AssistantForm(forms.ModelForm):
    function_tools = forms.MultipleChoiceField(
        label=_("Functions"), choices=tool_choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Assistant
        fields = [
            "name",
            "instructions",
            "provider",
            "model",
            "temperature",
            "use_file_search",
            "knowledge_search",
            "function_tools",
            "use_code_interpreter",
        ]
        widgets = {
            "instructions": forms.Textarea(attrs={"rows": 10}),
            "model": forms.TextInput(attrs={"list": "catalog-models", "autocomplete": "off"}),
            "temperature": forms.NumberInput(attrs={"step": "0.1", "min": "0", "max": "2"}),
        }

    def __init__(self, *args, course: Course, **kwargs):
        super().__init__(*args, **kwargs)
        self.course = course

    def clean(self):
        cleaned = super().clean()
        provider, model = cleaned.get("provider"), (cleaned.get("model") or "").strip()
        # A model server's own models are usable once their context length is known (the catalog
        # knows its models'; an admin gives the others' after "Sync models").
        if (
            provider is not None
            and model
            and provider.kind == Provider.Kind.OPENAI_COMPATIBLE
            and get_model(model) is None
            and model not in usable_models(provider)
        ):
            self.add_error(
                "model",
                _(
                    "%(model)s is not in the catalog: an admin syncs this provider's models (Providers → Sync "
                    "models) and gives its context length first."
                )
                % {"model": model},
            )
        return cleaned

    def clean_instructions(self) -> str:
        # Browsers send textarea lines as CRLF; instructions become the system message of
        # recorded dialogs and training files, which keep LF.
        return normalize_newlines(self.cleaned_data["instructions"])

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        others = Assistant.objects.filter(course=self.course, name=name).exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(_("This course already has an assistant with this name."))
        return name


class KnowledgeFileForm(forms.Form):
    file = forms.FileField(label=_("File"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        extension = Path(upload.name).suffix.lower().lstrip(".")
        if extension not in settings.KNOWLEDGE_FILE_EXTENSIONS:
            raise forms.ValidationError(
                _("Files of type “%(extension)s” cannot be used. Upload one of: %(allowed)s."),
                params={"extension": extension or "?", "allowed": ", ".join(settings.KNOWLEDGE_FILE_EXTENSIONS)},
            )
        if upload.size > settings.KNOWLEDGE_FILE_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s; the limit is %(limit)s."),
                params={
                    "size": filesizeformat(upload.size),
                    "limit": filesizeformat(settings.KNOWLEDGE_FILE_MAX_BYTES),
                },
            )
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        return upload


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("Where the key is used, e.g. “Telegram bot”."))
