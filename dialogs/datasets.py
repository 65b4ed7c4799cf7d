"""Dataset pages: the course's datasets; each dataset's examples, validation report, token
statistics and cost; its settings; import and export."""

import copy
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from config.streaming import stream_for
from courses.access import CourseAccess
from llm.catalog import OPENAI, OPENAI_FINE_TUNING_ENDS, get_model
from trainingfiles.reports import ERROR, Issue
from trainingfiles.stats import dataset_stats

from . import curation, transfer
from .access import curator_access, get_dataset_for_curator, get_example_for_curator
from .forms import DatasetForm, ExampleFilterForm, ExportForm, ImportForm, SplitForm
from .models import Dataset, Example, Transfer

EXAMPLES_PER_PAGE = 100
ISSUES_PER_CHECK = 50  # a check failing everywhere lists its first examples, then a count
PREVIEW_EXAMPLES = 5

# The checks of the report, in the order of OpenAI's data-preparation guide, then ours. Each
# names the issue codes of `trainingfiles.validation` it covers.
CHECKS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (gettext_lazy("Each example is a JSON object"), ("data_type",)),
    (gettext_lazy("Each example has a list of messages"), ("missing_messages_list",)),
    (gettext_lazy("No unknown keys"), ("unrecognized_key", "message_unrecognized_key")),
    (
        gettext_lazy("Each message has a role and content"),
        ("message_not_object", "message_missing_key", "missing_content"),
    ),
    (gettext_lazy("Only known roles"), ("unrecognized_role",)),
    (
        gettext_lazy("An assistant answer to learn from"),
        ("missing_assistant_message", "nothing_to_learn", "last_message_not_assistant"),
    ),
    (gettext_lazy("Empty answers and messages"), ("empty_content",)),
    (gettext_lazy("Weights and names"), ("weight_not_on_assistant", "bad_weight", "bad_name")),
    (
        gettext_lazy("Tools and tool calls"),
        (
            "bad_tools",
            "bad_parallel_tool_calls",
            "bad_tool_call",
            "unknown_tool",
            "bad_tool_arguments",
            "missing_tool_call_id",
            "unmatched_tool_call",
            "unanswered_tool_call",
        ),
    ),
    (gettext_lazy("Preference pairs"), ("bad_dpo_output", "identical_outputs", "input_ends_with_assistant")),
    (gettext_lazy("The base model's token limit"), ("token_limit",)),
    (gettext_lazy("Enough examples"), ("too_few_examples", "few_examples")),
    (gettext_lazy("One kind of example the model can learn"), ("mixed_kinds", "method_not_supported")),
    (gettext_lazy("Exact duplicates"), ("duplicate",)),
    (gettext_lazy("Near duplicates"), ("near_duplicate",)),
    (gettext_lazy("Personal data"), ("pii_email", "pii_phone", "pii_card")),
)
_CHECK_OF_CODE = {code: number for number, (_title, codes) in enumerate(CHECKS) for code in codes}


@dataclass
class CheckResult:
    title: str
    errors: int = 0
    warnings: int = 0
    issues: list[Issue] = field(default_factory=list)  # the first ISSUES_PER_CHECK
    pii_examples: list[object] = field(default_factory=list)  # examples to offer redaction for

    @property
    def more(self) -> int:
        return self.errors + self.warnings - len(self.issues)


def report_by_check(report) -> list[CheckResult]:
    """The report's issues grouped by check; every check listed, passed ones too."""
    results = [CheckResult(title=str(title)) for title, _codes in CHECKS]
    other = CheckResult(title=_("Other problems"))
    for issue in report.all_issues():
        number = _CHECK_OF_CODE.get(issue.code)
        result = results[number] if number is not None else other
        if issue.severity == ERROR:
            result.errors += 1
        else:
            result.warnings += 1
        if len(result.issues) < ISSUES_PER_CHECK:
            result.issues.append(issue)
        if issue.code.startswith("pii_") and issue.example_key not in result.pii_examples:
            result.pii_examples.append(issue.example_key)
    if other.issues:
        results.append(other)
    return results


# Pages ---------------------------------------------------------------------------------------


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
@require_GET
def dataset_detail(request: HttpRequest, slug: str, dataset_id: int) -> HttpResponse:
    access, dataset = get_dataset_for_curator(request, slug, dataset_id)
    return _dataset_page(request, access, dataset)


def _dataset_page(
    request: HttpRequest,
    access: CourseAccess,
    dataset: Dataset,
    *,
    settings_form: DatasetForm | None = None,
    import_form: ImportForm | None = None,
) -> HttpResponse:
    check = curation.dataset_check(dataset)
    report = check.report
    provider = dataset.assistant.provider if dataset.assistant else None
    provider_kind = provider.kind if provider else None
    stats = dataset_stats(report.examples, provider_kind=provider_kind)
    # Dataset-wide issues about one example (duplicates) are not in the example's own counts.
    shared_issues: dict[object, int] = {}
    for issue in report.issues:
        if issue.example_key is not None:
            shared_issues[issue.example_key] = shared_issues.get(issue.example_key, 0) + 1

    filters = ExampleFilterForm(request.GET or None)
    page = _examples_page(request, dataset, filters, shared_issues)
    ready = check.train + check.validation
    context = {
        "course": access.course,
        "access": access,
        "dataset": dataset,
        "check": check,
        "report": report,
        "checks": report_by_check(report),
        "base_model": get_model(dataset.base_model) if dataset.base_model else None,
        "stats": stats,
        "bars": _bars(stats.histogram),
        "histogram_width": len(stats.histogram) * 10,
        "provider": provider,
        "openai_ends": OPENAI_FINE_TUNING_ENDS if provider_kind == OPENAI else None,
        "filters": filters,
        "page": page,
        "query": _query_without_page(request),
        "ready": ready,
        "export_in_background": transfer.runs_in_background(ready),
        "exports": _export_links(access.course.slug, dataset),
        "splits": [("", _("all")), (Example.Split.TRAIN, _("training")), (Example.Split.VALIDATION, _("validation"))],
        "transfers": _recent_transfers(request, dataset),
        "settings_form": settings_form or DatasetForm(instance=copy.copy(dataset), course=access.course),
        "import_form": import_form or ImportForm(),
        "import_limit": settings.DATASET_IMPORT_MAX_BYTES,
    }
    return render(request, "dialogs/dataset.html", context)


def _examples_page(request: HttpRequest, dataset: Dataset, filters: ExampleFilterForm, shared_issues: dict):
    examples = dataset.examples.order_by("pk")
    wanted_split = ""
    if filters.is_valid():
        if status := filters.cleaned_data["status"]:
            examples = examples.filter(status=status)
        issues = filters.cleaned_data["issues"]
        with_issues = Q(error_count__gt=0) | Q(warning_count__gt=0) | Q(pk__in=list(shared_issues))
        if issues == "yes":
            examples = examples.filter(with_issues)
        elif issues == "no":
            examples = examples.exclude(with_issues)
        wanted_split = filters.cleaned_data["split"]
    if wanted_split:
        # The automatic split is drawn from the primary key, not stored: filter the keys here.
        keys = examples.values_list("pk", "split")
        pks = [
            pk
            for pk, split in keys.iterator(chunk_size=2000)
            if (split or curation.split_of(Example(pk=pk), dataset.validation_percent)) == wanted_split
        ]
        page = Paginator(pks, EXAMPLES_PER_PAGE).get_page(request.GET.get("page"))
        rows = list(dataset.examples.filter(pk__in=list(page.object_list)).order_by("pk"))
    else:
        page = Paginator(examples, EXAMPLES_PER_PAGE).get_page(request.GET.get("page"))
        rows = list(page.object_list)
    for example in rows:
        _decorate(example, dataset, shared_issues.get(example.pk, 0))
    page.rows = rows
    return page


def _decorate(example: Example, dataset: Dataset, shared_issues: int = 0) -> Example:
    example.effective_split = curation.split_of(example, dataset.validation_percent)
    example.all_warnings = example.warning_count + shared_issues
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


def _recent_transfers(request: HttpRequest, dataset: Dataset) -> list[Transfer]:
    # Other curators' exports are shared; an import is its uploader's until it runs.
    visible = Q(kind=Transfer.Kind.EXPORT) | Q(created_by=request.user) | ~Q(status=Transfer.Status.UPLOADED)
    return list(dataset.transfers.filter(visible).select_related("dataset")[:5])


# Settings and examples -----------------------------------------------------------------------


@login_required
@require_POST
def dataset_settings(request: HttpRequest, slug: str, dataset_id: int) -> HttpResponse:
    access, dataset = get_dataset_for_curator(request, slug, dataset_id)
    # The form works on a copy: a form that fails must not change the dataset the page shows.
    form = DatasetForm(request.POST, instance=copy.copy(dataset), course=access.course)
    if not form.is_valid():
        return _dataset_page(request, access, dataset, settings_form=form)
    curation.dataset_update(dataset=dataset, **form.cleaned_data)
    messages.success(request, _("Saved."))
    return redirect("dialogs:dataset", slug=slug, dataset_id=dataset.pk)


@login_required
@require_POST
def dataset_split(request: HttpRequest, slug: str, dataset_id: int, example_id: int) -> HttpResponse:
    access, example = get_example_for_curator(request, slug, dataset_id, example_id)
    form = SplitForm(request.POST)
    if not form.is_valid():
        raise Http404  # only a hand-made request sends an unknown split
    try:
        example = curation.example_change(
            example=example,
            version=form.cleaned_data["version"],
            user=request.user,
            change=curation.set_split(form.cleaned_data["split"]),
        )
        conflict = False
    except curation.ExampleConflict as error:
        example, conflict = error.current, True
    if request.htmx:
        context = {"course": access.course, "dataset": example.dataset, "example": _decorate(example, example.dataset)}
        context["conflict"] = conflict
        return render(request, "dialogs/_dataset_example_row.html", context)
    if conflict:
        messages.error(request, _("Someone else changed this example meanwhile; nothing was changed. Try again."))
    return redirect(reverse("dialogs:dataset", args=[slug, dataset_id]) + f"#example-{example.pk}")


@login_required
@require_POST
def dataset_redact(request: HttpRequest, slug: str, dataset_id: int, example_id: int) -> HttpResponse:
    """One click: personal data out of one example (whatever it holds now)."""
    _access, example = get_example_for_curator(request, slug, dataset_id, example_id)
    try:
        curation.example_change(example=example, version=example.version, user=request.user, change=curation.redact())
    except curation.ExampleConflict:
        messages.error(request, _("Someone else changed this example meanwhile; nothing was changed. Try again."))
    else:
        messages.success(request, _("Personal data removed from example %(number)s.") % {"number": example.pk})
    return redirect(reverse("dialogs:dataset", args=[slug, dataset_id]) + "#report")


@login_required
@require_POST
def dataset_redact_all(request: HttpRequest, slug: str, dataset_id: int) -> HttpResponse:
    _access, dataset = get_dataset_for_curator(request, slug, dataset_id)
    changed = curation.dataset_redact(dataset=dataset, user=request.user)
    messages.success(request, _("Personal data removed from %(count)s examples.") % {"count": changed})
    return redirect(reverse("dialogs:dataset", args=[slug, dataset_id]) + "#report")


# Export --------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def dataset_export(request: HttpRequest, slug: str, dataset_id: int) -> HttpResponse:
    """GET streams the file (small datasets); POST prepares it in the background (large ones)."""
    _access, dataset = get_dataset_for_curator(request, slug, dataset_id)
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
    access, dataset = get_dataset_for_curator(request, slug, dataset_id)
    form = ImportForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            upload = transfer.transfer_upload(dataset=dataset, upload=form.cleaned_data["file"], user=request.user)
        except ValidationError as error:
            form.add_error("file", error)
        else:
            return redirect("dialogs:dataset_transfer", slug=slug, dataset_id=dataset.pk, transfer_id=upload.pk)
    return _dataset_page(request, access, dataset, import_form=form)


def _get_transfer(request: HttpRequest, slug: str, dataset_id: int, transfer_id: int):
    access, dataset = get_dataset_for_curator(request, slug, dataset_id)
    transfers = dataset.transfers.select_related("dataset__assistant", "created_by")
    found = get_object_or_404(transfers, pk=transfer_id)
    if (
        found.kind == Transfer.Kind.IMPORT
        and found.status == Transfer.Status.UPLOADED
        and found.created_by != request.user
    ):
        raise Http404  # an upload waiting for confirmation is its uploader's alone
    return access, dataset, found


@login_required
@require_GET
def dataset_transfer(request: HttpRequest, slug: str, dataset_id: int, transfer_id: int) -> HttpResponse:
    """An import's preview, or any transfer's progress (polled by htmx while it runs)."""
    access, dataset, found = _get_transfer(request, slug, dataset_id, transfer_id)
    context = {"course": access.course, "access": access, "dataset": dataset, "transfer": found}
    if request.htmx:
        if found.kind == Transfer.Kind.IMPORT and found.status == Transfer.Status.DONE:
            return HttpResponseClientRefresh()  # the new examples belong on the page
        return render(request, "dialogs/_dataset_transfer.html", context)
    if found.kind == Transfer.Kind.IMPORT and found.status == Transfer.Status.UPLOADED:
        result = transfer.transfer_parse(found)
        context |= {"result": result, "preview": result.examples[:PREVIEW_EXAMPLES]}
    return render(request, "dialogs/dataset_transfer.html", context)


@login_required
@require_POST
def dataset_import_confirm(request: HttpRequest, slug: str, dataset_id: int, transfer_id: int) -> HttpResponse:
    _access, dataset, found = _get_transfer(request, slug, dataset_id, transfer_id)
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
    _access, _dataset, found = _get_transfer(request, slug, dataset_id, transfer_id)
    if found.kind != Transfer.Kind.EXPORT or found.status != Transfer.Status.DONE or not found.file:
        raise Http404
    return FileResponse(
        found.file.open("rb"), as_attachment=True, filename=found.name, content_type=transfer.JSONL_CONTENT_TYPE
    )
