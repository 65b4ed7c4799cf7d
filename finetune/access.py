"""The only ways fine-tuning views reach course objects: `get_<object>_for_user`, for the course's
curators only, so that learners, strangers and other courses' curators get 404 for every run,
model and evaluation (see courses.access). Datasets are dialogs.access's, assistants
assistants.access's."""

from django.shortcuts import get_object_or_404

from accounts.models import User
from courses.access import CourseAccess, get_course_for_user
from courses.models import Membership

from .models import Evaluation, Run, Snapshot, TrainedModel

CURATOR = Membership.Role.CURATOR


def get_run_for_user(user: User, slug: str, run_id: int) -> tuple[CourseAccess, Run]:
    """One of the course's training runs, for its curators only."""
    access = get_course_for_user(user, slug, role=CURATOR)
    runs = Run.objects.select_related("course", "provider", "snapshot", "dataset", "created_by")
    return access, get_object_or_404(runs, course=access.course, pk=run_id)


def get_snapshot_for_user(user: User, slug: str, snapshot_id: int) -> tuple[CourseAccess, Snapshot]:
    """One of the course's dataset snapshots, for its curators only."""
    access = get_course_for_user(user, slug, role=CURATOR)
    return access, get_object_or_404(Snapshot, course=access.course, pk=snapshot_id)


def get_trained_model_for_user(user: User, slug: str, model_id: int) -> tuple[CourseAccess, TrainedModel]:
    """One of the course's trained models, for its curators only."""
    access = get_course_for_user(user, slug, role=CURATOR)
    models = TrainedModel.objects.select_related("course", "provider", "run__snapshot")
    return access, get_object_or_404(models, course=access.course, pk=model_id)


def get_evaluation_for_user(user: User, slug: str, evaluation_id: int) -> tuple[CourseAccess, Evaluation]:
    """One evaluation of the course's trained models, for its curators only."""
    access = get_course_for_user(user, slug, role=CURATOR)
    evaluations = Evaluation.objects.select_related("trained_model__course", "trained_model__run")
    return access, get_object_or_404(evaluations, trained_model__course=access.course, pk=evaluation_id)
