import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from assistants.models import Assistant
from core.images import is_data_url
from courses.models import Course
from dialogs.models import Dataset
from llm.models import Provider
from trainingfiles.vision import content_images, content_text


class Method(models.TextChoices):
    SFT = "supervised", _("supervised")
    DPO = "dpo", _("preference pairs (DPO)")


def snapshot_upload_to(instance: "Snapshot", filename: str) -> str:
    return f"snapshots/{instance.course_id}/{instance.key}/{filename}"


class Snapshot(models.Model):
    """What a run trains on, frozen when training starts: later dataset edits never change it.

    Rows are written once (see `save`); the files are content-addressed by their sha256.
    """

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="snapshots", verbose_name=_("course"))
    dataset = models.ForeignKey(
        Dataset, on_delete=models.SET_NULL, null=True, blank=True, related_name="snapshots", verbose_name=_("dataset")
    )
    dataset_name = models.CharField(_("dataset"), max_length=100)
    method = models.CharField(_("method"), max_length=16, choices=Method.choices)
    assistant = models.ForeignKey(Assistant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    instructions = models.TextField(_("instructions in force"), blank=True)
    training_file = models.FileField(_("training file"), upload_to=snapshot_upload_to, max_length=300)
    training_sha256 = models.CharField(max_length=64)
    training_examples = models.PositiveIntegerField(_("training examples"))
    training_tokens = models.PositiveIntegerField(_("training tokens"))
    validation_file = models.FileField(_("validation file"), upload_to=snapshot_upload_to, max_length=300, blank=True)
    validation_sha256 = models.CharField(max_length=64, blank=True)
    validation_examples = models.PositiveIntegerField(_("validation examples"), default=0)
    validation_tokens = models.PositiveIntegerField(_("validation tokens"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("frozen"), auto_now_add=True)

    class Meta:
        verbose_name = _("snapshot")
        verbose_name_plural = _("snapshots")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.dataset_name} @ {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("A snapshot never changes once frozen.")
        super().save(*args, **kwargs)


class Run(models.Model):
    """One fine-tuning job at one provider, from one snapshot."""

    class Status(models.TextChoices):
        NOT_SUBMITTED = "not_submitted", _("not submitted")
        VALIDATING = "validating", _("validating")
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        PAUSED = "paused", _("paused")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    ACTIVE = (Status.VALIDATING, Status.QUEUED, Status.RUNNING, Status.PAUSED)
    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # in the job's metadata
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="runs", verbose_name=_("course"))
    dataset = models.ForeignKey(
        Dataset, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs", verbose_name=_("dataset")
    )
    snapshot = models.ForeignKey(Snapshot, on_delete=models.PROTECT, related_name="runs", verbose_name=_("snapshot"))
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+", verbose_name=_("provider"))
    base_model = models.CharField(_("base model"), max_length=200)
    method = models.CharField(_("method"), max_length=16, choices=Method.choices, default=Method.SFT)
    hyperparameters = models.JSONField(_("hyperparameters"), default=dict, blank=True)  # missing = auto
    suffix = models.CharField(_("suffix"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.NOT_SUBMITTED)
    provider_status = models.CharField(max_length=32, blank=True)  # the provider's own word
    # Stored the moment each is obtained: a retried submission continues where it stopped.
    training_file_id = models.CharField(max_length=100, blank=True)
    validation_file_id = models.CharField(max_length=100, blank=True)
    job_id = models.CharField(_("job id"), max_length=100, blank=True)
    error = models.TextField(_("error"), blank=True)
    sync_error = models.TextField(_("last refresh problem"), blank=True)
    trained_tokens = models.PositiveBigIntegerField(_("trained tokens"), null=True, blank=True)
    resolved_hyperparameters = models.JSONField(default=dict, blank=True)  # what the provider chose for auto
    step = models.PositiveIntegerField(_("step"), default=0)
    total_steps = models.PositiveIntegerField(_("steps"), default=0)
    estimated_finish = models.DateTimeField(_("estimated finish"), null=True, blank=True)
    fine_tuned_model = models.CharField(_("fine-tuned model"), max_length=300, blank=True)
    last_event_id = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    synced_at = models.DateTimeField(_("last refreshed"), null=True, blank=True)
    # The submission task's claim: a second task leaves a live claim alone (core/background.py).
    claimed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("fine-tuning run")
        verbose_name_plural = _("fine-tuning runs")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status"], name="run_status")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.base_model}"

    def get_absolute_url(self) -> str:
        return reverse("finetune:run", args=[self.course.slug, self.pk])

    @property
    def is_active(self) -> bool:
        """The page keeps refreshing itself while this holds."""
        return self.status in self.ACTIVE or (self.status == self.Status.NOT_SUBMITTED and not self.error)

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        return round(self.step * 100 / self.total_steps) if self.total_steps else 0


class RunEvent(models.Model):
    """The provider's log of a job, copied as it arrives."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events")
    provider_id = models.CharField(max_length=100)
    created_at = models.DateTimeField(_("when"))
    level = models.CharField(_("level"), max_length=8, default="info")
    type = models.CharField(_("type"), max_length=16, default="message")
    message = models.TextField(_("message"))
    data = models.JSONField(null=True, blank=True)

    class Meta:
        verbose_name = _("run event")
        verbose_name_plural = _("run events")
        ordering = ["run", "-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["run", "provider_id"], name="run_event_once")]

    def __str__(self) -> str:
        return self.message


class MetricPoint(models.Model):
    """One step of the loss chart, from a metrics event."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="metrics")
    step = models.PositiveIntegerField()
    train_loss = models.FloatField(null=True, blank=True)
    valid_loss = models.FloatField(null=True, blank=True)
    train_accuracy = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["run", "step"]
        constraints = [models.UniqueConstraint(fields=["run", "step"], name="metric_step_once")]

    def __str__(self) -> str:
        return f"step {self.step}: {self.train_loss}"


class Checkpoint(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="checkpoints")
    provider_id = models.CharField(max_length=100)
    step = models.PositiveIntegerField(_("step"))
    model = models.CharField(_("model"), max_length=300)
    metrics = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoints")
        ordering = ["run", "step"]
        constraints = [models.UniqueConstraint(fields=["run", "provider_id"], name="checkpoint_once")]

    def __str__(self) -> str:
        return self.model


class TrainedModel(models.Model):
    """A succeeded run's model, ready to be activated for one of the course's assistants."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="trained_models")
    run = models.OneToOneField(Run, on_delete=models.CASCADE, related_name="trained_model")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+", verbose_name=_("provider"))
    name = models.CharField(_("model"), max_length=300)  # what the provider calls it
    base_model = models.CharField(_("base model"), max_length=200)
    created_at = models.DateTimeField(_("trained"), auto_now_add=True)

    class Meta:
        verbose_name = _("trained model")
        verbose_name_plural = _("trained models")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("finetune:model", args=[self.course.slug, self.pk])


class Activation(models.Model):
    """An assistant switched models: who, when, from what to what. Rollback is another activation."""

    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="activations")
    trained_model = models.ForeignKey(
        TrainedModel, on_delete=models.SET_NULL, null=True, blank=True, related_name="activations"
    )
    from_provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+")
    from_model = models.CharField(_("from model"), max_length=300)
    to_provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+")
    to_model = models.CharField(_("to model"), max_length=300)
    is_rollback = models.BooleanField(_("rollback"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("activation")
        verbose_name_plural = _("activations")
        ordering = ["assistant", "-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.assistant}: {self.from_model} → {self.to_model}"


class Evaluation(models.Model):
    """The snapshot's validation examples answered by the base and the tuned model, for blind review."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")
        RUNNING = "running", _("answering")
        DONE = "done", _("ready for review")
        FAILED = "failed", _("failed")

    trained_model = models.ForeignKey(TrainedModel, on_delete=models.CASCADE, related_name="evaluations")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)  # each answer touches it: the task is alive

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.trained_model} ({self.get_status_display()})"

    @property
    def progress_percent(self) -> int:
        return round(self.done * 100 / self.total) if self.total else 0

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.RUNNING)


class EvaluationItem(models.Model):
    class Verdict(models.TextChoices):
        TUNED = "tuned", _("tuned model")
        BASE = "base", _("base model")
        TIE = "tie", _("tie")

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    messages = models.JSONField(default=list)  # the conversation up to the answer
    expected = models.TextField(blank=True)
    base_answer = models.TextField(blank=True)
    tuned_answer = models.TextField(blank=True)
    answered = models.BooleanField(default=False)
    tuned_first = models.BooleanField(default=False)  # drawn per item: reviewers cannot tell which is which
    verdict = models.CharField(max_length=8, choices=Verdict.choices, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["evaluation", "position"]
        constraints = [models.UniqueConstraint(fields=["evaluation", "position"], name="evaluation_item_once")]

    def __str__(self) -> str:
        return f"{self.evaluation_id} #{self.position}"

    @property
    def conversation(self) -> list[dict]:
        """The messages as the review shows them: role, text, and a question's images (data URLs;
        one given by its address is not fetched)."""
        return [
            {
                "role": message.get("role", ""),
                "text": content_text(message.get("content")),
                "images": [
                    image.get("url")
                    for image in content_images(message.get("content"))
                    if is_data_url(image.get("url"))
                ],
            }
            for message in self.messages
        ]
