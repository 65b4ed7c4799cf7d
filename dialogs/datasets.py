"""Dataset pages: the course's datasets and each dataset's examples."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from . import curation
from .access import curator_access, get_dataset_for_curator
from .forms import DatasetForm


@login_required
@require_http_methods(["GET", "POST"])
def dataset_list(request: HttpRequest, slug: str) -> HttpResponse:
    access = curator_access(request, slug)
    course = access.course
    form = DatasetForm(request.POST or None, course=course)
    if request.method == "POST" and form.is_valid():
        dataset = curation.dataset_create(course=course, user=request.user, **form.cleaned_data)
        return redirect("dialogs:dataset", slug=course.slug, dataset_id=dataset.pk)
    datasets = course.datasets.select_related("assistant").order_by("name")
    context = {"course": course, "access": access, "datasets": datasets, "form": form}
    return render(request, "dialogs/dataset_list.html", context)


@login_required
def dataset_detail(request: HttpRequest, slug: str, dataset_id: int) -> HttpResponse:
    access, dataset = get_dataset_for_curator(request, slug, dataset_id)
    examples = list(dataset.examples.order_by("pk"))
    for example in examples:
        example.effective_split = curation.split_of(example, dataset.validation_percent)
    context = {"course": access.course, "access": access, "dataset": dataset, "examples": examples}
    return render(request, "dialogs/dataset.html", context)
