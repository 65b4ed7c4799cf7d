from pathlib import Path

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from courses.models import Course

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
