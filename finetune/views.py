"""Fine-tuning pages for curators: the runs, starting one, a run's page, its actions and downloads."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from courses.access import get_course_for_user
from courses.models import Membership
from dialogs.access import get_dataset_for_user
from llm.catalog import OPENAI, OPENAI_FINE_TUNING_ENDS, get_model, tunable_models
from training import files as training_files

from . import selfhosted, services, tracking
from .access import get_run_for_user, get_snapshot_for_user
from .backends import INTERACTIVE, BackendError, backend_for
from .forms import StartTrainingForm, tunable_providers
from .models import Run, TrainedModel
from .plans import dataset_has_pairs, run_estimate, run_plan
from .selectors import loss_chart


@require_GET
@login_required
def run_list(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_course_for_user(request.user, slug, role=Membership.Role.CURATOR)
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
    access, dataset = get_dataset_for_user(request.user, slug, dataset_id)
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
        provider, base_model = form.cleaned_data["provider"], form.cleaned_data["base_model"]
        choice = {"provider": provider, "base_model": base_model, "method": form.cleaned_data["method"]}
        if request.method == "POST":
            try:
                run = services.run_start(
                    dataset=dataset,
                    **choice,
                    since=form.since,
                    hyperparameters=form.hyperparameters(),
                    suffix=form.cleaned_data["suffix"],
                    user=request.user,
                )
            except services.PlanBlocked as blocked:
                plan = blocked.plan  # the page says what stops it
            else:
                if provider.is_self_hosted:
                    messages.success(request, _("Training is starting: the run is queued for a training host."))
                else:
                    messages.success(request, _("Training is starting: the files are being sent to the provider."))
                return redirect(run)
        if plan is None:
            plan = run_plan(dataset=dataset, **choice, since=form.since)
        estimate = run_estimate(plan=plan, provider=provider, base_model=base_model, requested=form.hyperparameters())
        form.show_defaults(estimate.defaults)
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
        "actual_cost": tracking.run_actual_cost(run),
        "trained_model": TrainedModel.objects.filter(run=run).first(),
        "course_assistants": access.course.assistants.order_by("name"),  # ▶ right here once trained
        "a_minute_ago": timezone.now() - datetime.timedelta(minutes=1),
        "job": selfhosted.job_of(run),
    }


@require_GET
@login_required
def run_detail(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    access, run = get_run_for_user(request.user, slug, run_id)
    if request.htmx:
        # The page polls while the run is active: the worker asks the provider (no call here).
        tracking.run_sync_enqueue_if_stale(run=run)
        return render(request, "finetune/run.html#status", _run_context(access, run))
    return render(request, "finetune/run.html", _run_context(access, run))


@require_POST
@login_required
def run_refresh(request: HttpRequest, slug: str, run_id: int) -> HttpResponse:
    """🔄: ask the provider now (two calls), then show the run as it is."""
    access, run = get_run_for_user(request.user, slug, run_id)
    run = tracking.run_sync(run=run, backend=backend_for(run.provider, **INTERACTIVE))
    if request.htmx:
        return render(request, "finetune/run.html#status", _run_context(access, run))
    return redirect(run)


@require_POST
@login_required
def run_action(request: HttpRequest, slug: str, run_id: int, action: str) -> HttpResponse:
    _access, run = get_run_for_user(request.user, slug, run_id)
    actions = {"cancel": tracking.run_cancel, "pause": tracking.run_pause, "resume": tracking.run_resume}
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
    _access, snapshot = get_snapshot_for_user(request.user, slug, snapshot_id)
    field = {"train": snapshot.training_file, "validation": snapshot.validation_file}.get(split)
    if not field:
        raise Http404
    name = f"{snapshot.dataset_name}-{snapshot.pk}-{split}.jsonl"
    return FileResponse(field.open("rb"), as_attachment=True, filename=name, content_type="application/jsonl")


@require_GET
@login_required
def run_log(request: HttpRequest, slug: str, run_id: int) -> FileResponse:
    """The whole log of a self-hosted run's trainer (the run page shows its last lines)."""
    _access, run = get_run_for_user(request.user, slug, run_id)
    job = selfhosted.job_of(run)
    if job is None or not job.log_file:
        raise Http404
    handle = training_files.storage().open(job.log_file, "rb")
    name = f"run-{run.pk}-trainer.log"
    return FileResponse(handle, as_attachment=True, filename=name, content_type="text/plain; charset=utf-8")
