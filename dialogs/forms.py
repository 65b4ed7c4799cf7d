from django import forms
from django.conf import settings
from django.utils.text import normalize_newlines
from django.utils.translation import gettext_lazy as _

from assistants.models import Assistant
from llm.catalog import MODELS, get_model

from .models import Dataset, Example, Message, Transfer


class MessageForm(forms.Form):
    """A learner's message: asked, or edited to regenerate the answer."""

    content = forms.CharField(
        label=_("Your message"),
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("Ask the assistant…")}),
        error_messages={"required": _("Write a message first.")},
    )

    def clean_content(self) -> str:
        content = normalize_newlines(self.cleaned_data["content"])  # browsers send textarea lines as CRLF
        limit = settings.CHAT_MESSAGE_MAX_CHARS
        if len(content) > limit:
            raise forms.ValidationError(
                _("The message is too long: at most %(limit)d characters (it has %(length)d)."),
                params={"limit": limit, "length": len(content)},
            )
        return content


class AskForm(MessageForm):
    """A new question, with the assistant to ask (new dialogs) and, in the playground, a model.

    The assistants are the course's, as the view read them (with their providers): choosing one
    costs no query of its own."""

    assistant = forms.TypedChoiceField(label=_("Assistant"), choices=(), required=False, empty_value=None)
    model = forms.CharField(
        label=_("Model"),
        required=False,
        max_length=200,
        help_text=_("To compare answers, name another model; leave empty to use the assistant's own."),
        widget=forms.TextInput(attrs={"list": "catalog-models", "autocomplete": "off"}),
    )

    def __init__(self, *args, assistants: list[Assistant], playground: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.assistants = {str(assistant.pk): assistant for assistant in assistants}
        field = self.fields["assistant"]
        field.choices = [("", "---------"), *((key, str(a)) for key, a in self.assistants.items())]
        if len(assistants) == 1:
            field.initial = assistants[0].pk
            field.widget = forms.HiddenInput()
        if not playground:
            del self.fields["model"]

    def clean_assistant(self) -> Assistant | None:
        key = self.cleaned_data.get("assistant")
        if key is not None:
            return self.assistants[key]
        if len(self.assistants) > 1:
            raise forms.ValidationError(_("Choose an assistant."))
        return next(iter(self.assistants.values()), None)


class FeedbackForm(forms.Form):
    value = forms.TypedChoiceField(choices=Message.Feedback.choices, coerce=int)


class DatasetForm(forms.ModelForm):
    base_model = forms.ChoiceField(
        label=_("Base model"),
        required=False,
        help_text=_("The model you plan to tune: its training token limit is checked and its cost estimated."),
    )

    class Meta:
        model = Dataset
        fields = ["name", "description", "assistant", "base_model", "validation_percent"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, course, **kwargs):
        super().__init__(*args, **kwargs)
        self.course = course
        self.instance.course = course
        self.fields["assistant"].queryset = Assistant.objects.filter(course=course)
        self.fields["assistant"].empty_label = _("— choose later —")  # as for the base model below
        self.fields["validation_percent"].validators.append(_max_percent)
        # The fine-tunable models of the catalog; a stored alias ("gpt-4.1-mini") selects its model.
        choices = [("", _("— choose later —"))]
        choices += [(model.id, f"{model.label} ({model.id})") for model in MODELS if model.tunable_on]
        current = self.instance.base_model
        known = get_model(current) if current else None
        if known is not None:
            self.initial["base_model"] = known.id
        elif current:
            choices.append((current, current))  # not in the catalog any more: keep it choosable
        self.fields["base_model"].choices = choices

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        others = Dataset.objects.filter(course=self.course, name=name).exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(_("This course already has a dataset with this name."))
        return name


def _max_percent(value: int) -> None:
    if value > 50:
        raise forms.ValidationError(_("Keep at most half of the examples for validation."))


class ExampleFilterForm(forms.Form):
    """The dataset page's filters (GET)."""

    ISSUES = [("", _("any")), ("yes", _("with issues")), ("no", _("without issues"))]

    status = forms.ChoiceField(label=_("Status"), required=False)
    split = forms.ChoiceField(label=_("Split"), required=False)
    issues = forms.ChoiceField(label=_("Issues"), required=False, choices=ISSUES)
    per_page = forms.TypedChoiceField(
        label=_("Per page"), required=False, coerce=int, choices=[(n, n) for n in (25, 50, 100)], empty_value=100
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("any")), *Example.Status.choices]
        self.fields["split"].choices = [
            ("", _("any")),
            (Example.Split.TRAIN, _("training")),
            (Example.Split.VALIDATION, _("validation")),
        ]


class SplitForm(forms.Form):
    split = forms.ChoiceField(choices=Example.Split.choices, required=False)
    version = forms.IntegerField(min_value=1)


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("OpenAI chat JSONL, or CSV with question and answer columns (and optionally system)."),
    )


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=[])
    split = forms.ChoiceField(choices=[("", _("all")), *Example.Split.choices[1:]], required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["format"].choices = [c for c in Transfer.Format.choices if c[0] != Transfer.Format.CSV]
