"""The example editor."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from . import curation
from .access import get_example_for_curator


@login_required
def example_edit(request: HttpRequest, slug: str, dataset_id: int, example_id: int) -> HttpResponse:
    access, example = get_example_for_curator(request, slug, dataset_id, example_id)
    dataset = example.dataset
    context = {
        "course": access.course,
        "access": access,
        "dataset": dataset,
        "example": example,
        "system": curation.system_message(example, dataset),
        "report": curation.example_report(example, dataset),
        "revisions": example.revisions.select_related("author")[:50],
    }
    return render(request, "dialogs/example.html", context)
