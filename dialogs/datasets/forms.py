from django import forms
from django.utils.translation import gettext_lazy as _

from assistants.models import Assistant
from core.images import CleanImage, ImageRefused, check_size
from core.images import clean_image as clean_upload
from llm.catalog import MODELS, get_model

from ..models import Dataset, Example, Transfer
from .edits import EDITABLE_ROLES


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


# The example editor's forms: each carries the version the editor was loaded at.

CONTENT_MAX_CHARS = 100_000
ROLE_CHOICES = [(role, role) for role in EDITABLE_ROLES]
IMAGE_ACCEPT = "image/png,image/jpeg,image/webp,image/gif"


class VersionForm(forms.Form):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class ContentForm(VersionForm):
    content = forms.CharField(
        label=_("Text"), required=False, strip=False, max_length=CONTENT_MAX_CHARS, widget=forms.Textarea
    )

    def clean_content(self) -> str:
        return self.cleaned_data["content"].replace("\r\n", "\n")  # browsers send textarea lines as CRLF


class SystemForm(ContentForm):
    follow = forms.BooleanField(required=False)  # back to the assistant's current instructions


class InsertForm(VersionForm):
    position = forms.IntegerField(min_value=0)
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)


class RoleForm(VersionForm):
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)


class WeightForm(VersionForm):
    learn = forms.BooleanField(required=False)


class StatusForm(VersionForm):
    status = forms.ChoiceField(choices=Example.Status.choices)


class ExampleSplitForm(VersionForm):
    split = forms.ChoiceField(choices=Example.Split.choices, required=False)


class RedactForm(VersionForm):
    index = forms.IntegerField(min_value=0, required=False)


class ImageForm(VersionForm):
    """An image added to a message in the editor, checked as the chat checks one (clean_image)."""

    image = forms.FileField(label=_("Image"), widget=forms.FileInput(attrs={"accept": IMAGE_ACCEPT}))

    def clean_image(self) -> CleanImage:
        upload = self.cleaned_data["image"]
        try:
            check_size(upload.size)  # before reading a byte of it
            return clean_upload(upload.read())
        except ImageRefused as refused:
            raise forms.ValidationError(refused.message, code=refused.code) from None


class MoveForm(VersionForm):
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.none())

    def __init__(self, data, *, example: Example):
        super().__init__(data)
        self.fields["dataset"].queryset = other_datasets(example)


def other_datasets(example: Example):
    """Where the example may move: the other datasets of its course."""
    return Dataset.objects.filter(course_id=example.dataset.course_id).exclude(pk=example.dataset_id).order_by("name")
