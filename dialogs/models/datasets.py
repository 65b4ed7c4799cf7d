import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from assistants.models import Assistant
from courses.models import Course
from trainingfiles.vision import content_text

from .records import Dialog, Message


class Dataset(models.Model):
    """A course's collection of fine-tuning examples, curated from its dialogs (or imported)."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="datasets", verbose_name=_("course"))
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    assistant = models.ForeignKey(
        Assistant,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="datasets",
        verbose_name=_("assistant"),
        help_text=_("Examples without a system message of their own use this assistant's current instructions."),
    )
    base_model = models.CharField(
        _("base model"),
        max_length=200,
        blank=True,
        help_text=_("The model you plan to tune: its training token limit is checked."),
    )
    validation_percent = models.PositiveSmallIntegerField(
        _("validation share (%)"),
        default=10,
        help_text=_("Examples not assigned by hand are split between training and validation by this share."),
    )
    # The stored checks of its examples (dialogs.datasets.checks): the digest of the system message they
    # were checked with ("" before the first full check); while a re-validation runs, the last
    # example it checked (0 at its start) and how many examples it has to check.
    checks_system = models.CharField(max_length=64, blank=True, editable=False)
    checks_upto = models.BigIntegerField(null=True, blank=True, editable=False)
    checks_total = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("dataset")
        verbose_name_plural = _("datasets")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["course", "name"], name="unique_dataset_name_per_course")]

    def __str__(self) -> str:
        return self.name

    def system_prompt(self) -> str:
        """What an example without its own system message starts with."""
        return self.assistant.instructions if self.assistant else ""


class Example(models.Model):
    """One training example: a copy of (part of) a dialog, or an imported line, edited by curators.

    `messages` holds OpenAI chat messages without the system message: `{"role", "content"}` plus,
    where they apply, `weight` (0/1, assistant), `tool_calls` (assistant), `tool_call_id` (tool)
    and `original` (assistant: the answer as recorded before a curator rewrote it; it becomes the
    non-preferred output of a DPO pair). `system` is used instead of the dataset's assistant's
    instructions when `system_overridden` is set. `version` grows with every change; an edit made
    against an older version is a conflict.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        READY = "ready", _("ready")

    class Split(models.TextChoices):
        AUTO = "", _("automatic")
        TRAIN = "train", _("training")
        VALIDATION = "validation", _("validation")

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="examples", verbose_name=_("dataset"))
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    split = models.CharField(_("split"), max_length=16, choices=Split.choices, default=Split.AUTO, blank=True)
    messages = models.JSONField(_("messages"), default=list)
    system = models.TextField(_("system message"), blank=True)
    system_overridden = models.BooleanField(_("own system message"), default=False)
    tools = models.JSONField(_("tools"), default=list, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    # Where it came from; the dialog itself is never changed.
    source_dialog = models.ForeignKey(
        Dialog, on_delete=models.SET_NULL, null=True, blank=True, related_name="examples", verbose_name=_("dialog")
    )
    source_message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("cut at")
    )
    # Kept up to date by the services on every save: the dataset page reads them without re-counting.
    token_count = models.PositiveIntegerField(_("tokens"), default=0)
    error_count = models.PositiveIntegerField(_("errors"), default=0)
    warning_count = models.PositiveIntegerField(_("warnings"), default=0)
    # The rest of its stored checks (dialogs.datasets.checks); its issues are ExampleIssue rows.
    assistant_tokens = models.PositiveIntegerField(default=0, editable=False)
    message_count = models.PositiveIntegerField(default=0, editable=False)
    kind = models.CharField(max_length=16, blank=True, editable=False)  # llm.catalog.SFT or DPO; "" unrecognisable
    pair_count = models.PositiveIntegerField(default=0, editable=False)  # preference pairs it gives
    image_count = models.PositiveIntegerField(default=0, editable=False)  # image parts of its messages
    # Equal for equal examples / for examples with the same words; None when it has errors.
    exact_fingerprint = models.BigIntegerField(null=True, blank=True, editable=False)
    near_fingerprint = models.BigIntegerField(null=True, blank=True, editable=False)
    # dialogs.datasets.lines.split_draw
    split_draw = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("example")
        verbose_name_plural = _("examples")
        ordering = ["dataset", "pk"]
        indexes = [
            models.Index(fields=["source_dialog"], name="example_source_dialog"),
            # Covering indexes: the dataset page's counts, statistics and duplicates read them
            # alone, never the rows with their messages (a table ~50 times their size).
            models.Index(
                fields=[
                    "dataset",
                    "status",
                    "split",
                    "split_draw",
                    "token_count",
                    "assistant_tokens",
                    "message_count",
                    "pair_count",
                    "kind",
                    "error_count",
                    "warning_count",
                    "id",
                ],
                name="example_checks",
            ),
            models.Index(
                fields=["dataset", "status", "near_fingerprint", "exact_fingerprint", "id"],
                name="example_fingerprints",
            ),
            # The examples with issues of their own: the page's "with issues" filter and its count.
            models.Index(
                fields=["dataset", "id"],
                name="example_flagged",
                condition=models.Q(error_count__gt=0) | models.Q(warning_count__gt=0),
            ),
        ]

    def __str__(self) -> str:
        first = next((m.get("content") for m in self.messages if m.get("role") == "user"), "")
        return content_text(first)[:60] or f"#{self.pk}"

    # What the dataset's tallies count (dialogs.datasets.tallies).
    TALLIED = (
        "dataset_id",
        "status",
        "split",
        "split_draw",
        "token_count",
        "assistant_tokens",
        "message_count",
        "pair_count",
        "kind",
        "near_fingerprint",
        "image_count",
    )

    @classmethod
    def from_db(cls, db, field_names, values, *, fetch_mode=None):
        """Remember what the row held when read: saving it moves the dataset's tallies from that
        to the new state."""
        example = super().from_db(db, field_names, values, fetch_mode=fetch_mode)
        example.stored = {name: value for name, value in zip(field_names, values, strict=True) if name in cls.TALLIED}
        return example


class ExampleIssue(models.Model):
    """One finding of an example's own checks (trainingfiles.validation), stored whenever the
    example changes, so the dataset page counts and lists them without validating again. Its
    message is made again, in the reader's language, when a page shows it."""

    example = models.ForeignKey(Example, on_delete=models.CASCADE, related_name="issues")
    # The example's, when the issue was stored (with every change of the example): the report
    # reads the ready examples' issues without a join.
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    ready = models.BooleanField()
    position = models.PositiveSmallIntegerField()  # among the example's issues, in the order found
    code = models.CharField(max_length=40)
    severity = models.CharField(max_length=8)
    message_index = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["example", "position"]
        constraints = [models.UniqueConstraint(fields=["example", "position"], name="unique_example_issue")]
        indexes = [
            models.Index(fields=["dataset", "ready", "code", "example", "position"], name="example_issue_report")
        ]

    def __str__(self) -> str:
        return f"{self.example_id}: {self.code}"


class DatasetTally(models.Model):
    """How many of a dataset's ready examples have each value of a stored check (the token counts,
    the kind, the split), and how many issues of each code: kept up to date by the services that
    change examples (dialogs.datasets.tallies), so that the dataset page reads the whole dataset's figures
    from a few thousand rows instead of scanning every example."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    measure = models.CharField(max_length=64)  # "token_count", "kind:dpo", "split:auto", "issue:pii_email:warning"…
    value = models.BigIntegerField()  # 0 where the measure names the value
    count = models.IntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "measure", "value"], name="unique_dataset_tally")]

    def __str__(self) -> str:
        return f"{self.dataset_id} {self.measure}={self.value}: {self.count}"


class DatasetFingerprint(models.Model):
    """How many of a dataset's ready examples have each near-duplicate fingerprint (kept with the
    tallies): the shared ones hold every duplicate."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="+")
    fingerprint = models.BigIntegerField()
    count = models.IntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "fingerprint"], name="unique_dataset_fingerprint")]
        indexes = [
            models.Index(
                fields=["dataset", "fingerprint"], name="dataset_fingerprint_shared", condition=models.Q(count__gt=1)
            )
        ]

    def __str__(self) -> str:
        return f"{self.dataset_id} {self.fingerprint}: {self.count}"


class ExampleRevision(models.Model):
    """Every change to an example, with who made it and the example as it was after it."""

    example = models.ForeignKey(Example, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField(_("version"))
    summary = models.CharField(_("change"), max_length=200)
    messages = models.JSONField(_("messages"), default=list)
    system = models.TextField(_("system message"), blank=True)
    system_overridden = models.BooleanField(default=False)
    status = models.CharField(_("status"), max_length=16, choices=Example.Status.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("example revision")
        verbose_name_plural = _("example revisions")
        ordering = ["example", "-version"]
        constraints = [models.UniqueConstraint(fields=["example", "version"], name="unique_example_revision")]

    def __str__(self) -> str:
        return f"{self.example_id} v{self.version}: {self.summary}"


def transfer_upload_to(instance: "Transfer", filename: str) -> str:
    # A random folder per file: names are never guessed, and two uploads of "data.jsonl" never collide.
    return f"transfers/{instance.dataset.course_id}/{instance.dataset_id}/{secrets.token_hex(8)}/{filename}"


class Transfer(models.Model):
    """An import into a dataset or an export of it, with its file and progress.

    An import's uploaded file waits here between the preview and the confirmation; an export
    that runs in the background leaves its file here for download. Views reach a transfer only
    through its dataset (and so its course).
    """

    class Kind(models.TextChoices):
        IMPORT = "import", _("import")
        EXPORT = "export", _("export")

    class Format(models.TextChoices):
        SUPERVISED = "supervised", _("OpenAI chat (supervised)")
        DPO = "dpo", _("OpenAI preference pairs (DPO)")
        HF_CHAT = "hf_chat", _("Hugging Face chat")
        CSV = "csv", _("CSV (question, answer, system)")

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("waiting for confirmation")
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="transfers", verbose_name=_("dataset"))
    format = models.CharField(_("format"), max_length=16, choices=Format.choices)
    split = models.CharField(_("split"), max_length=16, blank=True)  # exports: "" (all), train or validation
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(_("done"), default=0)
    total = models.PositiveIntegerField(_("total"), default=0)
    file = models.FileField(_("file"), upload_to=transfer_upload_to, max_length=300, blank=True)
    name = models.CharField(_("file name"), max_length=255, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("import or export")
        verbose_name_plural = _("imports and exports")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name or self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(100, self.done * 100 // self.total) if self.total else 0
