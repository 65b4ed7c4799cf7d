"""Trained model pages: the model, its adapter and merged ZIPs, ▶ activation and rollback, blind evaluation."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from assistants.access import get_assistant_for_user
from core.streaming import stream_for
from training import files as training_files
from training import services as training_services

from . import activation as activations
from . import evaluation as evaluations
from . import selfhosted
from .access import get_evaluation_for_user, get_trained_model_for_user
from .backends import BackendError
from .forms import ActivateForm, VerdictForm
from .models import Activation, TrainedModel
from .selectors import activation_history, instructions_drifted, shutdown_warnings


def _trained_job(trained: TrainedModel):
    job = selfhosted.job_of(trained.run)
    if job is None or not job.adapter_path:
        raise Http404
    return job


def _zip_response(request: HttpRequest, prefix: str, name: str) -> StreamingHttpResponse:
    root = slugify(name) or "model"
    response = StreamingHttpResponse(stream_for(request, training_files.zip_stream(prefix, root=root)))
    response["Content-Type"] = "application/zip"
    response["Content-Disposition"] = content_disposition_header(True, f"{root}.zip")
    return response


@require_GET
@login_required
def model_adapter(request: HttpRequest, slug: str, model_id: int) -> StreamingHttpResponse:
    """A self-hosted model's LoRA adapter (safetensors, its config, tokenizer, manifest) as a ZIP."""
    _access, trained = get_trained_model_for_user(request.user, slug, model_id)
    return _zip_response(request, _trained_job(trained).adapter_path, f"{trained.name}-adapter")


@require_POST
@login_required
def model_merge(request: HttpRequest, slug: str, model_id: int) -> HttpResponse:
    """Ask a training host for the merged model (a plain model directory, for servers without LoRA)."""
    _access, trained = get_trained_model_for_user(request.user, slug, model_id)
    try:
        training_services.merge_request(job=_trained_job(trained))
    except training_services.JobError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("A training host is merging the adapter into the base model."))
    return redirect(trained)


@require_GET
@login_required
def model_merged(request: HttpRequest, slug: str, model_id: int) -> StreamingHttpResponse:
    _access, trained = get_trained_model_for_user(request.user, slug, model_id)
    job = _trained_job(trained)
    if job.merge_status != "done" or not job.merged_path:
        raise Http404
    return _zip_response(request, job.merged_path, f"{trained.name}-merged")


@require_GET
@login_required
def model_detail(request: HttpRequest, slug: str, model_id: int) -> HttpResponse:
    access, trained = get_trained_model_for_user(request.user, slug, model_id)
    assistants = list(access.course.assistants.select_related("provider").order_by("name"))
    latest = trained.evaluations.first()
    context = {
        "course": access.course,
        "access": access,
        "trained": trained,
        "form": ActivateForm(course=access.course),
        "assistants": [
            {
                "assistant": assistant,
                "active": assistant.model == trained.name and assistant.provider_id == trained.provider_id,
                "drifted": instructions_drifted(trained, assistant),
                "can_roll_back": assistant.activations.exists(),
            }
            for assistant in assistants
        ],
        "history": activation_history(assistants),
        "warnings": shutdown_warnings(trained.name, trained.base_model),
        "evaluation": latest,
        "win_rate": evaluations.win_rate(trained),
        "job": selfhosted.job_of(trained.run),
    }
    return render(request, "finetune/model.html", context)


def _say_switch_refused(request: HttpRequest, assistant, error: BackendError) -> None:
    """▶ or rollback refused (the model server cannot answer with the model): the assistant stays."""
    messages.error(
        request, _("%(assistant)s keeps its model: %(reason)s") % {"assistant": assistant.name, "reason": error.message}
    )


@require_POST
@login_required
def model_activate(request: HttpRequest, slug: str, model_id: int) -> HttpResponse:
    access, trained = get_trained_model_for_user(request.user, slug, model_id)
    form = ActivateForm(request.POST, course=access.course)
    if not form.is_valid():
        raise Http404  # an assistant of another course, or none
    assistant = form.cleaned_data["assistant"]
    try:
        activations.model_activate(trained_model=trained, assistant=assistant, user=request.user)
    except BackendError as error:
        _say_switch_refused(request, assistant, error)
        return redirect(trained)
    messages.success(
        request, _("%(assistant)s now answers with %(model)s.") % {"assistant": assistant.name, "model": trained.name}
    )
    return redirect(trained)


@require_POST
@login_required
def assistant_rollback(request: HttpRequest, slug: str, assistant_id: int) -> HttpResponse:
    _access, assistant = get_assistant_for_user(request.user, slug, assistant_id)
    try:
        activation: Activation | None = activations.assistant_rollback(assistant=assistant, user=request.user)
    except BackendError as error:
        _say_switch_refused(request, assistant, error)
    else:
        if activation is None:
            messages.error(request, _("There is nothing to roll back."))
        else:
            messages.success(
                request,
                _("%(assistant)s answers with %(model)s again.")
                % {"assistant": assistant.name, "model": activation.to_model},
            )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("finetune:runs", args=[slug])  # only a page of this site
    return redirect(back)


@require_POST
@login_required
def evaluation_new(request: HttpRequest, slug: str, model_id: int) -> HttpResponse:
    _access, trained = get_trained_model_for_user(request.user, slug, model_id)
    evaluation = evaluations.evaluation_start(trained_model=trained, user=request.user)
    return redirect("finetune:evaluation", slug=slug, evaluation_id=evaluation.pk)


@require_http_methods(["GET", "POST"])
@login_required
def evaluation_detail(request: HttpRequest, slug: str, evaluation_id: int) -> HttpResponse:
    """Progress while answering, then blind review: one unjudged item at a time, in random order."""
    access, evaluation = get_evaluation_for_user(request.user, slug, evaluation_id)
    if request.method == "POST":
        item = get_object_or_404(evaluation.items, pk=request.POST.get("item"))
        form = VerdictForm(request.POST)
        if form.is_valid():
            evaluations.item_judge(item=item, choice=form.cleaned_data["choice"], user=request.user)
        return redirect("finetune:evaluation", slug=slug, evaluation_id=evaluation.pk)
    item = evaluation.items.filter(answered=True, verdict="").order_by("?").first()
    answers = None
    if item is not None:
        answers = [item.tuned_answer, item.base_answer] if item.tuned_first else [item.base_answer, item.tuned_answer]
    context = {
        "course": access.course,
        "access": access,
        "evaluation": evaluation,
        "trained": evaluation.trained_model,
        "item": item,
        "answers": answers,
        "remaining": evaluation.items.filter(answered=True, verdict="").count(),
        "win_rate": evaluations.win_rate(evaluation.trained_model),
    }
    if request.htmx:
        # The page polls while it has nothing to review: reload it once it has (the first answer
        # pair, or the end of answering). A page showing a pair is left alone: the curator may be
        # reading it, and each verdict loads the page again anyway.
        if request.GET.get("waiting") and (item is not None or not evaluation.is_active):
            return HttpResponseClientRefresh()
        return render(request, "finetune/evaluation.html#progress", context)
    return render(request, "finetune/evaluation.html", context)
