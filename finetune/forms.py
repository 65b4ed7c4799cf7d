import re

from django import forms
from django.utils.translation import gettext_lazy as _

from llm.catalog import DPO, SFT, get_model, tunable_models
from llm.models import Provider

from .models import Method

SUFFIX = re.compile(r"^[A-Za-z0-9_-]*$")  # letters, digits, - and _: every provider accepts these (Azure: no dots)


def tunable_providers():
    kinds = [kind for kind in Provider.Kind.values if tunable_models(kind)]
    return Provider.objects.filter(kind__in=kinds).order_by("name")


def _model_choices():
    seen: dict[str, str] = {}
    for kind in Provider.Kind.values:
        for model in tunable_models(kind):
            seen.setdefault(model.id, model.label)
    return list(seen.items())


class StartTrainingForm(forms.Form):
    provider = forms.ModelChoiceField(label=_("Provider"), queryset=Provider.objects.none(), empty_label=None)
    base_model = forms.ChoiceField(label=_("Base model"), choices=_model_choices)
    method = forms.ChoiceField(label=_("Method"), choices=Method.choices)
    n_epochs = forms.IntegerField(label=_("Epochs"), required=False, min_value=1, max_value=50)
    batch_size = forms.IntegerField(label=_("Batch size"), required=False, min_value=1, max_value=256)
    learning_rate_multiplier = forms.FloatField(
        label=_("Learning-rate multiplier"), required=False, min_value=0.01, max_value=10
    )
    beta = forms.FloatField(label=_("DPO beta"), required=False, min_value=0.01, max_value=2)
    suffix = forms.CharField(
        label=_("Suffix"),
        required=False,
        max_length=40,
        help_text=_("Part of the trained model's name: letters, digits, - and _."),
    )

    def __init__(self, *args, has_pairs: bool, **kwargs):
        super().__init__(*args, **kwargs)
        providers = tunable_providers()
        self.fields["provider"].queryset = providers
        chosen = (
            providers.filter(pk=self.data.get("provider")).first()
            if str(self.data.get("provider", "")).isdigit()
            else None
        )
        if chosen is not None:  # only what this provider can tune
            self.fields["base_model"].choices = [(model.id, model.label) for model in tunable_models(chosen.kind)]
        if not has_pairs:
            self.fields["method"].choices = [(SFT, Method.SFT.label)]
        for name in ("n_epochs", "batch_size", "learning_rate_multiplier", "beta"):
            self.fields[name].widget.attrs["placeholder"] = _("auto")

    def clean_suffix(self) -> str:
        suffix = self.cleaned_data["suffix"].strip()
        if not SUFFIX.match(suffix):
            raise forms.ValidationError(_("Use only letters, digits, - and _."))
        return suffix

    def clean(self):
        data = super().clean()
        provider, model_id, method = data.get("provider"), data.get("base_model"), data.get("method")
        model = get_model(model_id) if model_id else None
        if provider and model and not model.is_tunable_on(provider.kind):
            self.add_error(
                "base_model",
                _("%(model)s cannot be fine-tuned at %(provider)s.")
                % {"model": model.label, "provider": provider.name},
            )
        elif model and method and method not in model.methods:
            self.add_error("method", _("%(model)s cannot be trained with this method.") % {"model": model.label})
        if method != DPO:
            data["beta"] = None
        return data

    def hyperparameters(self) -> dict:
        names = ("n_epochs", "batch_size", "learning_rate_multiplier", "beta")
        return {name: self.cleaned_data[name] for name in names if self.cleaned_data.get(name) is not None}


class ActivateForm(forms.Form):
    assistant = forms.ModelChoiceField(label=_("Assistant"), queryset=None, empty_label=None)

    def __init__(self, *args, course, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assistant"].queryset = course.assistants.order_by("name")


class VerdictForm(forms.Form):
    choice = forms.ChoiceField(choices=[("first", "A"), ("second", "B"), ("tie", _("tie"))])
