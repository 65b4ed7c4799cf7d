from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Provider, ServedModel


class ProviderForm(forms.ModelForm):
    # Never rendered back: the field is always empty and leaving it empty keeps the stored key.
    api_key = forms.CharField(
        label=_("API key"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Stored encrypted and never shown again. Leave empty to keep the current key."),
    )
    clear_api_key = forms.BooleanField(label=_("Remove the stored key"), required=False)

    class Meta:
        model = Provider
        fields = [
            "name",
            "kind",
            "base_url",
            "wire_api",
            "serving",
            "serving_dir",
            "api_key",
            "clear_api_key",
            "organization",
            "project",
            "extra_headers",
            "timeout_seconds",
            "max_retries",
            "is_default",
        ]

    def save(self, commit: bool = True) -> Provider:
        provider = super().save(commit=False)
        if self.cleaned_data.get("api_key"):
            provider.set_api_key(self.cleaned_data["api_key"])
        elif self.cleaned_data.get("clear_api_key"):
            provider.set_api_key("")
        if commit:
            provider.save()
        return provider


class ServedModelInline(admin.TabularInline):
    """What the provider's server listed at the last "Sync models"; the admin gives the context
    length (and training limit) of models the catalog does not know."""

    model = ServedModel
    extra = 0
    fields = ["name", "kind", "parent", "owned_by", "context_length", "training_token_limit", "is_listed", "seen_at"]
    readonly_fields = ["name", "kind", "parent", "owned_by", "is_listed", "seen_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # they come from the server


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    inlines = [ServedModelInline]
    actions = ["sync_models"]
    list_display = ["name", "kind", "effective_base_url", "api_key_hint", "is_default", "updated_at"]
    list_filter = ["kind", "is_default"]
    search_fields = ["name", "base_url"]
    readonly_fields = ["api_key_hint"]

    @admin.display(description=_("base URL"))
    def effective_base_url(self, provider: Provider) -> str:
        return provider.effective_base_url

    @admin.action(description=_("Sync models from the server (GET /v1/models)"))
    def sync_models(self, request, queryset) -> None:
        for provider in queryset:
            try:
                listed, new = services.models_sync(provider)
            except services.SyncError as error:
                self.message_user(request, error.message, level=messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(provider)s lists %(listed)s models (%(new)s new).")
                    % {"provider": provider.name, "listed": listed, "new": new},
                    level=messages.SUCCESS,
                )
