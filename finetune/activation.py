"""Trained models and activation: a succeeded run's model, recorded once; ▶ switches an assistant
to it, rollback switches back."""

from django.db import transaction

from accounts.models import User
from assistants.models import Assistant
from assistants.services import assistant_update
from llm.models import Provider

from .backends import TrainingBackend, backend_for
from .models import Activation, Run, TrainedModel


def trained_model_record(*, run: Run, backend: TrainingBackend | None = None) -> TrainedModel | None:
    """The succeeded run's model, recorded once."""
    if run.status != Run.Status.SUCCEEDED or not run.fine_tuned_model:
        return None
    existing = TrainedModel.objects.filter(run=run).first()
    if existing is not None:
        return existing
    served = (backend or backend_for(run.provider)).served_model(fine_tuned_model=run.fine_tuned_model)
    trained, _created = TrainedModel.objects.get_or_create(
        run=run,
        defaults={
            "course": run.course,
            "provider": served.provider,
            "name": served.model,
            "base_model": run.base_model,
        },
    )
    return trained


@transaction.atomic
def _switch(
    *,
    assistant: Assistant,
    provider: Provider,
    model: str,
    user: User | None,
    trained: TrainedModel | None,
    rollback: bool,
) -> Activation:
    assistant = Assistant.objects.select_for_update().get(pk=assistant.pk)
    activation = Activation.objects.create(
        assistant=assistant,
        trained_model=trained,
        from_provider_id=assistant.provider_id,
        from_model=assistant.model,
        to_provider=provider,
        to_model=model,
        is_rollback=rollback,
        created_by=user,
    )
    assistant_update(assistant=assistant, user=user, provider=provider, model=model)
    return activation


def model_activate(*, trained_model: TrainedModel, assistant: Assistant, user: User | None) -> Activation:
    """▶: the assistant's next chats use the trained model, once its server answers with it
    (BackendError with the server's reason otherwise; the assistant is left as it was)."""
    if assistant.course_id != trained_model.course_id:
        raise ValueError("The assistant and the model belong to different courses.")
    backend_for(trained_model.provider).serving_prepare(model=trained_model.name)
    return _switch(
        assistant=assistant,
        provider=trained_model.provider,
        model=trained_model.name,
        user=user,
        trained=trained_model,
        rollback=False,
    )


def assistant_rollback(*, assistant: Assistant, user: User | None) -> Activation | None:
    """Back to the model the assistant used before its latest activation (None: nothing to undo)."""
    latest = assistant.activations.select_related("from_provider").first()
    if latest is None:
        return None
    previous = TrainedModel.objects.filter(course=assistant.course, name=latest.from_model).first()
    if previous is not None:  # back to a trained model: its server must still have it
        backend_for(previous.provider).serving_prepare(model=previous.name)
    return _switch(
        assistant=assistant,
        provider=latest.from_provider,
        model=latest.from_model,
        user=user,
        trained=previous,
        rollback=True,
    )
