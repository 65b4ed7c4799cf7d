import re

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from llm.catalog import DPO, SFT, get_model, tunable_models
from llm.models import Provider

from .models import Method

SUFFIX = re.compile(r"^[A-Za-z0-9_-]*$")  # letters, digits, - and _: every provider accepts these (Azure: no dots)


def tunable_providers():
    """Providers that can train: their kind fine-tunes catalog models, or they are self-hosted and
    an admin registered base models for them."""
    kinds = [kind for kind in Provider.Kind.values if tunable_models(kind)]
    self_hosted = Q(kind=Provider.Kind.SELF_HOSTED, base_models__is_active=True)
    return Provider.objects.filter(Q(kind__in=kinds) | self_hosted).distinct().order_by("name")


def _model_choices():
    seen: dict[str, str] = {}
    for kind in Provider.Kind.values:
        for model in tunable_models(kind):
            seen.setdefault(model.id, model.label)
    return list(seen.items())


HOSTED_ONLY = ("learning_rate_multiplier",)
SELF_HOSTED_ONLY = ("learning_rate", "lora_rank", "lora_alpha", "lora_dropout", "max_length")
HYPERPARAMETERS = ("n_epochs", "batch_size", "learning_rate_multiplier", "beta", *SELF_HOSTED_ONLY)


class StartTrainingForm(forms.Form):
    provider = forms.ModelChoiceField(label=_("Provider"), queryset=Provider.objects.none(), empty_label=None)
    base_model = forms.ChoiceField(label=_("Base model"), choices=_model_choices)
    only_new = forms.BooleanField(
        label=_("Only the examples curated since that model was trained"),
        required=False,
        help_text=_("When continuing a trained model: leave out what it has already learned."),
    )
    method = forms.ChoiceField(label=_("Method"), choices=Method.choices)
    n_epochs = forms.IntegerField(label=_("Epochs"), required=False, min_value=1, max_value=50)
    batch_size = forms.IntegerField(label=_("Batch size"), required=False, min_value=1, max_value=256)
    learning_rate_multiplier = forms.FloatField(
        label=_("Learning-rate multiplier"), required=False, min_value=0.01, max_value=10
    )
    learning_rate = forms.FloatField(label=_("Learning rate"), required=False, min_value=1e-7, max_value=1e-1)
    lora_rank = forms.IntegerField(label=_("LoRA rank"), required=False, min_value=1, max_value=512)
    lora_alpha = forms.IntegerField(label=_("LoRA alpha"), required=False, min_value=1, max_value=1024)
    lora_dropout = forms.FloatField(label=_("LoRA dropout"), required=False, min_value=0, max_value=0.9)
    max_length = forms.IntegerField(
        label=_("Maximum length (tokens)"),
        required=False,
        min_value=16,
        max_value=1_000_000,
        help_text=_("Longer examples are left out, never cut; the run says which before training starts."),
    )
    beta = forms.FloatField(label=_("DPO beta"), required=False, min_value=0.01, max_value=2)
    suffix = forms.CharField(
        label=_("Suffix"),
        required=False,
        max_length=40,
        help_text=_("Part of the trained model's name: letters, digits, - and _."),
    )

    def __init__(self, *args, has_pairs: bool, course, **kwargs):
        super().__init__(*args, **kwargs)
        providers = tunable_providers()
        self.fields["provider"].queryset = providers
        chosen = (
            providers.filter(pk=self.data.get("provider")).first()
            if str(self.data.get("provider", "")).isdigit()
            else None
        )
        self.chosen_provider = chosen
        self.trained = {}
        if chosen is not None:  # only what this provider can tune, and the course's models trained there
            if chosen.is_self_hosted:
                bases = [(model.name, model.name) for model in chosen.base_models.filter(is_active=True)]
            else:
                bases = [(model.id, model.label) for model in tunable_models(chosen.kind)]
            self.trained = {
                model.name: model for model in course.trained_models.filter(provider=chosen).select_related("run")
            }
            choices: list = [(_("Base models"), bases)] if bases else []
            if self.trained:
                continued = [(name, name) for name in self.trained]
                choices.append((_("Continue training a model of this course"), continued))
            self.fields["base_model"].choices = choices
        kind_only = HOSTED_ONLY if chosen is not None and chosen.is_self_hosted else SELF_HOSTED_ONLY
        for name in kind_only:
            del self.fields[name]
        if not self.trained:
            del self.fields["only_new"]
        if not has_pairs:
            self.fields["method"].choices = [(SFT, Method.SFT.label)]
        self.show_defaults({})

    def show_defaults(self, defaults: dict) -> None:
        """Each empty hyperparameter says what "auto" will be, where that is known in advance."""
        for name in HYPERPARAMETERS:
            if name in self.fields:
                value = defaults.get(name)
                auto = _("auto") if value is None else _("auto (%(value)s)") % {"value": value}
                self.fields[name].widget.attrs["placeholder"] = auto

    @property
    def model_ids(self) -> list[str]:
        """What the base model field offers now (the provider's models, then the course's trained ones)."""
        ids = []
        for value, label in self.fields["base_model"].choices:
            if isinstance(label, list | tuple):  # a group: (group label, [(value, label), ...])
                ids.extend(choice for choice, _label in label)
            else:
                ids.append(value)
        return ids

    @property
    def hyperparameter_fields(self) -> list:
        """The bound hyperparameter fields this provider takes, in page order (DPO's beta apart)."""
        return [self[name] for name in HYPERPARAMETERS if name in self.fields and name != "beta"]

    @property
    def is_self_hosted(self) -> bool:
        return self.chosen_provider is not None and self.chosen_provider.is_self_hosted

    def clean_suffix(self) -> str:
        suffix = self.cleaned_data["suffix"].strip()
        if not SUFFIX.match(suffix):
            raise forms.ValidationError(_("Use only letters, digits, - and _."))
        return suffix

    def clean(self):
        data = super().clean()
        provider, model_id, method = data.get("provider"), data.get("base_model"), data.get("method")
        if provider and not provider.is_self_hosted and model_id and model_id not in self.trained:
            model = get_model(model_id)
            if model and not model.is_tunable_on(provider.kind):
                self.add_error(
                    "base_model",
                    _("%(model)s cannot be fine-tuned at %(provider)s.")
                    % {"model": model.label, "provider": provider.name},
                )
            elif model and method and method not in model.methods:
                self.add_error("method", _("%(model)s cannot be trained with this method.") % {"model": model.label})
        if method != DPO:
            data["beta"] = None
        if model_id not in self.trained:
            data["only_new"] = False
        return data

    @property
    def continued(self):
        """The trained model this run goes on from, if any."""
        return self.trained.get(self.cleaned_data.get("base_model", ""))

    @property
    def since(self):
        """Continuing a model with only the new examples: when that model's snapshot was frozen."""
        continued = self.continued
        return continued.run.snapshot.created_at if continued and self.cleaned_data.get("only_new") else None

    def hyperparameters(self) -> dict:
        return {name: self.cleaned_data[name] for name in HYPERPARAMETERS if self.cleaned_data.get(name) is not None}


class ActivateForm(forms.Form):
    assistant = forms.ModelChoiceField(label=_("Assistant"), queryset=None, empty_label=None)

    def __init__(self, *args, course, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assistant"].queryset = course.assistants.order_by("name")


class VerdictForm(forms.Form):
    choice = forms.ChoiceField(choices=[("first", "A"), ("second", "B"), ("tie", _("tie"))])
