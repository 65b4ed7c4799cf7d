from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Provider


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


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = ["name", "kind", "effective_base_url", "api_key_hint", "is_default", "updated_at"]
    list_filter = ["kind", "is_default"]
    search_fields = ["name", "base_url"]
    readonly_fields = ["api_key_hint"]

    @admin.display(description=_("base URL"))
    def effective_base_url(self, provider: Provider) -> str:
        return provider.effective_base_url
