"""The example editor: every message edited in place, each change one POST that carries the
version the page was loaded at. htmx swaps the messages, the side panel and the history; without
JavaScript the same forms POST and redirect back.

A change made against an older version is a conflict (HTTP 409): nothing is written, and the
notice shows what the other curator wrote next to the text this curator typed.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from courses.access import CourseAccess
from trainingfiles.reports import Issue

from ..access import get_example_for_user
from ..models import Dataset, Example
from . import checks, lines, revisions, services

CONTENT_MAX_CHARS = 100_000
ROLE_CHOICES = [(role, role) for role in services.EDITABLE_ROLES]

# Forms: each carries the version the editor was loaded at.


class VersionForm(forms.Form):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class ContentForm(VersionForm):
    content = forms.CharField(
        label=gettext_lazy("Text"), required=False, strip=False, max_length=CONTENT_MAX_CHARS, widget=forms.Textarea
    )

    def clean_content(self) -> str:
        return self.cleaned_data["content"].replace("\r\n", "\n")  # browsers send textarea lines as CRLF


class SystemForm(ContentForm):
    follow = forms.BooleanField(required=False)  # back to the assistant's current instructions


class InsertForm(VersionForm):
    position = forms.IntegerField(min_value=0)
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=ROLE_CHOICES)


class RoleForm(VersionForm):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=ROLE_CHOICES)


class WeightForm(VersionForm):
    learn = forms.BooleanField(required=False)


class StatusForm(VersionForm):
    status = forms.ChoiceField(choices=Example.Status.choices)


class SplitForm(VersionForm):
    split = forms.ChoiceField(choices=Example.Split.choices, required=False)


class RedactForm(VersionForm):
    index = forms.IntegerField(min_value=0, required=False)


class MoveForm(VersionForm):
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.none())

    def __init__(self, data, *, example: Example):
        super().__init__(data)
        self.fields["dataset"].queryset = _other_datasets(example)


def _other_datasets(example: Example):
    """Where the example may move: the other datasets of its course."""
    return Dataset.objects.filter(course_id=example.dataset.course_id).exclude(pk=example.dataset_id).order_by("name")


# What the page shows.


@dataclass(frozen=True)
class Row:
    """One message as the editor shows it."""

    index: int
    message: dict
    issues: list[Issue] = field(default_factory=list)

    @property
    def number(self) -> int:
        return self.index + 1

    @property
    def role(self) -> str:
        return self.message.get("role", "")

    @property
    def text(self) -> str:
        content = self.message.get("content")
        return content if isinstance(content, str) else ""

    @property
    def rejected(self) -> str | None:
        """The recorded answer a curator rewrote: the rejected side of a DPO pair."""
        return lines.rewritten_from(self.message)


@dataclass(frozen=True)
class PanelIssue:
    issue: Issue
    index: int | None  # editor index of the message concerned; -1 is the system message

    @property
    def number(self) -> int | None:
        return None if self.index is None else self.index + 1

    @property
    def is_pii(self) -> bool:
        return self.issue.code.startswith("pii_")


def _editor_context(access: CourseAccess, example: Example, **extra: Any) -> dict[str, Any]:
    dataset = example.dataset
    report = services.example_report(example, dataset)
    system = lines.system_message(example, dataset)
    # The report counts the system message, which the training line puts first.
    offset = 1 if system else 0
    by_index: dict[int, list[Issue]] = {}
    panel_issues = []
    for issue in report.issues:
        index = None if issue.message_index is None else issue.message_index - offset
        panel_issues.append(PanelIssue(issue, index))
        if index is not None:
            by_index.setdefault(index, []).append(issue)
    return {
        "course": access.course,
        "access": access,
        "dataset": dataset,
        "example": example,
        "system": system,
        "system_issues": by_index.get(-1, []),
        "rows": [Row(index, message, by_index.get(index, [])) for index, message in enumerate(example.messages)],
        "report": report,
        "issues": panel_issues,
        "token_limit": checks.token_limit(dataset),
        "roles": services.EDITABLE_ROLES,
        "splits": Example.Split.choices,
        "other_datasets": list(_other_datasets(example)),
        "revisions": example.revisions.select_related("author")[:50],
        "editing": None,
        **extra,
    }


def _editor_url(access: CourseAccess, example: Example) -> str:
    return reverse("dialogs:example", args=[access.course.slug, example.dataset_id, example.pk])


def _dataset_url(access: CourseAccess, example: Example) -> str:
    return reverse("dialogs:dataset", args=[access.course.slug, example.dataset_id])


def _updated(request: HttpRequest, access: CourseAccess, example: Example, **extra: Any) -> HttpResponse:
    """After a change: the parts that changed (htmx), or the editor page again."""
    if request.htmx:
        return render(request, "dialogs/_example_update.html", _editor_context(access, example, **extra))
    anchor = f"#message-{extra['editing']}" if extra.get("editing") is not None else ""
    return redirect(_editor_url(access, example) + anchor)


def _notice(
    request: HttpRequest, access: CourseAccess, example: Example, template: str, status: int, **notice: Any
) -> HttpResponse:
    """A problem with the change: htmx puts the notice above the editor; without htmx the page
    comes back with it."""
    if request.htmx:
        context = {"course": access.course, "dataset": example.dataset, "example": example, **notice}
        response = render(request, template, context, status=status)
        return reswap(retarget(response, "#example-notice"), "innerHTML")
    context = _editor_context(access, example, notice_template=template, **notice)
    return render(request, "dialogs/example.html", context, status=status)


def _conflict(
    request: HttpRequest,
    access: CourseAccess,
    current: Example,
    *,
    version: int,
    concerns: int | None,
    yours: str | None,
    system: bool = False,
) -> HttpResponse:
    """Someone saved a newer version: show theirs (the message concerned, and what they changed)
    beside the text this curator typed, and write nothing."""
    theirs = None
    if system:
        theirs = lines.system_message(current, current.dataset)
    elif concerns is not None and 0 <= concerns < len(current.messages):
        theirs = Row(concerns, current.messages[concerns]).text
    meanwhile = current.revisions.filter(version__gt=version).select_related("author").order_by("version")
    return _notice(
        request,
        access,
        current,
        "dialogs/_example_conflict.html",
        409,
        other=current.updated_by,
        meanwhile=list(meanwhile),
        concerns=concerns,
        concerns_number=None if concerns is None else concerns + 1,
        system_concerned=system,
        theirs=theirs,
        yours=yours,
        changes=revisions.changes_since(current, version),
    )


def _problem(request: HttpRequest, access: CourseAccess, example: Example, text: str, status: int) -> HttpResponse:
    return _notice(request, access, example, "dialogs/_example_notice.html", status, problem=text)


def _form_problem(request: HttpRequest, access: CourseAccess, example: Example, form: forms.Form) -> HttpResponse:
    if "version" in form.errors:
        text = _("The page is out of date. Load the current version and try again.")
    else:
        text = " ".join(str(error) for errors in form.errors.values() for error in errors)
    return _problem(request, access, example, text, 400)


def _change(
    request: HttpRequest,
    access: CourseAccess,
    example: Example,
    form: forms.Form,
    build: Callable[[dict], services.Change],
    *,
    concerns: int | None = None,
    system: bool = False,
    done: Callable[[Example], HttpResponse] | None = None,
    **extra: Any,
) -> HttpResponse:
    """Validate, apply one change through `services.example_change`, answer with what changed."""
    if not form.is_valid():
        return _form_problem(request, access, example, form)
    version = form.cleaned_data["version"]
    try:
        example = services.example_change(
            example=example, version=version, user=request.user, change=build(form.cleaned_data)
        )
    except services.ExampleConflict as conflict:
        yours = form.cleaned_data.get("content")
        return _conflict(
            request, access, conflict.current, version=version, concerns=concerns, yours=yours, system=system
        )
    except IndexError:
        text = _("That message is no longer in this example. Load the current version and try again.")
        return _problem(request, access, example, text, 409)
    except ValueError:
        return _problem(request, access, example, _("This change does not apply to that message."), 400)
    if done is not None:
        return done(example)
    return _updated(request, access, example, **extra)


def _example_view(*methods: str):
    """Find the example among the curator's courses first (404 for anyone else, whatever the
    method), then check the method."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @functools.wraps(view)
        def wrapper(request: HttpRequest, slug: str, dataset_id: int, example_id: int, **kwargs: Any) -> HttpResponse:
            access, example = get_example_for_user(request.user, slug, dataset_id, example_id)
            if request.method not in methods:
                return HttpResponseNotAllowed(methods)
            return view(request, access, example, **kwargs)

        return wrapper

    return decorate


# Views.


@_example_view("GET")
def example_edit(request: HttpRequest, access: CourseAccess, example: Example) -> HttpResponse:
    if request.htmx:  # "load their version" after a conflict: the notice with the curator's own text stays
        context = _editor_context(access, example, keep_notice=bool(request.GET.get("keep_notice")))
        return render(request, "dialogs/_example_update.html", context)
    return render(request, "dialogs/example.html", _editor_context(access, example))


@_example_view("POST")
def example_content(request: HttpRequest, access: CourseAccess, example: Example, index: int) -> HttpResponse:
    return _change(
        request,
        access,
        example,
        ContentForm(request.POST),
        lambda data: services.set_content(index, data["content"]),
        concerns=index,
    )


@_example_view("POST")
def example_delete_message(request: HttpRequest, access: CourseAccess, example: Example, index: int) -> HttpResponse:
    return _change(
        request, access, example, VersionForm(request.POST), lambda data: services.delete_message(index), concerns=index
    )


@_example_view("POST")
def example_insert(request: HttpRequest, access: CourseAccess, example: Example) -> HttpResponse:
    form = InsertForm(request.POST)
    position = form.cleaned_data["position"] if form.is_valid() else None
    return _change(
        request,
        access,
        example,
        form,
        lambda data: services.insert_message(data["position"], data["role"]),
        editing=position,  # the new message opens for typing
    )


@_example_view("POST")
def example_role(request: HttpRequest, access: CourseAccess, example: Example, index: int) -> HttpResponse:
    return _change(
        request,
        access,
        example,
        RoleForm(request.POST),
        lambda data: services.set_role(index, data["role"]),
        concerns=index,
    )


@_example_view("POST")
def example_weight(request: HttpRequest, access: CourseAccess, example: Example, index: int) -> HttpResponse:
    return _change(
        request,
        access,
        example,
        WeightForm(request.POST),
        lambda data: services.set_weight(index, data["learn"]),
        concerns=index,
    )


@_example_view("POST")
def example_system(request: HttpRequest, access: CourseAccess, example: Example) -> HttpResponse:
    form = SystemForm(request.POST)
    if form.is_valid() and _same_as_followed(example, form.cleaned_data):
        return _updated(request, access, example)  # saved unchanged: it keeps following the assistant
    return _change(
        request,
        access,
        example,
        form,
        lambda data: services.set_system(None if data["follow"] else data["content"]),
        system=True,
    )


def _same_as_followed(example: Example, data: dict) -> bool:
    followed = example.dataset.system_prompt().replace("\r\n", "\n")
    return not example.system_overridden and not data["follow"] and data["content"] == followed


@_example_view("POST")
def example_redact(request: HttpRequest, access: CourseAccess, example: Example) -> HttpResponse:
    form = RedactForm(request.POST)
    index = form.cleaned_data["index"] if form.is_valid() else None
    return _change(request, access, example, form, lambda data: services.redact(data["index"]), concerns=index)


@_example_view("POST")
def example_split(request: HttpRequest, access: CourseAccess, example: Example) -> HttpResponse:
    return _change(request, access, example, SplitForm(request.POST), lambda data: services.set_split(data["split"]))


@_example_view("POST")
def example_status(request: HttpRequest, access: CourseAccess, example: Example) -> HttpResponse:
    """Save (mark ready, back to the dataset) or set a ready example back to draft."""

    def back_to_dataset(saved: Example) -> HttpResponse:
        messages.success(request, _("Example %(number)s is ready.") % {"number": saved.pk})
        url = _dataset_url(access, saved)
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)

    form = StatusForm(request.POST)
    if form.is_valid() and form.cleaned_data["status"] == Example.Status.READY:
        if example.status == Example.Status.READY and form.cleaned_data["version"] == example.version:
            return back_to_dataset(example)  # nothing to record
        return _change(
            request, access, example, form, lambda data: services.set_status(data["status"]), done=back_to_dataset
        )
    return _change(request, access, example, form, lambda data: services.set_status(data["status"]))


@_example_view("POST")
def example_move(request: HttpRequest, access: CourseAccess, example: Example) -> HttpResponse:
    """Into another dataset of the course: 🎓 from the chat puts an example in its assistant's."""
    form = MoveForm(request.POST, example=example)
    if "dataset" in form.errors:
        raise Http404  # not a dataset of this course

    def to_its_editor(moved: Example) -> HttpResponse:
        text = _("Example %(number)s moved to %(dataset)s.") % {"number": moved.pk, "dataset": moved.dataset.name}
        messages.success(request, text)
        url = _editor_url(access, moved)
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)

    return _change(request, access, example, form, lambda data: services.move_to(data["dataset"]), done=to_its_editor)


def _gone(request: HttpRequest, access: CourseAccess, example: Example, text: str) -> HttpResponse:
    messages.success(request, text)
    url = _dataset_url(access, example)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@_example_view("POST")
def example_discard(request: HttpRequest, access: CourseAccess, example: Example) -> HttpResponse:
    """Discard drops a draft; a ready example is deleted instead (after a confirmation)."""
    if not services.example_discard(example=example):
        text = _("Only a draft can be discarded. Delete a ready example instead.")
        return _problem(request, access, example, text, 400)
    return _gone(request, access, example, _("Draft %(number)s discarded.") % {"number": example.pk})


@_example_view("POST")
def example_delete(request: HttpRequest, access: CourseAccess, example: Example) -> HttpResponse:
    form = VersionForm(request.POST)
    if not form.is_valid():
        return _form_problem(request, access, example, form)
    number = example.pk
    try:
        services.example_delete(example=example, version=form.cleaned_data["version"])
    except services.ExampleConflict as conflict:
        version = form.cleaned_data["version"]
        return _conflict(request, access, conflict.current, version=version, concerns=None, yours=None)
    return _gone(request, access, example, _("Example %(number)s deleted.") % {"number": number})


@_example_view("GET")
def example_revision(request: HttpRequest, access: CourseAccess, example: Example, version: int) -> HttpResponse:
    """One revision: what it changed against the one before it."""
    revision = get_object_or_404(example.revisions.select_related("author"), version=version)
    context = {
        "course": access.course,
        "access": access,
        "dataset": example.dataset,
        "example": example,
        "revision": revision,
        "changes": revisions.revision_changes(revision),
    }
    template = "dialogs/example_revision.html#diff" if request.htmx else "dialogs/example_revision.html"
    return render(request, template, context)
