import hashlib
import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from courses.models import Course
from llm.models import Provider


class Assistant(models.Model):
    """A course's assistant. Our database is the source of truth for its configuration, which is
    sent with every request (the provider keeps no assistant object)."""

    class KnowledgeSearch(models.TextChoices):
        AUTO = "", _("automatic: the provider's file search where it has one, else gradcap's")
        TOOL = "tool", _("gradcap's search, as a tool the model calls")
        CONTEXT = "context", _("gradcap's search, the best passages always sent with the question")
        HOSTED = "hosted", _("the provider's hosted file search")

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="assistants", verbose_name=_("course"))
    name = models.CharField(_("name"), max_length=100)
    instructions = models.TextField(_("instructions"), blank=True)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+", verbose_name=_("provider"))
    model = models.CharField(_("model"), max_length=200, help_text=_("A model name, or a fine-tuned model's id."))
    temperature = models.FloatField(
        _("temperature"), default=0.7, validators=[MinValueValidator(0.0), MaxValueValidator(2.0)]
    )
    use_file_search = models.BooleanField(_("search the knowledge files"), default=True)
    knowledge_search = models.CharField(
        _("knowledge search"),
        max_length=16,
        choices=KnowledgeSearch.choices,
        default=KnowledgeSearch.AUTO,
        blank=True,
        help_text=_(
            "gradcap's search works with every model and provider. Send the passages with the question for "
            "models that cannot call tools. The provider's file search exists on OpenAI, Azure and the sandbox "
            "(Responses API); elsewhere gradcap's search is used."
        ),
    )
    # Kept by assistants.passages as files are indexed and deleted: a chat offers the search only then.
    has_knowledge = models.BooleanField(default=False, editable=False)
    function_tools = models.JSONField(_("functions"), default=list, blank=True)
    use_code_interpreter = models.BooleanField(
        _("code interpreter"), default=False, help_text=_("Only for providers that support it.")
    )
    vector_store_id = models.CharField(_("vector store id"), max_length=100, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("assistant")
        verbose_name_plural = _("assistants")
        ordering = ["course", "name"]
        constraints = [models.UniqueConstraint(fields=["course", "name"], name="unique_assistant_name_per_course")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("assistants:detail", args=[self.course.slug, self.pk])

    @property
    def knowledge_mode(self) -> str:
        """How this assistant's knowledge reaches its model now: "", "tool", "context" or "hosted".
        Its `provider` must be loaded."""
        if not self.use_file_search:
            return ""
        hosted = self.provider.has_file_search
        if self.knowledge_search == self.KnowledgeSearch.HOSTED or (
            self.knowledge_search == self.KnowledgeSearch.AUTO and hosted
        ):
            return self.KnowledgeSearch.HOSTED if hosted else self.KnowledgeSearch.TOOL
        return self.knowledge_search or self.KnowledgeSearch.TOOL


class InstructionsVersion(models.Model):
    """Every saved change of an assistant's instructions: who, when, what (diffs are computed)."""

    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    instructions = models.TextField(_("instructions"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("saved"), auto_now_add=True)

    class Meta:
        verbose_name = _("instructions version")
        verbose_name_plural = _("instructions versions")
        ordering = ["assistant", "-number"]
        constraints = [models.UniqueConstraint(fields=["assistant", "number"], name="unique_instructions_version")]

    def __str__(self) -> str:
        return f"{self.assistant} v{self.number}"


def knowledge_upload_to(instance: "KnowledgeFile", filename: str) -> str:
    return f"knowledge/{instance.assistant.course_id}/{instance.assistant_id}/{secrets.token_hex(8)}/{filename}"


class KnowledgeFile(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        PROCESSING = "processing", _("processing")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")
        DELETING = "deleting", _("deleting")

    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="knowledge_files")
    file = models.FileField(_("file"), upload_to=knowledge_upload_to, max_length=300)
    name = models.CharField(_("name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(_("error"), blank=True)
    provider_file_id = models.CharField(max_length=100, blank=True)
    # gradcap's own index (assistants.passages): how far the worker got, and how many passages.
    passage_count = models.PositiveIntegerField(_("passages"), default=0)
    index_progress = models.PositiveSmallIntegerField(_("indexed (%)"), default=0)
    indexed_at = models.DateTimeField(_("indexed"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("knowledge file")
        verbose_name_plural = _("knowledge files")
        ordering = ["assistant", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_settled(self) -> bool:
        """No more background work expected: the status page may stop polling."""
        return self.status in (self.Status.READY, self.Status.FAILED)


class Passage(models.Model):
    """A passage of a knowledge file in gradcap's own full-text index: SQLite FTS5 over `terms`
    (stems, knowledge.terms), PostgreSQL's `russian` configuration over `text` (a generated
    tsvector column with a GIN index); both made by migration 0005, kept by the database itself in
    the same transaction as the row."""

    knowledge_file = models.ForeignKey(KnowledgeFile, on_delete=models.CASCADE, related_name="passages")
    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="+")  # what search filters by
    position = models.PositiveIntegerField(_("position"))
    place = models.CharField(_("place"), max_length=200, blank=True)  # "p. 3", the heading above it
    text = models.TextField(_("text"))
    terms = models.TextField(blank=True)

    class Meta:
        verbose_name = _("passage")
        verbose_name_plural = _("passages")
        ordering = ["knowledge_file", "position"]
        constraints = [models.UniqueConstraint(fields=["knowledge_file", "position"], name="unique_passage_position")]
        indexes = [models.Index(fields=["assistant"], name="passage_assistant")]

    def __str__(self) -> str:
        return f"{self.knowledge_file_id}#{self.position}"


class PassageLexeme(models.Model):
    """PostgreSQL: how many of an assistant's passages hold a word (from ts_stat, refreshed as files
    are indexed and deleted), so that search ranks rare words above common ones; the empty word
    counts the passages. SQLite's FTS5 keeps its own."""

    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="+")
    lexeme = models.TextField()
    ndoc = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["assistant", "lexeme"], name="unique_passage_lexeme")]

    def __str__(self) -> str:
        return f"{self.lexeme}: {self.ndoc}"


class ApiKey(models.Model):
    """A bot builder's key for the integration API. Only a hash is stored; the key is shown once."""

    PREFIX = "gck_"

    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100)
    lookup = models.CharField(max_length=16, unique=True)  # the first characters, to find the row
    key_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["assistant", "-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.PREFIX}{self.lookup}…)"

    @staticmethod
    def hash(raw_key: str) -> str:
        # The key is 32 random bytes: a fast hash is enough (no dictionary to attack).
        return hashlib.sha256(raw_key.encode()).hexdigest()
