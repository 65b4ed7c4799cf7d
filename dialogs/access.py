"""The only ways curation views reach course objects: each checks that the user curates the course
(admins do too) and answers 404 otherwise — for another course's objects as for missing ones."""

from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from courses.access import CourseAccess, course_for_user
from courses.models import Membership

from .models import Dataset, Dialog, Example


def curator_access(request: HttpRequest, slug: str) -> CourseAccess:
    return course_for_user(request.user, slug, role=Membership.Role.CURATOR)


def get_dialog_for_curator(request: HttpRequest, slug: str, dialog_id: int) -> tuple[CourseAccess, Dialog]:
    access = curator_access(request, slug)
    return access, get_object_or_404(Dialog.objects.select_related("assistant"), course=access.course, pk=dialog_id)


def get_dataset_for_curator(request: HttpRequest, slug: str, dataset_id: int) -> tuple[CourseAccess, Dataset]:
    access = curator_access(request, slug)
    datasets = Dataset.objects.select_related("assistant")
    return access, get_object_or_404(datasets, course=access.course, pk=dataset_id)


def get_example_for_curator(
    request: HttpRequest, slug: str, dataset_id: int, example_id: int
) -> tuple[CourseAccess, Example]:
    access = curator_access(request, slug)
    examples = Example.objects.select_related("dataset__assistant")
    example = get_object_or_404(examples, dataset__course=access.course, dataset_id=dataset_id, pk=example_id)
    return access, example
