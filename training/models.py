"""gradcap's own training service: the base models a school registers, and the jobs its training
hosts run. Seen from `finetune`, this is one more provider with a job API (`finetune/selfhosted.py`);
the jobs keep what a provider keeps — status, events, checkpoints, the trained adapter."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from llm.models import Provider


class BaseModel(models.Model):
    """An open model that training hosts can fine-tune, registered by an admin (whose form checks
    that it loads: `training.forms.BaseModelForm`)."""

    provider = models.ForeignKey(
        Provider,
        on_delete=models.CASCADE,
        related_name="base_models",
        limit_choices_to={"kind": Provider.Kind.SELF_HOSTED},
        verbose_name=_("provider"),
    )
    name = models.CharField(
        _("name"),
        max_length=100,
        help_text=_("What curators choose and trained models are named after, e.g. SmolLM2-135M-Instruct."),
    )
    source = models.CharField(
        _("model directory or hub id"),
        max_length=500,
        help_text=_(
            "A directory on the training hosts (the same path on each), or a Hugging Face hub id such as "
            "Qwen/Qwen2.5-1.5B-Instruct that the hosts download."
        ),
    )
    revision = models.CharField(
        _("revision"), max_length=100, blank=True, help_text=_("For a hub id: the commit, tag or branch to train.")
    )
    chat_template = models.TextField(
        _("chat template"),
        blank=True,
        help_text=_("A Jinja chat template that replaces the tokenizer's own. Leave empty to use the model's."),
    )
    context_length = models.PositiveIntegerField(
        _("context length"),
        null=True,
        blank=True,
        help_text=_("Tokens the model reads at most. Leave empty to take it from the model's configuration."),
    )
    hosts = models.CharField(
        _("training hosts"),
        max_length=500,
        blank=True,
        help_text=_(
            "Comma-separated names of the training hosts that have this model (their TRAINING_HOST_NAME); empty: all."
        ),
    )
    multimodal = models.BooleanField(_("sees images"), default=False)
    is_active = models.BooleanField(_("offered"), default=True, help_text=_("Offered on the start-training page."))
    architecture = models.CharField(_("architecture"), max_length=100, blank=True, editable=False)
    parameters = models.PositiveBigIntegerField(_("parameters"), null=True, blank=True, editable=False)
    fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    checked_at = models.DateTimeField(_("checked"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("base model")
        verbose_name_plural = _("base models")
        ordering = ["provider", "name"]
        constraints = [models.UniqueConstraint(fields=["provider", "name"], name="base_model_name_once")]

    def __str__(self) -> str:
        return self.name

    @property
    def host_names(self) -> list[str]:
        return [host.strip() for host in self.hosts.split(",") if host.strip()]

    def is_on_host(self, host: str) -> bool:
        return not self.host_names or host in self.host_names


def new_job_id() -> str:
    return f"trainjob-{uuid.uuid4().hex[:24]}"


class TrainingJob(models.Model):
    """One training run on a training host, in the shape of a provider's fine-tuning job."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        PAUSING = "pausing", _("pausing")
        PAUSED = "paused", _("paused")
        CANCELLING = "cancelling", _("cancelling")
        CANCELLED = "cancelled", _("cancelled")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)
    # A host works on these; the others wait for a host (queued) or a person (paused).
    IN_HAND = (Status.RUNNING, Status.PAUSING, Status.CANCELLING)

    public_id = models.CharField(max_length=40, unique=True, default=new_job_id, editable=False)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+")
    base_model = models.ForeignKey(BaseModel, on_delete=models.PROTECT, related_name="jobs")
    continued_from = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="continuations"
    )
    method = models.CharField(max_length=16)  # llm.catalog.SFT or DPO
    training_file_id = models.CharField(max_length=100)
    validation_file_id = models.CharField(max_length=100, blank=True)
    hyperparameters = models.JSONField(default=dict)  # resolved: every value set (see hyperparameters.py)
    suffix = models.CharField(max_length=64, blank=True)
    run_key = models.CharField(max_length=100, blank=True, db_index=True)  # the run's metadata, as at OpenAI
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    error_code = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)  # in plain words (training/messages.py)
    error_detail = models.TextField(blank=True)  # the trainer's own words
    log_tail = models.TextField(blank=True)
    log_file = models.CharField(max_length=300, blank=True)  # storage name of the whole log
    # The host that holds the job, and its heartbeat: a job whose heartbeat is fresh has a live
    # runner; one whose heartbeat is stale lost it (host restart, worker killed) and is taken again.
    host = models.CharField(max_length=200, blank=True)
    trainer_pid = models.PositiveIntegerField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # trainer starts, resumptions included
    device = models.CharField(max_length=32, blank=True)
    step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    trained_tokens = models.PositiveBigIntegerField(null=True, blank=True)
    tokens_per_second = models.FloatField(null=True, blank=True)
    compute_seconds = models.FloatField(default=0)  # wall time of the trainer, all attempts together
    estimated_finish = models.DateTimeField(null=True, blank=True)
    fine_tuned_model = models.CharField(max_length=300, blank=True)
    adapter_path = models.CharField(max_length=300, blank=True)  # storage prefix of the adapter's files
    manifest = models.JSONField(default=dict, blank=True)
    merge_status = models.CharField(max_length=16, blank=True)  # "", queued, running, done, failed
    merged_path = models.CharField(max_length=300, blank=True)
    merge_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)  # last time its task was queued
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("training job")
        verbose_name_plural = _("training jobs")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status"], name="training_job_status")]

    def __str__(self) -> str:
        return self.public_id


class TrainingEvent(models.Model):
    """The job's log, as a provider keeps it; `finetune` copies it into the run's events.

    Our own messages keep their untranslated text and its parameters in `data` ("msgid",
    "params"), so that the run page shows them in the reader's language."""

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True)
    level = models.CharField(max_length=8, default="info")
    type = models.CharField(max_length=16, default="message")
    message = models.TextField()
    data = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["job", "pk"]

    def __str__(self) -> str:
        return self.message


class TrainingCheckpoint(models.Model):
    """A resumable state of the job (adapter, optimizer, scheduler, step), kept in storage so that
    another host can go on from it."""

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="checkpoints")
    step = models.PositiveIntegerField()
    metrics = models.JSONField(default=dict, blank=True)
    path = models.CharField(max_length=300)  # storage prefix
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "step"]
        constraints = [models.UniqueConstraint(fields=["job", "step"], name="training_checkpoint_once")]

    def __str__(self) -> str:
        return f"{self.job} @ {self.step}"
