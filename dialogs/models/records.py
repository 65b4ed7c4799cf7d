from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.utils.translation import gettext_lazy as _

from assistants.models import Assistant, InstructionsVersion
from courses.models import Course
from llm.models import Provider


class Dialog(models.Model):
    """A recorded conversation with an assistant. Our rows are the source of truth for history."""

    class Source(models.TextChoices):
        CHAT = "chat", _("chat")
        PLAYGROUND = "playground", _("playground")
        API = "api", _("API")

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="dialogs", verbose_name=_("course"))
    assistant = models.ForeignKey(
        Assistant, on_delete=models.SET_NULL, null=True, related_name="dialogs", verbose_name=_("assistant")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dialogs",
        verbose_name=_("user"),
    )
    external_user_id = models.CharField(_("external user id"), max_length=200, blank=True)
    api_key = models.ForeignKey(
        "assistants.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="dialogs"
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.CHAT)
    title = models.CharField(_("title"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last message"), auto_now=True)
    # Kept up to date by the services that change them (dialogs.records.counters), so the dialogs page
    # filters and sorts on the dialog row alone, without touching the messages table.
    message_count = models.PositiveIntegerField(_("messages"), default=0)
    feedback_up = models.PositiveIntegerField(_("👍 answers"), default=0)
    feedback_down = models.PositiveIntegerField(_("👎 answers"), default=0)
    model = models.CharField(_("model"), max_length=200, blank=True, help_text=_("The model of the last answer."))
    example_count = models.PositiveIntegerField(_("examples"), default=0)
    # Triage (dialogs.records.triage): a bit per sign that the dialog is worth curating, their weights
    # summed, and whether the worker's sweep has still to read the dialog's latest messages.
    flags = models.PositiveIntegerField(_("flags"), default=0)
    triage_score = models.PositiveSmallIntegerField(_("worth curating"), default=0)
    triage_due = models.BooleanField(_("flags to compute"), default=True)

    class Meta:
        verbose_name = _("dialog")
        verbose_name_plural = _("dialogs")
        ordering = ["-updated_at"]
        indexes = [
            # The dialogs page's sorts; the id breaks ties so that pages never overlap.
            models.Index(fields=["course", "-updated_at", "-id"], name="dialog_course_recent"),
            models.Index(fields=["course", "-created_at", "-id"], name="dialog_course_started"),
            models.Index(fields=["course", "-message_count", "-id"], name="dialog_course_longest"),
            models.Index(fields=["user", "-updated_at"], name="dialog_user_recent"),
            models.Index(fields=["course", "-triage_score", "-id"], name="dialog_course_worth"),
            # The sweep's queue: only the few dialogs whose flags are due.
            models.Index(fields=["id"], condition=models.Q(triage_due=True), name="dialog_triage_due"),
        ]

    def __str__(self) -> str:
        return self.title or f"#{self.pk}"


class Message(models.Model):
    class Role(models.TextChoices):
        USER = "user", _("user")
        ASSISTANT = "assistant", _("assistant")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        STREAMING = "streaming", _("writing")
        COMPLETE = "complete", _("complete")
        STOPPED = "stopped", _("stopped")
        FAILED = "failed", _("failed")

    class Feedback(models.IntegerChoices):
        UP = 1, "👍"
        DOWN = -1, "👎"

    dialog = models.ForeignKey(Dialog, on_delete=models.CASCADE, related_name="messages")
    position = models.PositiveIntegerField(_("position"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    content = models.TextField(_("content"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.COMPLETE)
    error = models.TextField(_("error"), blank=True)  # for the learner
    error_detail = models.TextField(_("error detail"), blank=True)  # the provider's own words, for curators
    # What the assistant did to answer (assistant messages).
    tool_calls = models.JSONField(_("tool calls"), default=list, blank=True)
    citations = models.JSONField(_("citations"), default=list, blank=True)
    search_results = models.JSONField(_("retrieved passages"), default=list, blank=True)
    # gradcap's search in context mode: the question as the model got it, with the passages.
    question_sent = models.TextField(_("question as sent, with passages"), blank=True)
    raw_events = models.JSONField(_("raw events"), default=list, blank=True)  # playground only
    model = models.CharField(_("model"), max_length=200, blank=True)
    wire_api = models.CharField(_("wire API"), max_length=32, choices=Provider.WireApi.choices, blank=True)
    instructions_version = models.ForeignKey(
        InstructionsVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    input_tokens = models.PositiveIntegerField(_("input tokens"), null=True, blank=True)
    output_tokens = models.PositiveIntegerField(_("output tokens"), null=True, blank=True)
    first_token_ms = models.PositiveIntegerField(_("first token (ms)"), null=True, blank=True)
    total_ms = models.PositiveIntegerField(_("total time (ms)"), null=True, blank=True)
    feedback = models.SmallIntegerField(_("feedback"), choices=Feedback.choices, null=True, blank=True)
    # How many images the question carries (user messages): the history and the transcript read
    # the images only where there are some.
    image_count = models.PositiveSmallIntegerField(_("images"), default=0)
    # "Edit and regenerate" keeps the old turn: it is replaced, not deleted.
    replaced_at = models.DateTimeField(_("replaced"), null=True, blank=True)
    replaces = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replaced_by", verbose_name=_("edit of")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["dialog", "position"]
        constraints = [models.UniqueConstraint(fields=["dialog", "position"], name="unique_message_position")]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.content[:60]}"

    @property
    def is_active(self) -> bool:
        return self.replaced_at is None

    @property
    def is_open(self) -> bool:
        """Still being written: the page connects to its stream."""
        return self.status in (self.Status.PENDING, self.Status.STREAMING)

    @property
    def sources(self) -> list[dict]:
        """The cited files (or passages) as numbered footnotes, once each."""
        seen: dict[int, dict] = {}
        for citation in self.citations or []:
            seen.setdefault(
                citation["number"],
                {
                    "number": citation["number"],
                    "filename": citation["filename"],
                    "place": citation.get("place", ""),
                    "quote": citation.get("quote", ""),
                    "passage_id": citation.get("passage_id"),
                },
            )
        return [seen[number] for number in sorted(seen)]


def chat_images_storage():
    """Where the chat's images are kept: STORAGES["chat_images"], never served at a public URL
    (dialogs.chat.views.message_image serves them to those who may read the dialog)."""
    return storages["chat_images"]


class MessageImage(models.Model):
    """An image a question carries: checked and stripped of metadata (core.images.clean_image),
    with a thumbnail for transcripts. An edited question keeps its images: the new question's rows
    name the same files, which are deleted with the last row that names them."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveSmallIntegerField(_("position"))
    file = models.FileField(_("image"), storage=chat_images_storage, max_length=200)
    thumbnail = models.FileField(_("thumbnail"), storage=chat_images_storage, max_length=200)
    media_type = models.CharField(_("media type"), max_length=32)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    size = models.PositiveIntegerField(_("size (bytes)"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("image")
        verbose_name_plural = _("images")
        ordering = ["message", "position"]
        constraints = [models.UniqueConstraint(fields=["message", "position"], name="unique_message_image_position")]

    def __str__(self) -> str:
        return f"{self.width}×{self.height} {self.media_type}"

    def read(self) -> bytes:
        # Through chat_images_storage(), not self.file.storage: the field's storage is the one of
        # the moment the model was defined.
        with chat_images_storage().open(self.file.name, "rb") as stored:
            return stored.read()
