from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from . import crypto

OPENAI_BASE_URL = "https://api.openai.com/v1"


class Provider(models.Model):
    """Where models are served and trained: a base URL, a key and a kind.

    A served model is "provider + model name"; no code assumes that OpenAI is the only provider.
    """

    class Kind(models.TextChoices):
        OPENAI = "openai", _("OpenAI")
        AZURE = "azure", _("Azure OpenAI")
        OPENAI_COMPATIBLE = "openai_compatible", _("OpenAI-compatible server")
        SELF_HOSTED = "self_hosted", _("Self-hosted (gradcap's training hosts)")
        SANDBOX = "sandbox", _("Sandbox (built in)")

    class Serving(models.TextChoices):
        MODEL_DIRECTORY = "model_directory", _("Model directories (transformers serve, Ollama, llama.cpp)")
        VLLM_LORA = "vllm_lora", _("LoRA adapters loaded at runtime (vLLM)")

    class WireApi(models.TextChoices):
        RESPONSES = "responses", _("Responses")
        CHAT_COMPLETIONS = "chat_completions", _("Chat Completions")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices, default=Kind.OPENAI)
    base_url = models.URLField(
        _("base URL"),
        blank=True,
        help_text=_(
            "Leave empty for OpenAI and the sandbox. Azure: https://<resource>.openai.azure.com/openai/v1/. "
            "Self-hosted: the model server that serves its trained models (vLLM, transformers serve). "
            "Other servers: their OpenAI-compatible /v1 address."
        ),
    )
    wire_api = models.CharField(
        _("wire API"),
        max_length=32,
        choices=WireApi.choices,
        blank=True,
        help_text=_(
            "How chats talk to the provider. Leave empty for the kind's default: Responses for OpenAI, "
            "Azure and the sandbox; Chat Completions for other servers (vLLM, Ollama, llama.cpp, "
            "transformers serve), which speak it first."
        ),
    )
    serving = models.CharField(
        _("serving of trained models"),
        max_length=32,
        choices=Serving.choices,
        blank=True,
        help_text=_(
            "Self-hosted: how ▶ makes a trained model servable. Model directories: gradcap publishes the merged "
            "model into the serving directory and asks for it by its path. vLLM: gradcap publishes the adapter "
            "there and registers it with /v1/load_lora_adapter."
        ),
    )
    serving_dir = models.CharField(
        _("serving directory"),
        max_length=500,
        blank=True,
        help_text=_(
            "An absolute path that gradcap writes and the model server reads, the same on both (a shared "
            "volume). Models are asked for as subdirectories of it."
        ),
    )
    api_key_encrypted = models.TextField(_("API key (encrypted)"), blank=True, editable=False)
    api_key_hint = models.CharField(_("API key"), max_length=24, blank=True, editable=False)
    organization = models.CharField(_("organisation id"), max_length=100, blank=True)
    project = models.CharField(_("project id"), max_length=100, blank=True)
    extra_headers = models.JSONField(
        _("extra headers"), default=dict, blank=True, help_text=_("Sent with every request, as a JSON object.")
    )
    timeout_seconds = models.FloatField(_("timeout (seconds)"), default=60)
    max_retries = models.PositiveSmallIntegerField(_("retries"), default=2)
    is_default = models.BooleanField(_("default"), default=False, help_text=_("Used where nothing else is chosen."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("provider")
        verbose_name_plural = _("providers")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_provider")
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind in (self.Kind.AZURE, self.Kind.OPENAI_COMPATIBLE, self.Kind.SELF_HOSTED) and not self.base_url:
            raise ValidationError({"base_url": _("This kind of provider needs a base URL.")})
        if self.serving and not self.serving_dir.startswith("/"):
            raise ValidationError({"serving_dir": _("Give the absolute path that both gradcap and the server see.")})
        if not isinstance(self.extra_headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.extra_headers.items()
        ):
            raise ValidationError({"extra_headers": _("Give a JSON object of text values.")})

    def set_api_key(self, raw_key: str) -> None:
        """Store the key encrypted; keep only a masked hint such as "sk-…abcd" in clear."""
        raw_key = raw_key.strip()
        self.api_key_encrypted = crypto.encrypt(raw_key) if raw_key else ""
        self.api_key_hint = mask_key(raw_key)

    @property
    def api_key(self) -> str:
        if self.api_key_encrypted:
            return crypto.decrypt(self.api_key_encrypted)
        if self.kind == self.Kind.SANDBOX:
            return settings.SANDBOX_API_KEY
        return ""

    @property
    def effective_base_url(self) -> str:
        if self.base_url:
            return self.base_url
        if self.kind == self.Kind.SANDBOX:
            return settings.SANDBOX_BASE_URL
        return OPENAI_BASE_URL

    @property
    def effective_wire_api(self) -> str:
        if self.wire_api:
            return self.wire_api
        if self.kind in (self.Kind.OPENAI_COMPATIBLE, self.Kind.SELF_HOSTED):
            return self.WireApi.CHAT_COMPLETIONS
        return self.WireApi.RESPONSES

    def wire_model(self, model: str) -> str:
        """The name the server knows `model` by: a server that loads model directories is asked for
        the directory's path."""
        if self.serving == self.Serving.MODEL_DIRECTORY and self.serving_dir:
            return f"{self.serving_dir.rstrip('/')}/{model}"
        return model

    @property
    def has_file_search(self) -> bool:
        """The provider runs the hosted file_search tool over its vector stores (Responses API)."""
        return (
            self.kind in (self.Kind.OPENAI, self.Kind.AZURE, self.Kind.SANDBOX)
            and self.effective_wire_api == self.WireApi.RESPONSES
        )

    @property
    def is_sandbox(self) -> bool:
        return self.kind == self.Kind.SANDBOX

    @property
    def is_self_hosted(self) -> bool:
        """Trains on gradcap's own training hosts (the `training` app) instead of a provider's job API."""
        return self.kind == self.Kind.SELF_HOSTED


def mask_key(raw_key: str) -> str:
    """'sk-proj-abcdef1234' → 'sk-…1234'. Short keys show only their last two characters."""
    if not raw_key:
        return ""
    prefix = "sk-" if raw_key.startswith("sk-") else ""
    tail = raw_key[-4:] if len(raw_key) >= 12 else raw_key[-2:]
    return f"{prefix}…{tail}"


class ServedModel(models.Model):
    """A model that a provider's server lists (`GET /v1/models`, read by "Sync models"): base
    models, fine-tuned models and loaded LoRA adapters beside the catalog. One the catalog does not
    know is offered to assistants once an admin gives its context length."""

    class Kind(models.TextChoices):
        BASE = "base", _("base model")
        FINE_TUNED = "fine_tuned", _("fine-tuned model")
        ADAPTER = "adapter", _("LoRA adapter")

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="served_models")
    name = models.CharField(_("model"), max_length=300)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.BASE)
    parent = models.CharField(_("base model"), max_length=300, blank=True)  # of an adapter (vLLM's `parent`)
    owned_by = models.CharField(_("owner"), max_length=200, blank=True)
    context_length = models.PositiveIntegerField(
        _("context length"),
        null=True,
        blank=True,
        help_text=_(
            "Tokens of prompt and answer together. Needed before assistants can use a model the catalog does not know."
        ),
    )
    training_token_limit = models.PositiveIntegerField(
        _("training token limit"), null=True, blank=True, help_text=_("Tokens per training example, if it trains.")
    )
    is_listed = models.BooleanField(_("listed by the server"), default=True)
    seen_at = models.DateTimeField(_("last listed"), null=True, blank=True)

    class Meta:
        verbose_name = _("served model")
        verbose_name_plural = _("served models")
        ordering = ["provider", "name"]
        constraints = [models.UniqueConstraint(fields=["provider", "name"], name="unique_served_model")]

    def __str__(self) -> str:
        return self.name
