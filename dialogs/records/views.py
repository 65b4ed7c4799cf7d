"""The curators' dialogs: the filtered list (with bulk 🎓), one dialog's transcript, and 🎓 itself,
which copies the dialog (or its first turns) into an example and opens the editor."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from courses.access import CourseAccess, get_course_for_user
from courses.models import Membership

from ..access import get_dialog_for_user
from ..datasets import services
from ..models import Dataset, Dialog
from . import triage
from .filters import PAGE_SIZES, DialogFilterForm, dialog_page, searches_word_starts


class GraduateForm(forms.Form):
    """🎓: into which dataset (empty: the assistant's), and after which answer (empty: all)."""

    dataset = forms.ModelChoiceField(label=gettext_lazy("Dataset"), queryset=Dataset.objects.none(), required=False)
    upto = forms.IntegerField(required=False, min_value=1)

    def __init__(self, data, *, access: CourseAccess):
        super().__init__(data)
        self.fields["dataset"].queryset = Dataset.objects.filter(course=access.course)


class BulkAddForm(GraduateForm):
    dialog = forms.ModelMultipleChoiceField(queryset=Dialog.objects.none())

    def __init__(self, data, *, access: CourseAccess):
        super().__init__(data, access=access)
        self.fields["dialog"].queryset = Dialog.objects.filter(course=access.course).select_related("assistant")
        self.fields["dialog"].error_messages["required"] = gettext_lazy("Select at least one dialog.")


def _datasets(access: CourseAccess) -> list[Dataset]:
    return list(Dataset.objects.filter(course=access.course).order_by("name"))


@require_GET
@login_required
def dialog_list(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_course_for_user(request.user, slug, role=Membership.Role.CURATOR)
    course = access.course
    assistants = list(course.assistants.order_by("name"))
    form = DialogFilterForm(request.GET, course=course, assistants=assistants)
    values = form.values()
    context = {
        "course": access.course,
        "access": access,
        "form": form,
        "page": dialog_page(course, values),
        "triage_left": triage.triage_left(course),
        "datasets": _datasets(access),
        "page_sizes": PAGE_SIZES,
        "models": sorted({assistant.model for assistant in assistants if assistant.model}),
        "query": request.GET.urlencode(),
    }
    return render(request, "dialogs/dialog_list.html", context)


@require_POST
@login_required
def dialogs_add(request: HttpRequest, slug: str) -> HttpResponse:
    """Bulk 🎓 from the list: the selected dialogs become draft examples."""
    access = get_course_for_user(request.user, slug, role=Membership.Role.CURATOR)
    form = BulkAddForm(request.POST, access=access)
    back = reverse("dialogs:list", kwargs={"slug": access.course.slug})
    query = QueryDict(request.POST.get("back", "")).urlencode()  # re-encoded: only ever a query string
    if query:
        back = f"{back}?{query}"
    if not form.is_valid():
        if (
            "dataset" in form.errors
            or form.has_error("dialog", "invalid_choice")
            or form.has_error("dialog", "invalid_pk_value")
        ):
            raise Http404  # another course's dataset or dialog
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect(back)
    result = services.examples_from_dialogs(
        dialogs=form.cleaned_data["dialog"].order_by("pk"), dataset=form.cleaned_data["dataset"], user=request.user
    )
    if result.added:
        names = ", ".join(sorted({example.dataset.name for example in result.added}))
        messages.success(
            request, _("Dialogs added to %(datasets)s: %(count)d.") % {"datasets": names, "count": len(result.added)}
        )
    if result.skipped:
        messages.warning(
            request,
            _("Dialogs skipped, already in the dataset or without an assistant: %(count)d.")
            % {"count": len(result.skipped)},
        )
    return redirect(back)


@require_GET
@login_required
def dialog_detail(request: HttpRequest, slug: str, dialog_id: int) -> HttpResponse:
    access, dialog = get_dialog_for_user(request.user, slug, dialog_id)
    transcript = list(
        dialog.messages.filter(replaced_at__isnull=True).select_related("instructions_version").order_by("position")
    )
    prefetch_related_objects([message for message in transcript if message.image_count], "images")
    datasets = _datasets(access)
    context = {
        "course": access.course,
        "access": access,
        "dialog": dialog,
        "transcript": transcript,
        "examples": dialog.examples.select_related("dataset", "created_by").order_by("pk"),
        "datasets": datasets,
        "default_dataset": services.assistant_dataset(dialog.assistant, datasets) if dialog.assistant else None,
        "replaced_count": dialog.messages.filter(replaced_at__isnull=False).count(),
        "flags": triage.labels_of(dialog.flags),
        # Opened from a search: the page marks the searched words in the transcript.
        "search": request.GET.get("q", "").strip()[:200],
        "search_prefixes": searches_word_starts(),
    }
    return render(request, "dialogs/dialog.html", context)


@require_POST
@login_required
def dialog_graduate(request: HttpRequest, slug: str, dialog_id: int) -> HttpResponse:
    """🎓: copy the dialog — up to the chosen answer, if any — into a draft example and open it in
    the editor. The dialog itself is not changed."""
    access, dialog = get_dialog_for_user(request.user, slug, dialog_id)
    form = GraduateForm(request.POST, access=access)
    if not form.is_valid():
        raise Http404  # another course's dataset, or a malformed answer id
    upto = None
    if form.cleaned_data["upto"]:
        upto = get_object_or_404(services.graduation_answers(dialog), pk=form.cleaned_data["upto"])
    try:
        example = services.dialog_graduate(
            dialog=dialog, dataset=form.cleaned_data["dataset"], user=request.user, upto=upto
        )
    except services.NoDefaultDataset:
        messages.error(request, _("This dialog's assistant was deleted: choose a dataset."))
        return redirect("dialogs:detail", slug=access.course.slug, dialog_id=dialog.pk)
    return redirect("dialogs:example", slug=access.course.slug, dataset_id=example.dataset_id, example_id=example.pk)
