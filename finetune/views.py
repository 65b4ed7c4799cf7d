"""Fine-tuning pages for curators: start training, runs, trained models, activation, evaluation."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from core.streaming import stream_for
from dialogs.access import curator_access, get_dataset_for_curator
from llm.catalog import OPENAI, OPENAI_FINE_TUNING_ENDS, get_model, tunable_models
from training import files as training_files
from training import services as training_services
from trainingfiles.validation import MIN_EXAMPLES

from . import evaluation as evaluations
from . import selfhosted, services
from .access import (
    get_assistant_for_curator,
    get_evaluation_for_curator,
    get_model_for_curator,
    get_run_for_curator,
    get_snapshot_for_curator,
)
from .backends import INTERACTIVE, BackendError, backend_for
from .forms import ActivateForm, StartTrainingForm, VerdictForm, tunable_providers
from .models import Activation, Run, TrainedModel
from .plans import dataset_has_pairs, run_estimate, training_plan
from .selectors import activation_history, instructions_drifted, loss_chart, shutdown_warnings


@require_GET
@login_required
def run_list(request: HttpRequest, slug: str) -> HttpResponse:
    access = curator_access(request, slug)
    course = access.course
    context = {
        "course": course,
        "access": access,
        "runs": course.runs.select_related("provider", "dataset", "snapshot", "created_by")[:100],
        "trained_models": course.trained_models.select_related("provider", "run")[:100],
        "datasets": course.datasets.order_by("name"),
    }
    return render(request, "finetune/run_list.html", context)


def _initial_data(dataset, providers) -> dict:
    """The start page's first values: the assistant's provider, the dataset's base model."""
    provider = dataset.assistant.provider if dataset.assistant else None
    if provider is None or provider not in providers:
        provider = providers[0] if providers else None
    if provider is None:
        return {"provider": "", "base_model": "", "method": "supervised"}
    if provider.is_self_hosted:
        names = [model.name for model in selfhosted.base_models(provider)]
    else:
        names = [model.id for model in tunable_models(provider.kind)]
    info = get_model(dataset.base_model) if dataset.base_model else None
    wanted = info.id if info else dataset.base_model
    model = wanted if wanted in names else (names[0] if names else "")
    return {"provider": provider.pk, "base_model": model, "method": "supervised"}


@require_http_methods(["GET", "POST"])
@login_required
def run_new(request: HttpRequest, slug: str, dataset_id: int) -> HttpResponse:
    """GET (also with the form's values, to update the estimate) shows the plan; POST starts it."""
    access, dataset = get_dataset_for_curator(request, slug, dataset_id)
    has_pairs = dataset_has_pairs(dataset)
    providers = list(tunable_providers())
    # Always bound: the first view shows the plan for sensible defaults at once.
    data = request.POST if request.method == "POST" else (request.GET or _initial_data(dataset, providers))
    form = StartTrainingForm(data, has_pairs=has_pairs, course=access.course)
    if request.method == "GET" and form.model_ids and data.get("base_model") not in form.model_ids:
        # Another provider was chosen: its first model, not an error about the previous one's.
        data = data.copy()
        data["base_model"] = form.model_ids[0]
        form = StartTrainingForm(data, has_pairs=has_pairs, course=access.course)
    plan = estimate = None
    if form.is_valid():
        continued = form.continued
        since = continued.run.snapshot.created_at if continued and form.cleaned_data.get("only_new") else None
        base_model = form.cleaned_data["base_model"]
        provider = form.cleaned_data["provider"]
        plan = training_plan(
            dataset=dataset,
            method=form.cleaned_data["method"],
            base_model=base_model,
            since=since,
            min_examples=1 if provider.is_self_hosted else MIN_EXAMPLES,
        )
        estimate = run_estimate(plan=plan, provider=provider, base_model=base_model, requested=form.hyperparameters())
        form.show_defaults(estimate.defaults)
        if request.method == "POST" and not plan.is_blocked:
            run = services.run_start(
                dataset=dataset,
                plan=plan,
                provider=provider,
                base_model=base_model,
                hyperparameters=form.hyperparameters(),
                suffix=form.cleaned_data["suffix"],
                user=request.user,
            )
            if provider.is_self_hosted:
                messages.success(request, _("Training is starting: the run is queued for a training host."))
            else:
                messages.success(request, _("Training is starting: the files are being sent to the provider."))
            return redirect(run)
    provider = form.chosen_provider or (providers[0] if providers else None)
    context = {
        "course": access.course,
        "access": access,
        "dataset": dataset,
        "form": form,
        "plan": plan,
        "estimate": estimate,
        "has_pairs": has_pairs,
        "providers": providers,
        "models": tunable_models(provider.kind) if provider and not provider.is_self_hosted else [],
        "base_models": selfhosted.base_models(provider) if provider and provider.is_self_hosted else [],
        "provider": provider,
        "openai_end": OPENAI_FINE_TUNING_ENDS if provider and provider.kind == OPENAI else None,
    }
    return render(request, "finetune/run_new.html", context)


def _run_context(access, run: Run) -> dict:
    points = list(run.metrics.all())
    return {
        "course": access.course,
        "access": access,
        "run": run,
        "chart": loss_chart(points),
        "events": run.events.all()[:200],
        "checkpoints": run.checkpoints.all(),
        "actual_cost": services.run_actual_cost(run),
        "trained_model": TrainedModel.objects.filter(run=run).first(),
        "course_assistants": access.course.assistants.order_by("name"),  # ▶ right here once trained
        "a_minute_ago": timezone.now() - datetime.timedelta(minutes=1),
        "job": selfhosted.job_of(run),
    }


@require_GET
@login_required
def run_detail(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    access, run = get_run_for_curator(request, slug, run_id)
    if request.htmx:
        # The page polls while the run is active: the worker asks the provider (no call here).
        services.run_sync_enqueue_if_stale(run=run)
        return render(request, "finetune/run.html#status", _run_context(access, run))
    return render(request, "finetune/run.html", _run_context(access, run))


@require_POST
@login_required
def run_refresh(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    """🔄: ask the provider now (two calls), then show the run as it is."""
    access, run = get_run_for_curator(request, slug, run_id)
    run = services.run_sync(run=run, backend=backend_for(run.provider, **INTERACTIVE))
    if request.htmx:
        return render(request, "finetune/run.html#status", _run_context(access, run))
    return redirect(run)


@require_POST
@login_required
def run_action(request: HttpRequest, slug: str, run_id: int, action: str) -> HttpResponse:
    _access, run = get_run_for_curator(request, slug, run_id)
    actions = {"cancel": services.run_cancel, "pause": services.run_pause, "resume": services.run_resume}
    if action == "retry":
        if run.job_id or run.status != Run.Status.FAILED:
            raise Http404
        services.run_retry(run=run)
        messages.success(request, _("The submission is being tried again."))
    elif action == "rerun":
        if run.status not in (Run.Status.FAILED, Run.Status.CANCELLED):
            raise Http404
        run = services.run_rerun(run=run, user=request.user)
        messages.success(request, _("A new run of the same snapshot is starting."))
    elif action == "retrain":  # the same snapshot on another provider (its model stops serving)
        if run.status != Run.Status.SUCCEEDED:
            raise Http404
        provider = tunable_providers().filter(pk=request.POST.get("provider") or 0).first()
        if provider is None:
            raise Http404
        try:
            run = services.run_rerun(
                run=run, user=request.user, provider=provider, base_model=request.POST.get("base_model", "")
            )
        except BackendError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("The same snapshot is training on %(provider)s (%(model)s).")
                % {"provider": provider.name, "model": run.base_model},
            )
    elif action in actions:
        try:
            actions[action](run=run)
        except BackendError as error:
            messages.error(request, error.message)
    else:
        raise Http404
    return redirect(run)


@require_GET
@login_required
def snapshot_download(request: HttpRequest, slug: str, snapshot_id: int, split: str) -> FileResponse:
    _access, snapshot = get_snapshot_for_curator(request, slug, snapshot_id)
    field = {"train": snapshot.training_file, "validation": snapshot.validation_file}.get(split)
    if not field:
        raise Http404
    name = f"{snapshot.dataset_name}-{snapshot.pk}-{split}.jsonl"
    return FileResponse(field.open("rb"), as_attachment=True, filename=name, content_type="application/jsonl")


@require_GET
@login_required
def run_log(request: HttpRequest, slug: str, run_id: int) -> FileResponse:
    """The whole log of a self-hosted run's trainer (the run page shows its last lines)."""
    _access, run = get_run_for_curator(request, slug, run_id)
    job = selfhosted.job_of(run)
    if job is None or not job.log_file:
        raise Http404
    handle = training_files.storage().open(job.log_file, "rb")
    name = f"run-{run.pk}-trainer.log"
    return FileResponse(handle, as_attachment=True, filename=name, content_type="text/plain; charset=utf-8")


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
    _access, trained = get_model_for_curator(request, slug, model_id)
    return _zip_response(request, _trained_job(trained).adapter_path, f"{trained.name}-adapter")


@require_POST
@login_required
def model_merge(request: HttpRequest, slug: str, model_id: int) -> HttpResponse:
    """Ask a training host for the merged model (a plain model directory, for servers without LoRA)."""
    _access, trained = get_model_for_curator(request, slug, model_id)
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
    _access, trained = get_model_for_curator(request, slug, model_id)
    job = _trained_job(trained)
    if job.merge_status != "done" or not job.merged_path:
        raise Http404
    return _zip_response(request, job.merged_path, f"{trained.name}-merged")


@require_GET
@login_required
def model_detail(request: HttpRequest, slug: str, model_id: int) -> HttpResponse:
    access, trained = get_model_for_curator(request, slug, model_id)
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
    access, trained = get_model_for_curator(request, slug, model_id)
    form = ActivateForm(request.POST, course=access.course)
    if not form.is_valid():
        raise Http404  # an assistant of another course, or none
    assistant = form.cleaned_data["assistant"]
    try:
        services.model_activate(trained_model=trained, assistant=assistant, user=request.user)
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
    _access, assistant = get_assistant_for_curator(request, slug, assistant_id)
    try:
        activation: Activation | None = services.assistant_rollback(assistant=assistant, user=request.user)
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
    _access, trained = get_model_for_curator(request, slug, model_id)
    evaluation = evaluations.evaluation_start(trained_model=trained, user=request.user)
    return redirect("finetune:evaluation", slug=slug, evaluation_id=evaluation.pk)


@require_http_methods(["GET", "POST"])
@login_required
def evaluation_detail(request: HttpRequest, slug: str, evaluation_id: int) -> HttpResponse:
    """Progress while answering, then blind review: one unjudged item at a time, in random order."""
    access, evaluation = get_evaluation_for_curator(request, slug, evaluation_id)
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
