"""Dataset pages: the course's datasets; each dataset's examples, validation report, token
statistics and cost; its settings; import and export."""

import copy
from collections.abc import AsyncIterator, Iterator

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from core.streaming import stream_for
from courses.access import CourseAccess, get_course_for_user
from courses.models import Membership
from llm.catalog import OPENAI, OPENAI_FINE_TUNING_ENDS, get_model

from ..access import get_dataset_for_user, get_example_for_user, get_transfer_for_user
from ..models import Dataset, Example, Transfer
from . import checks, edits, lines, report, selectors, services, transfer
from .forms import DatasetForm, ExampleFilterForm, ExportForm, ImportForm, SplitForm

EXAMPLES_PER_PAGE = 100
PREVIEW_EXAMPLES = 5


# Pages ---------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def dataset_list(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_course_for_user(request.user, slug, role=Membership.Role.CURATOR)
    course = access.course
    form = DatasetForm(request.POST or None, course=course)
    if request.method == "POST" and form.is_valid():
        dataset = services.dataset_create(course=course, user=request.user, **form.cleaned_data)
        return redirect("dialogs:dataset", slug=course.slug, dataset_id=dataset.pk)
    datasets = course.datasets.select_related("assistant").order_by("name")
    context = {"course": course, "access": access, "datasets": datasets, "form": form}
    return render(request, "dialogs/dataset_list.html", context)


@login_required
@require_GET
def dataset_detail(request: HttpRequest, slug: str, dataset_id: int) -> HttpResponse:
    access, dataset = get_dataset_for_user(request.user, slug, dataset_id)
    return _dataset_page(request, access, dataset)


def _dataset_page(
    request: HttpRequest,
    access: CourseAccess,
    dataset: Dataset,
    *,
    settings_form: DatasetForm | None = None,
    import_form: ImportForm | None = None,
) -> HttpResponse:
    if checks.revalidation_due(dataset):
        checks.dataset_revalidate_start(dataset)  # never checked whole, or the instructions changed
    provider = dataset.assistant.provider if dataset.assistant else None
    provider_kind = provider.kind if provider else None
    check = report.dataset_check(dataset, provider_kind=provider_kind)
    stats = check.stats
    filters = ExampleFilterForm(request.GET or None)
    links = RowLinks(access.course.slug, dataset.pk)
    page = _examples_page(request, dataset, filters, check, links)
    ready = check.train + check.validation
    context = {
        "course": access.course,
        "access": access,
        "dataset": dataset,
        "check": check,
        "report": check.report,
        "checks": check.checks,
        "revalidation": selectors.revalidation_progress(dataset),
        "base_model": get_model(dataset.base_model) if dataset.base_model else None,
        "stats": stats,
        "bars": _bars(stats.histogram),
        "histogram_width": len(stats.histogram) * 10,
        "provider": provider,
        "openai_ends": OPENAI_FINE_TUNING_ENDS if provider_kind == OPENAI else None,
        "filters": filters,
        "page": page,
        "row_labels": RowLinks.labels(),
        "example_url": links.example,
        "query": _query_without_page(request),
        "ready": ready,
        "export_in_background": transfer.runs_in_background(ready),
        "exports": _export_links(access.course.slug, dataset),
        "splits": [("", _("all")), (Example.Split.TRAIN, _("training")), (Example.Split.VALIDATION, _("validation"))],
        "transfers": selectors.transfers_recent(dataset=dataset, user=request.user),
        "settings_form": settings_form or DatasetForm(instance=copy.copy(dataset), course=access.course),
        "import_form": import_form or ImportForm(),
        "import_limit": settings.DATASET_IMPORT_MAX_BYTES,
    }
    return render(request, "dialogs/dataset.html", context)


def _examples_page(
    request: HttpRequest, dataset: Dataset, filters: ExampleFilterForm, check: report.DatasetCheck, links: "RowLinks"
):
    examples = dataset.examples.order_by("pk")
    per_page = EXAMPLES_PER_PAGE
    if filters.is_valid():
        per_page = filters.cleaned_data["per_page"] or EXAMPLES_PER_PAGE
        wanted = {key: filters.cleaned_data[key] for key in ("status", "issues", "split")}
        examples = selectors.examples_filtered(dataset=dataset, duplicates=check.duplicates, **wanted)
    page = Paginator(examples, per_page).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    for example in rows:
        _decorate(example, dataset, links, check.shared_issues.get(example.pk, 0))
    page.rows = rows
    return page


class RowLinks:
    """The links and labels of the examples' rows, made once per page: a hundred rows reversing
    three URLs and translating a dozen labels each were a fifth of the page's time."""

    SENTINEL = 999_999_999

    def __init__(self, slug: str, dataset_id: int):
        sentinel = str(self.SENTINEL)
        self.example = reverse("dialogs:example", args=[slug, dataset_id, self.SENTINEL]).split(sentinel)
        self.split = reverse("dialogs:dataset_split", args=[slug, dataset_id, self.SENTINEL]).split(sentinel)
        self.split_label = _("Split of example %(number)s")

    def example_url(self, pk: int) -> str:
        return f"{self.example[0]}{pk}{self.example[1]}"

    @staticmethod
    def labels() -> dict[str, str]:
        return {
            "automatic_validation": _("automatic: validation"),
            "automatic_training": _("automatic: training"),
            "training": _("training"),
            "validation": _("validation"),
            "set": _("Set"),
            "none": _("none"),
            "ready": Example.Status.READY.label,
            "draft": Example.Status.DRAFT.label,
        }


def _decorate(example: Example, dataset: Dataset, links: RowLinks, shared_issues: int = 0) -> Example:
    example.effective_split = lines.split_of(example, dataset.validation_percent)
    example.all_warnings = example.warning_count + shared_issues
    example.url = links.example_url(example.pk)
    example.split_url = f"{links.split[0]}{example.pk}{links.split[1]}"
    example.split_label = links.split_label % {"number": example.pk}
    return example


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _bars(histogram) -> list[dict]:
    """Bars of the token histogram for an SVG 100 units high, 10 units a bar."""
    return [
        {"bin": bin, "x": number * 10 + 1, "y": 100 - bin.height, "height": bin.height}
        for number, bin in enumerate(histogram)
    ]


def _export_links(slug: str, dataset: Dataset) -> list[dict]:
    url = reverse("dialogs:dataset_export", args=[slug, dataset.pk])
    links = []
    for format in transfer.EXPORT_FORMATS:
        links.append(
            {
                "format": format,
                "label": Transfer.Format(format).label,
                "splits": [(split, f"{url}?format={format}&split={split}") for split in transfer.SPLITS],
            }
        )
    return links


# Settings and examples -----------------------------------------------------------------------


@login_required
@require_POST
def dataset_settings(request: HttpRequest, slug: str, dataset_id: int) -> HttpResponse:
    access, dataset = get_dataset_for_user(request.user, slug, dataset_id)
    # The form works on a copy: a form that fails must not change the dataset the page shows.
    form = DatasetForm(request.POST, instance=copy.copy(dataset), course=access.course)
    if not form.is_valid():
        return _dataset_page(request, access, dataset, settings_form=form)
    services.dataset_update(dataset=dataset, **form.cleaned_data)
    messages.success(request, _("Saved."))
    return redirect("dialogs:dataset", slug=slug, dataset_id=dataset.pk)


@login_required
@require_POST
def dataset_split(request: HttpRequest, slug: str, dataset_id: int, example_id: int) -> HttpResponse:
    access, example = get_example_for_user(request.user, slug, dataset_id, example_id)
    form = SplitForm(request.POST)
    if not form.is_valid():
        raise Http404  # only a hand-made request sends an unknown split
    try:
        example = services.example_change(
            example=example,
            version=form.cleaned_data["version"],
            user=request.user,
            change=edits.set_split(form.cleaned_data["split"]),
        )
        conflict = False
    except services.ExampleConflict as error:
        example, conflict = error.current, True
    if request.htmx:
        dataset = example.dataset
        context = {"course": access.course, "dataset": dataset, "row_labels": RowLinks.labels()}
        context["example"] = _decorate(example, dataset, RowLinks(access.course.slug, dataset.pk))
        context["conflict"] = conflict
        return render(request, "dialogs/_dataset_example_row.html", context)
    if conflict:
        messages.error(request, _("Someone else changed this example meanwhile; nothing was changed. Try again."))
    return redirect(reverse("dialogs:dataset", args=[slug, dataset_id]) + f"#example-{example.pk}")


@login_required
@require_POST
def dataset_redact(request: HttpRequest, slug: str, dataset_id: int, example_id: int) -> HttpResponse:
    """One click: personal data out of one example (whatever it holds now)."""
    _access, example = get_example_for_user(request.user, slug, dataset_id, example_id)
    try:
        services.example_change(example=example, version=example.version, user=request.user, change=edits.redact())
    except services.ExampleConflict:
        messages.error(request, _("Someone else changed this example meanwhile; nothing was changed. Try again."))
    else:
        messages.success(request, _("Personal data removed from example %(number)s.") % {"number": example.pk})
    return redirect(reverse("dialogs:dataset", args=[slug, dataset_id]) + "#report")


@login_required
@require_POST
def dataset_redact_all(request: HttpRequest, slug: str, dataset_id: int) -> HttpResponse:
    _access, dataset = get_dataset_for_user(request.user, slug, dataset_id)
    changed = services.dataset_redact(dataset=dataset, user=request.user)
    messages.success(request, _("Personal data removed from %(count)s examples.") % {"count": changed})
    return redirect(reverse("dialogs:dataset", args=[slug, dataset_id]) + "#report")


@login_required
@require_POST
def dataset_revalidate(request: HttpRequest, slug: str, dataset_id: int) -> HttpResponse:
    """Check every example again (in the worker for a large dataset)."""
    _access, dataset = get_dataset_for_user(request.user, slug, dataset_id)
    if checks.dataset_revalidate_start(dataset):
        messages.info(request, _("The examples are being checked again; the report is complete when it finishes."))
    else:
        messages.success(request, _("Every example was checked again."))
    return redirect(reverse("dialogs:dataset", args=[slug, dataset_id]) + "#report")


@login_required
@require_GET
def dataset_revalidation(request: HttpRequest, slug: str, dataset_id: int) -> HttpResponse:
    """A running re-validation's progress (polled by htmx); the page reloads when it is done."""
    access, dataset = get_dataset_for_user(request.user, slug, dataset_id)
    revalidation = selectors.revalidation_progress(dataset)
    if revalidation is None:
        return HttpResponseClientRefresh() if request.htmx else redirect("dialogs:dataset", slug, dataset.pk)
    context = {"course": access.course, "dataset": dataset, "revalidation": revalidation}
    return render(request, "dialogs/_dataset_revalidation.html", context)


# Export --------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def dataset_export(request: HttpRequest, slug: str, dataset_id: int) -> HttpResponse:
    """GET streams the file (small datasets); POST prepares it in the background (large ones)."""
    _access, dataset = get_dataset_for_user(request.user, slug, dataset_id)
    form = ExportForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        raise Http404
    format, split = form.cleaned_data["format"], form.cleaned_data["split"]
    page = reverse("dialogs:dataset", args=[slug, dataset_id])
    if request.method == "POST":
        transfer.transfer_export_start(dataset=dataset, format=format, split=split, user=request.user)
        messages.info(request, _("The file is being prepared; its download link appears below when it is ready."))
        return redirect(page + "#transfers")
    if transfer.runs_in_background(transfer.ready_count(dataset)):
        messages.info(request, _("This dataset is large: prepare the file in the background instead."))
        return redirect(page + "#export")
    lines = transfer.export_lines(dataset, format=format, split=split)
    response = StreamingHttpResponse(_streamed(request, lines), content_type=transfer.JSONL_CONTENT_TYPE)
    filename = transfer.export_filename(dataset, format=format, split=split)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _chunks(lines: Iterator[bytes], size: int = 200) -> Iterator[bytes]:
    """Lines joined into chunks of `size`: fewer, larger writes to the socket."""
    batch: list[bytes] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield b"".join(batch)
            batch = []
    if batch:
        yield b"".join(batch)


def _streamed(request: HttpRequest, lines: Iterator[bytes]) -> Iterator[bytes] | AsyncIterator[bytes]:
    return stream_for(request, _chunks(lines))


# Import and transfers ------------------------------------------------------------------------


@login_required
@require_POST
def dataset_import(request: HttpRequest, slug: str, dataset_id: int) -> HttpResponse:
    access, dataset = get_dataset_for_user(request.user, slug, dataset_id)
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            upload = transfer.transfer_upload(dataset=dataset, upload=form.cleaned_data["file"], user=request.user)
        except ValidationError as error:
            form.add_error("file", error)
        else:
            return redirect("dialogs:dataset_transfer", slug=slug, dataset_id=dataset.pk, transfer_id=upload.pk)
    return _dataset_page(request, access, dataset, import_form=form)


@login_required
@require_GET
def dataset_transfer(request: HttpRequest, slug: str, dataset_id: int, transfer_id: int) -> HttpResponse:
    """An import's preview, or any transfer's progress (polled by htmx while it runs)."""
    access, dataset, found = get_transfer_for_user(request.user, slug, dataset_id, transfer_id)
    context = {"course": access.course, "access": access, "dataset": dataset, "transfer": found}
    if request.htmx:
        if found.kind == Transfer.Kind.IMPORT and found.status == Transfer.Status.DONE:
            return HttpResponseClientRefresh()  # the new examples belong on the page
        return render(request, "dialogs/_dataset_transfer.html", context)
    if found.kind == Transfer.Kind.IMPORT and found.status == Transfer.Status.UPLOADED:
        result = transfer.transfer_parse(found)
        context |= {"result": result, "preview": transfer.import_preview(result, PREVIEW_EXAMPLES)}
    return render(request, "dialogs/dataset_transfer.html", context)


@login_required
@require_POST
def dataset_import_confirm(request: HttpRequest, slug: str, dataset_id: int, transfer_id: int) -> HttpResponse:
    _access, dataset, found = get_transfer_for_user(request.user, slug, dataset_id, transfer_id)
    if found.kind != Transfer.Kind.IMPORT:
        raise Http404
    found = transfer.transfer_import_confirm(transfer=found)
    if found.status == Transfer.Status.DONE:
        messages.success(request, _("Imported %(count)s examples.") % {"count": found.done})
        return redirect("dialogs:dataset", slug=slug, dataset_id=dataset.pk)
    return redirect("dialogs:dataset_transfer", slug=slug, dataset_id=dataset.pk, transfer_id=found.pk)


@login_required
@require_GET
def dataset_download(request: HttpRequest, slug: str, dataset_id: int, transfer_id: int) -> HttpResponse:
    _access, _dataset, found = get_transfer_for_user(request.user, slug, dataset_id, transfer_id)
    if found.kind != Transfer.Kind.EXPORT or found.status != Transfer.Status.DONE or not found.file:
        raise Http404
    return FileResponse(
        found.file.open("rb"), as_attachment=True, filename=found.name, content_type=transfer.JSONL_CONTENT_TYPE
    )
