from django import forms
from django.utils.translation import gettext_lazy as _

from assistants.models import Assistant
from llm.catalog import MODELS, get_model

from ..models import Dataset, Example, Transfer


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
