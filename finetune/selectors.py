"""Reads for the fine-tuning pages: the loss chart, warnings about models, activation history."""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from assistants.models import Assistant
from assistants.notices import Notice, NoticeAction
from llm.catalog import get_model, tunable_models
from llm.models import Provider

from . import selfhosted
from .forms import tunable_providers
from .models import Activation, MetricPoint, TrainedModel

SHUTDOWN_WARNING_DAYS = 60


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    train: str  # SVG polyline points
    valid: str
    max_step: int
    max_loss: float
    min_loss: float
    points: int


def loss_chart(points: Sequence[MetricPoint], *, width: int = 640, height: int = 220, pad: int = 30) -> Chart | None:
    """Training and validation loss by step as SVG polyline coordinates (server-rendered, no JS)."""
    if not points:
        return None
    losses = [value for p in points for value in (p.train_loss, p.valid_loss) if value is not None]
    if not losses:
        return None
    max_step = max(p.step for p in points) or 1
    high, low = max(losses), min(losses)
    span = (high - low) or 1.0

    def xy(step: int, loss: float) -> str:
        x = pad + (width - 2 * pad) * step / max_step
        y = pad + (height - 2 * pad) * (high - loss) / span
        return f"{x:.1f},{y:.1f}"

    train = " ".join(xy(p.step, p.train_loss) for p in points if p.train_loss is not None)
    valid = " ".join(xy(p.step, p.valid_loss) for p in points if p.valid_loss is not None)
    return Chart(width, height, train, valid, max_step, round(high, 3), round(low, 3), len(points))


def shutdown_warnings(model_name: str, base_model: str, *, today: datetime.date | None = None) -> list[str]:
    """Plain warnings when the model or its base model stops serving soon, or has stopped."""
    today = today or timezone.localdate()
    info = get_model(model_name) or get_model(base_model)
    if info is None or info.shutdown is None:
        return []
    if info.shutdown <= today:
        return [
            _("%(model)s and its fine-tunes stopped serving on %(date)s.")
            % {"model": info.label, "date": info.shutdown}
        ]
    if (info.shutdown - today).days <= SHUTDOWN_WARNING_DAYS:
        return [
            _("%(model)s and its fine-tunes stop serving on %(date)s: plan a replacement.")
            % {"model": info.label, "date": info.shutdown}
        ]
    return []


def instructions_drifted(trained_model: TrainedModel, assistant: Assistant) -> bool:
    """The assistant's instructions differ from those the model was trained with."""
    return trained_model.run.snapshot.instructions.strip() != assistant.instructions.strip()


def activation_history(assistants: Sequence[Assistant], *, limit: int = 50) -> list[Activation]:
    activations = Activation.objects.filter(assistant__in=assistants).select_related(
        "assistant", "created_by", "trained_model"
    )
    return list(activations.order_by("-created_at", "-pk")[:limit])


def retrain_targets(trained: TrainedModel, *, today: datetime.date | None = None) -> list[tuple[Provider, str]]:
    """Where the model's snapshot could train instead: (provider, base model) for every other
    provider that trains a model not about to stop serving (self-hosted: its first base model)."""
    today = today or timezone.localdate()
    targets = []
    for provider in tunable_providers().exclude(pk=trained.provider_id):
        if provider.is_self_hosted:
            names = [model.name for model in selfhosted.base_models(provider)]
        else:
            names = [
                model.id
                for model in tunable_models(provider.kind)
                if model.shutdown is None or (model.shutdown - today).days > SHUTDOWN_WARNING_DAYS
            ]
        if names:
            targets.append((provider, names[0]))
    return targets


def assistant_notices(assistant: Assistant) -> list[Notice]:
    """Warnings shown on the assistant's page and in the playground (registered with assistants in
    `apps.ready`). A model that stops serving soon offers to train its snapshot elsewhere."""
    trained = (
        TrainedModel.objects.filter(course_id=assistant.course_id, name=assistant.model)
        .select_related("run__snapshot", "course")
        .first()
    )
    if trained is None:
        return [Notice(text) for text in shutdown_warnings(assistant.model, assistant.model)]
    notices = []
    for text in shutdown_warnings(trained.name, trained.base_model):
        url = reverse("finetune:run_action", args=[trained.course.slug, trained.run_id, "retrain"])
        actions = tuple(
            NoticeAction(
                label=_("Train the same snapshot on %(provider)s (%(model)s)")
                % {"provider": provider.name, "model": base_model},
                url=url,
                data={"provider": str(provider.pk), "base_model": base_model},
            )
            for provider, base_model in retrain_targets(trained)
        )
        notices.append(Notice(text, actions))
    if instructions_drifted(trained, assistant):
        notices.append(Notice(_("The active model was trained with another prompt — consider retraining.")))
    return notices
