"""The only ways fine-tuning views reach course objects: through `curator_access`, so that
learners, strangers and other courses' curators get 404 for every run, model and evaluation."""

from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from assistants.models import Assistant
from courses.access import CourseAccess
from dialogs.access import curator_access

from .models import Evaluation, Run, Snapshot, TrainedModel


def get_run_for_curator(request: HttpRequest, slug: str, run_id: int) -> tuple[CourseAccess, Run]:
    access = curator_access(request, slug)
    runs = Run.objects.select_related("course", "provider", "snapshot", "dataset", "created_by")
    return access, get_object_or_404(runs, course=access.course, pk=run_id)


def get_snapshot_for_curator(request: HttpRequest, slug: str, snapshot_id: int) -> tuple[CourseAccess, Snapshot]:
    access = curator_access(request, slug)
    return access, get_object_or_404(Snapshot, course=access.course, pk=snapshot_id)


def get_model_for_curator(request: HttpRequest, slug: str, model_id: int) -> tuple[CourseAccess, TrainedModel]:
    access = curator_access(request, slug)
    models = TrainedModel.objects.select_related("course", "provider", "run__snapshot")
    return access, get_object_or_404(models, course=access.course, pk=model_id)


def get_assistant_for_curator(request: HttpRequest, slug: str, assistant_id: int) -> tuple[CourseAccess, Assistant]:
    access = curator_access(request, slug)
    assistants = Assistant.objects.select_related("course", "provider")
    return access, get_object_or_404(assistants, course=access.course, pk=assistant_id)


def get_evaluation_for_curator(request: HttpRequest, slug: str, evaluation_id: int) -> tuple[CourseAccess, Evaluation]:
    access = curator_access(request, slug)
    evaluations = Evaluation.objects.select_related("trained_model__course", "trained_model__run")
    return access, get_object_or_404(evaluations, trained_model__course=access.course, pk=evaluation_id)
