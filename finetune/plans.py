"""What training a dataset would mean, before anything is frozen: the lines of each split, their
validation report, token totals and the estimated cost. The start page shows it; `snapshot_create`
freezes exactly it."""

import dataclasses
import datetime
import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from dialogs.datasets.lines import dataset_rows
from dialogs.models import Dataset
from llm.catalog import DPO, SFT, ModelInfo, default_epochs, get_model
from llm.models import Provider
from training.hyperparameters import resolve
from training.models import TrainingJob
from training.services import base_model_for
from trainingfiles.formats import export_dpo, export_supervised
from trainingfiles.reports import ERROR, DatasetReport, Issue
from trainingfiles.stats import billable_tokens, training_cost
from trainingfiles.validation import MIN_EXAMPLES, validate_dataset
from trainingfiles.vision import example_has_images, image_examples_refusal

from .models import Run


@dataclass(frozen=True)
class Plan:
    method: str
    training_rows: list[dict]
    validation_rows: list[dict]
    training_report: DatasetReport
    validation_report: DatasetReport
    folded: int = 0  # validation examples trained on, because there were too few to validate with
    # Providers reject files of fewer than 10 examples; gradcap's own trainer takes any number.
    min_examples: int = MIN_EXAMPLES
    refusals: tuple[Issue, ...] = ()  # what the chosen provider refuses of these examples (`images_refusal`)

    @property
    def uses_validation(self) -> bool:
        """Providers reject a validation file of fewer than 10 examples (as a training file): with
        fewer, they are trained on instead and the page says so."""
        return len(self.validation_rows) >= self.min_examples

    @property
    def errors(self) -> list[Issue]:
        """What stops training: what the provider refuses, the training file's errors and the
        validation examples' own."""
        enough = len(self.training_rows) >= self.min_examples
        errors = [*self.refusals]
        errors += [
            issue
            for issue in self.training_report.all_issues()
            if issue.severity == ERROR and not (enough and issue.code == "too_few_examples")
        ]
        if self.uses_validation:
            for report in self.validation_report.examples:
                errors.extend(report.errors)
        return errors

    @property
    def is_blocked(self) -> bool:
        return bool(self.errors)

    @property
    def training_tokens(self) -> int:
        return sum(report.total_tokens for report in self.training_report.examples)

    @property
    def validation_tokens(self) -> int:
        return sum(report.total_tokens for report in self.validation_report.examples)

    def epochs(self, requested: int | None) -> int:
        return requested or default_epochs(len(self.training_rows))

    def billable_tokens(self, model: ModelInfo, epochs: int | None) -> int:
        counts = [report.total_tokens for report in self.training_report.examples]
        return billable_tokens(counts, limit=model.training_token_limit, epochs=self.epochs(epochs))

    def cost(self, model: ModelInfo, epochs: int | None) -> Decimal | None:
        if model.price_training is None:
            return None
        return training_cost(self.billable_tokens(model, epochs), price_per_million=model.price_training)

    def training_jsonl(self) -> bytes:
        return _jsonl(self.method, self.training_rows)

    def validation_jsonl(self) -> bytes:
        return _jsonl(self.method, self.validation_rows)


def _jsonl(method: str, rows: list[dict]) -> bytes:
    lines = export_dpo(rows) if method == DPO else export_supervised(rows)
    return b"".join(lines)


def _kind(method: str) -> str:
    return "dpo" if method == DPO else "sft"


def dataset_has_pairs(dataset: Dataset) -> bool:
    return next(iter(dataset_rows(dataset, kind="dpo")), None) is not None


def training_plan(
    *,
    dataset: Dataset,
    method: str = SFT,
    base_model: str = "",
    since: datetime.datetime | None = None,
    min_examples: int = MIN_EXAMPLES,
) -> Plan:
    """The ready examples of `dataset` as training and validation lines, checked for `base_model`;
    with `since`, only the examples curated after that moment (continued training). `min_examples`:
    the fewest examples a file may have (1 for self-hosted training)."""
    model = get_model(base_model) if base_model else None
    training = list(dataset_rows(dataset, kind=_kind(method), split="train", since=since))
    validation = list(dataset_rows(dataset, kind=_kind(method), split="validation", since=since))
    folded = 0
    if len(validation) < min_examples:
        # Too few to make a validation file: better trained on than left out.
        training, validation, folded = training + validation, [], len(validation)
    return Plan(
        method=method,
        training_rows=training,
        validation_rows=validation,
        folded=folded,
        min_examples=min_examples,
        training_report=validate_dataset(enumerate(training, start=1), base_model=model),
        validation_report=validate_dataset(enumerate(validation, start=1), base_model=model),
    )


def run_plan(
    *,
    dataset: Dataset,
    provider: Provider,
    method: str = SFT,
    base_model: str = "",
    since: datetime.datetime | None = None,
) -> Plan:
    """The plan of a run on `provider`: providers reject files of fewer than MIN_EXAMPLES examples,
    gradcap's own trainer takes any number."""
    min_examples = 1 if provider.is_self_hosted else MIN_EXAMPLES
    plan = training_plan(dataset=dataset, method=method, base_model=base_model, since=since, min_examples=min_examples)
    refusal = images_refusal(
        rows=[*plan.training_rows, *plan.validation_rows], provider=provider, base_model=base_model
    )
    if refusal is None:
        return plan
    return dataclasses.replace(plan, refusals=(Issue("images_not_trainable", ERROR, refusal),))


def images_refusal(*, rows: list[dict], provider: Provider, base_model: str) -> str | None:
    """Why `provider` cannot train `base_model` on `rows`, when some of them hold images; None when
    it can, or when nothing here knows. Self-hosted: the base model must be registered as seeing
    images (`training.BaseModel.multimodal`; the trainer still refuses images, and says why, since it
    renders text only so far). Hosted: the catalog must say the model trains on images at this kind
    of provider (`ModelInfo.trains_on_images`); a model the catalog does not know is the provider's
    to refuse."""
    if provider.is_self_hosted:
        model, _earlier = base_model_for(provider, base_model)
        if model is None:  # the backend's own check names the unknown model
            return None
        return image_examples_refusal(rows, multimodal=model.multimodal, model=model.name)
    info = get_model(base_model)
    # A model that trains on images nowhere is refused by the dataset's own checks (validate_dataset).
    if info is None or not info.vision_tunable_on or info.trains_on_images(provider.kind):
        return None
    count = sum(example_has_images(row) for row in rows)
    if not count:
        return None
    return _("%(model)s cannot be fine-tuned on images at %(provider)s; %(count)s examples hold images.") % {
        "model": info.label,
        "provider": provider.name,
        "count": count,
    }


@dataclass(frozen=True)
class Estimate:
    """What the start page says a run would take: money at a provider, time and tokens on our hosts."""

    epochs: int
    billable_tokens: int = 0
    cost: Decimal | None = None
    model: ModelInfo | None = None
    defaults: dict = field(default_factory=dict)  # the automatic hyperparameters (self-hosted)
    steps: int = 0
    tokens: int = 0  # tokens trained, all epochs
    seconds: float | None = None  # at the pace of the last run on this base model
    tokens_per_second: float | None = None


def run_estimate(*, plan: Plan, provider: Provider, base_model: str, requested: dict) -> Estimate:
    """The estimate for training `plan` on `provider`'s `base_model` with the `requested` hyperparameters."""
    if not provider.is_self_hosted:
        model = get_model(base_model)
        epochs = requested.get("n_epochs")
        return Estimate(
            epochs=plan.epochs(epochs),
            billable_tokens=plan.billable_tokens(model, epochs),
            cost=plan.cost(model, epochs),
            model=model,
        )
    model, earlier = base_model_for(provider, base_model)
    defaults = resolve(
        {},
        examples=len(plan.training_rows),
        context_length=model.context_length if model else None,
        method=plan.method,
        adapter=earlier.hyperparameters if earlier else None,
    )
    values = {**defaults, **{name: value for name, value in requested.items() if value is not None}}
    epochs = int(values["n_epochs"])
    steps = math.ceil(len(plan.training_rows) / int(values["batch_size"])) * epochs
    tokens = plan.training_tokens * epochs
    pace = _last_pace(provider, model.name) if model else None
    return Estimate(
        epochs=epochs,
        defaults=defaults,
        steps=steps,
        tokens=tokens,
        tokens_per_second=pace[1] if pace else None,
        seconds=tokens * pace[0] if pace else None,
    )


def _last_pace(provider: Provider, base_model: str) -> tuple[float, float | None] | None:
    """Seconds per planned token (counted as the plan counts them) and the trainer's own tokens per
    second, from the latest run on this base model that succeeded."""
    succeeded = Run.objects.filter(provider=provider, base_model=base_model, status=Run.Status.SUCCEEDED)
    run = succeeded.select_related("snapshot").order_by("-finished_at").first()
    if run is None:
        return None
    job = TrainingJob.objects.filter(provider=provider, public_id=run.job_id).first()
    planned = run.snapshot.training_tokens * int(run.resolved_hyperparameters.get("n_epochs") or 1)
    if job is None or not job.compute_seconds or not planned:
        return None
    return job.compute_seconds / planned, job.tokens_per_second
