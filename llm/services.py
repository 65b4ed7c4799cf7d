import openai
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .catalog import get_model
from .clients import client_for
from .models import Provider, ServedModel


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


class SyncError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def models_sync(provider: Provider) -> tuple[int, int]:
    """Read the provider's `GET /v1/models` into its served models: what is listed now, what is
    gone (kept, marked unlisted, with what an admin entered). Returns (listed, new). vLLM says an
    adapter's base model (`parent`) and context length (`max_model_len`); "ft:" names are fine-tunes."""
    try:
        listed = list(client_for(provider, max_retries=1).models.list())
    except openai.APIError as error:
        raise SyncError(
            _("%(provider)s did not list its models: %(error)s") % {"provider": provider.name, "error": error}
        ) from error
    now = timezone.now()
    new = 0
    with transaction.atomic():
        for model in listed:
            extra = model.model_extra or {}
            parent = extra.get("parent") or ""
            if parent and parent != model.id:
                kind = ServedModel.Kind.ADAPTER
            elif model.id.startswith("ft:"):
                kind, parent = ServedModel.Kind.FINE_TUNED, ""
            else:
                kind, parent = ServedModel.Kind.BASE, ""
            served, created = ServedModel.objects.get_or_create(provider=provider, name=model.id[:300])
            new += created
            served.kind, served.parent, served.owned_by = kind, str(parent)[:300], (model.owned_by or "")[:200]
            length = extra.get("max_model_len")
            if served.context_length is None:
                known = get_model(model.id)
                served.context_length = (
                    int(length) if isinstance(length, int) else (known.context_window if known else None)
                )
            served.is_listed, served.seen_at = True, now
            served.save()
        provider.served_models.exclude(name__in=[model.id for model in listed]).update(is_listed=False)
    return len(listed), new


def usable_models(provider: Provider) -> list[str]:
    """What an assistant on `provider` may be set to beyond the catalog: served models whose
    context length is known."""
    return list(
        provider.served_models.filter(is_listed=True, context_length__isnull=False).values_list("name", flat=True)
    )
