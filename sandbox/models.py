"""The sandbox's world, in the database so that every process (web, worker, test servers) sees it.

Each object has a database key (ordering, cursors) and the public id that the API shows
("file-…", "ftjob-…", "vs_…"), generated like OpenAI's.
"""

import secrets
import string

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 24) -> str:
    """A public id such as "file-3kQ…" (OpenAI's ids are a prefix and random letters and digits)."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def unix(moment) -> int | None:
    """Seconds since the epoch, as the API shows times."""
    return int(moment.timestamp()) if moment else None


class File(models.Model):
    class Purpose(models.TextChoices):
        FINE_TUNE = "fine-tune", "fine-tune"
        ASSISTANTS = "assistants", "assistants"
        USER_DATA = "user_data", "user_data"
        FINE_TUNE_RESULTS = "fine-tune-results", "fine-tune-results"

    public_id = models.CharField(_("id"), max_length=64, unique=True)
    filename = models.CharField(_("file name"), max_length=255)
    purpose = models.CharField(_("purpose"), max_length=32, choices=Purpose.choices)
    content = models.BinaryField(_("content"))
    size = models.PositiveBigIntegerField(_("bytes"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("sandbox file")
        verbose_name_plural = _("sandbox files")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.filename})"


class FineTuningJob(models.Model):
    class Status(models.TextChoices):
        VALIDATING_FILES = "validating_files", "validating_files"
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        PAUSED = "paused", "paused"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"
        CANCELLED = "cancelled", "cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    public_id = models.CharField(_("id"), max_length=64, unique=True)
    model = models.CharField(_("base model"), max_length=200)
    organization = models.CharField(_("organisation"), max_length=100)
    training_file = models.CharField(_("training file"), max_length=64)
    validation_file = models.CharField(_("validation file"), max_length=64, blank=True)
    suffix = models.CharField(_("suffix"), max_length=64, blank=True)
    seed = models.BigIntegerField(_("seed"))
    metadata = models.JSONField(_("metadata"), null=True, blank=True)
    method = models.JSONField(_("method"))  # with the hyperparameters resolved ("auto" → numbers)
    status = models.CharField(_("status"), max_length=32, choices=Status.choices)
    # Decided when the job is created, shown when the (simulated) validation step ends.
    error = models.JSONField(_("error"), null=True, blank=True)
    # What a tuned model answers from: [{"prompt": user turns, "answer": assistant turn}].
    examples = models.JSONField(_("training examples"), default=list)
    tokens_per_epoch = models.PositiveBigIntegerField(_("tokens per epoch"), default=0)
    total_steps = models.PositiveIntegerField(_("total steps"), default=0)
    steps_done = models.PositiveIntegerField(_("steps done"), default=0)
    # The pace is fixed when the job is created, so processes with other settings agree on it.
    duration_seconds = models.FloatField(_("duration (seconds)"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    paused_at = models.DateTimeField(_("paused"), null=True, blank=True)
    paused_seconds = models.FloatField(_("paused for (seconds)"), default=0)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    fine_tuned_model = models.CharField(_("fine-tuned model"), max_length=300, blank=True, db_index=True)
    trained_tokens = models.PositiveBigIntegerField(_("trained tokens"), null=True, blank=True)
    result_file = models.CharField(_("result file"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("sandbox fine-tuning job")
        verbose_name_plural = _("sandbox fine-tuning jobs")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return self.public_id


class FineTuningEvent(models.Model):
    job = models.ForeignKey(FineTuningJob, on_delete=models.CASCADE, related_name="events")
    # Names the moment of the timeline ("queued", "step-12"): two processes advancing the same
    # job at once cannot record an event twice.
    key = models.CharField(max_length=64)
    public_id = models.CharField(_("id"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"))
    level = models.CharField(_("level"), max_length=8, default="info")
    type = models.CharField(_("type"), max_length=16, default="message")
    message = models.TextField(_("message"))
    data = models.JSONField(_("data"), null=True, blank=True)

    class Meta:
        verbose_name = _("sandbox fine-tuning event")
        verbose_name_plural = _("sandbox fine-tuning events")
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["job", "key"], name="sandbox_event_once")]

    def __str__(self) -> str:
        return self.message


class FineTuningCheckpoint(models.Model):
    job = models.ForeignKey(FineTuningJob, on_delete=models.CASCADE, related_name="checkpoints")
    public_id = models.CharField(_("id"), max_length=64, unique=True)
    step_number = models.PositiveIntegerField(_("step"))
    metrics = models.JSONField(_("metrics"))
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("sandbox fine-tuning checkpoint")
        verbose_name_plural = _("sandbox fine-tuning checkpoints")
        ordering = ["-step_number"]
        constraints = [models.UniqueConstraint(fields=["job", "step_number"], name="sandbox_checkpoint_once")]

    def __str__(self) -> str:
        return self.public_id


class Conversation(models.Model):
    public_id = models.CharField(_("id"), max_length=64, unique=True)
    metadata = models.JSONField(_("metadata"), default=dict)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("sandbox conversation")
        verbose_name_plural = _("sandbox conversations")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return self.public_id


class ConversationItem(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="items")
    # Not unique: clients may send back items (with their ids) that a response gave them.
    public_id = models.CharField(_("id"), max_length=64, db_index=True)
    data = models.JSONField(_("item"))  # as the API shows it, including its id

    class Meta:
        verbose_name = _("sandbox conversation item")
        verbose_name_plural = _("sandbox conversation items")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.public_id


class Response(models.Model):
    public_id = models.CharField(_("id"), max_length=64, unique=True)
    model = models.CharField(_("model"), max_length=300)
    status = models.CharField(_("status"), max_length=32)
    data = models.JSONField(_("response"))  # the response object as the API shows it
    # Every item of the exchange so far (earlier turns, this input, this output), which a
    # response chained by previous_response_id continues from.
    context = models.JSONField(_("context"), default=list)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("sandbox response")
        verbose_name_plural = _("sandbox responses")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return self.public_id


class VectorStore(models.Model):
    public_id = models.CharField(_("id"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=300, blank=True)
    metadata = models.JSONField(_("metadata"), null=True, blank=True)
    expires_after = models.JSONField(_("expires after"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("sandbox vector store")
        verbose_name_plural = _("sandbox vector stores")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.name})"


class VectorStoreFile(models.Model):
    class Status(models.TextChoices):
        COMPLETED = "completed", "completed"
        FAILED = "failed", "failed"

    vector_store = models.ForeignKey(VectorStore, on_delete=models.CASCADE, related_name="files")
    file = models.ForeignKey(File, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    last_error = models.JSONField(_("last error"), null=True, blank=True)
    attributes = models.JSONField(_("attributes"), null=True, blank=True)
    chunking_strategy = models.JSONField(_("chunking strategy"))
    usage_bytes = models.PositiveBigIntegerField(_("bytes"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("sandbox vector store file")
        verbose_name_plural = _("sandbox vector store files")
        ordering = ["-pk"]
        constraints = [models.UniqueConstraint(fields=["vector_store", "file"], name="sandbox_file_once_per_store")]

    def __str__(self) -> str:
        return self.file.public_id


class Chunk(models.Model):
    store_file = models.ForeignKey(VectorStoreFile, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    text = models.TextField()

    class Meta:
        ordering = ["store_file", "index"]

    def __str__(self) -> str:
        return self.text[:50]


class FileBatch(models.Model):
    vector_store = models.ForeignKey(VectorStore, on_delete=models.CASCADE, related_name="batches")
    public_id = models.CharField(_("id"), max_length=64, unique=True)
    file_ids = models.JSONField(_("files"), default=list)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("sandbox file batch")
        verbose_name_plural = _("sandbox file batches")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return self.public_id


class FaultCounter(models.Model):
    """How many requests of a named fault series (X-Sandbox-Fault: …;key=…) arrived so far."""

    key = models.CharField(max_length=200, unique=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("sandbox fault counter")
        verbose_name_plural = _("sandbox fault counters")

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"


class LoraAdapter(models.Model):
    """A LoRA adapter loaded at runtime, as vLLM's /v1/load_lora_adapter does (a restarted vLLM has
    forgotten them all: delete the rows to play that). Requests name it as their model."""

    name = models.CharField(max_length=300, unique=True)
    path = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("sandbox LoRA adapter")
        verbose_name_plural = _("sandbox LoRA adapters")

    def __str__(self) -> str:
        return self.name
