from django.conf import settings
from django.db import transaction

from .models import Provider


@transaction.atomic
def provider_ensure_default() -> Provider:
    """Return the default provider, creating one when there is none: OpenAI when OPENAI_API_KEY
    is configured, otherwise the built-in sandbox (so gradcap works with no key at all)."""
    provider = Provider.objects.select_for_update().filter(is_default=True).first()
    if provider is not None:
        return provider
    if settings.OPENAI_API_KEY:
        provider, created = Provider.objects.get_or_create(
            name="OpenAI",
            defaults={
                "kind": Provider.Kind.OPENAI_COMPATIBLE if settings.OPENAI_BASE_URL else Provider.Kind.OPENAI,
                "base_url": settings.OPENAI_BASE_URL,
            },
        )
        if created:
            provider.set_api_key(settings.OPENAI_API_KEY)
    else:
        provider, _ = Provider.objects.get_or_create(name="Sandbox", defaults={"kind": Provider.Kind.SANDBOX})
    provider.is_default = True
    provider.full_clean()
    provider.save()
    return provider
