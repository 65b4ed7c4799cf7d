"""The example editor: every message edited in place, each change one POST that carries the
version the page was loaded at. htmx swaps the messages, the side panel and the history; without
JavaScript the same forms POST and redirect back.

A change made against an older version is a conflict (HTTP 409): nothing is written, and the
notice shows what the other curator wrote next to the text this curator typed.
"""

import functools
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from core.images import ImageRefused
from courses.access import CourseAccess

from ..access import get_example_for_user
from ..models import Example
from . import edits, lines, revisions, services
from .editor_page import Row, editor_context
from .forms import (
    ContentForm,
    ExampleSplitForm,
    ImageForm,
    InsertForm,
    MoveForm,
    RedactForm,
    RoleForm,
    StatusForm,
    SystemForm,
    VersionForm,
    WeightForm,
)


def _editor_url(access: CourseAccess, example: Example) -> str:
    return reverse("dialogs:example", args=[access.course.slug, example.dataset_id, example.pk])


def _dataset_url(access: CourseAccess, example: Example) -> str:
    return reverse("dialogs:dataset", args=[access.course.slug, example.dataset_id])


def _updated(request: HttpRequest, access: CourseAccess, example: Example, **extra: Any) -> HttpResponse:
    """After a change: the parts that changed (htmx), or the editor page again."""
    if request.htmx:
        return render(request, "dialogs/_example_update.html", editor_context(access, example, **extra))
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
    context = editor_context(access, example, notice_template=template, **notice)
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
    build: Callable[[dict], edits.Change],
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
    except ImageRefused as refused:  # one image too many for the message
        return _problem(request, access, example, refused.message, 400)
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
        context = editor_context(access, example, keep_notice=bool(request.GET.get("keep_notice")))
        return render(request, "dialogs/_example_update.html", context)
    return render(request, "dialogs/example.html", editor_context(access, example))


@_example_view("POST")
def example_content(request: HttpRequest, access: CourseAccess, example: Example, index: int) -> HttpResponse:
    return _change(
        request,
        access,
        example,
        ContentForm(request.POST),
        lambda data: edits.set_content(index, data["content"]),
        concerns=index,
    )


@_example_view("POST")
def example_delete_message(request: HttpRequest, access: CourseAccess, example: Example, index: int) -> HttpResponse:
    return _change(
        request, access, example, VersionForm(request.POST), lambda data: edits.delete_message(index), concerns=index
    )


@_example_view("POST")
def example_image_remove(
    request: HttpRequest, access: CourseAccess, example: Example, index: int, number: int
) -> HttpResponse:
    form = VersionForm(request.POST)
    return _change(request, access, example, form, lambda data: edits.remove_image(index, number), concerns=index)


@_example_view("POST")
def example_image_add(request: HttpRequest, access: CourseAccess, example: Example, index: int) -> HttpResponse:
    """An image uploaded onto a user message, checked and cleaned as the chat's are (ImageForm)."""
    form = ImageForm(request.POST, request.FILES)
    return _change(request, access, example, form, lambda data: edits.add_image(index, data["image"]), concerns=index)


@_example_view("POST")
def example_insert(request: HttpRequest, access: CourseAccess, example: Example) -> HttpResponse:
    form = InsertForm(request.POST)
    position = form.cleaned_data["position"] if form.is_valid() else None
    return _change(
        request,
        access,
        example,
        form,
        lambda data: edits.insert_message(data["position"], data["role"]),
        editing=position,  # the new message opens for typing
    )


@_example_view("POST")
def example_role(request: HttpRequest, access: CourseAccess, example: Example, index: int) -> HttpResponse:
    return _change(
        request,
        access,
        example,
        RoleForm(request.POST),
        lambda data: edits.set_role(index, data["role"]),
        concerns=index,
    )


@_example_view("POST")
def example_weight(request: HttpRequest, access: CourseAccess, example: Example, index: int) -> HttpResponse:
    return _change(
        request,
        access,
        example,
        WeightForm(request.POST),
        lambda data: edits.set_weight(index, data["learn"]),
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
        lambda data: edits.set_system(None if data["follow"] else data["content"]),
        system=True,
    )


def _same_as_followed(example: Example, data: dict) -> bool:
    followed = example.dataset.system_prompt().replace("\r\n", "\n")
    return not example.system_overridden and not data["follow"] and data["content"] == followed


@_example_view("POST")
def example_redact(request: HttpRequest, access: CourseAccess, example: Example) -> HttpResponse:
    form = RedactForm(request.POST)
    index = form.cleaned_data["index"] if form.is_valid() else None
    return _change(request, access, example, form, lambda data: edits.redact(data["index"]), concerns=index)


@_example_view("POST")
def example_split(request: HttpRequest, access: CourseAccess, example: Example) -> HttpResponse:
    return _change(
        request, access, example, ExampleSplitForm(request.POST), lambda data: edits.set_split(data["split"])
    )


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
            request, access, example, form, lambda data: edits.set_status(data["status"]), done=back_to_dataset
        )
    return _change(request, access, example, form, lambda data: edits.set_status(data["status"]))


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

    return _change(request, access, example, form, lambda data: edits.move_to(data["dataset"]), done=to_its_editor)


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
