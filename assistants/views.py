from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from courses.access import get_course_for_user
from courses.models import Membership
from llm.catalog import MODELS
from llm.models import ServedModel

from . import services
from .access import get_assistant_for_user
from .forms import ApiKeyForm, AssistantForm, KnowledgeFileForm
from .knowledge import knowledge_file_add, knowledge_file_delete
from .models import ApiKey, Assistant, KnowledgeFile
from .notices import assistant_notices
from .passages import searchable_passages
from .selectors import instructions_history


def _pop_new_api_key(request: HttpRequest, assistant: Assistant) -> dict | None:
    new_key = request.session.get("new_api_key")
    if new_key and assistant.api_keys.filter(pk=new_key["id"]).exists():
        del request.session["new_api_key"]
        return new_key
    return None


def _knowledge_context(assistant: Assistant) -> dict:
    files = list(assistant.knowledge_files.all())
    return {
        "knowledge_files": files,
        # The list refreshes itself until every file is ready or failed.
        "knowledge_polling": any(not f.is_settled for f in files),
        "knowledge_limit": settings.KNOWLEDGE_FILE_MAX_BYTES,
    }


@require_GET
@login_required
def assistant_list(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_course_for_user(request.user, slug, role=Membership.Role.CURATOR)
    assistants = access.course.assistants.select_related("provider")
    return render(
        request, "assistants/list.html", {"access": access, "course": access.course, "assistants": assistants}
    )


def _served_models():
    """Models servers listed and an admin gave a context length: offered beside the catalog."""
    return ServedModel.objects.filter(is_listed=True, context_length__isnull=False).select_related("provider")


@require_http_methods(["GET", "POST"])
@login_required
def assistant_new(request: HttpRequest, slug: str) -> HttpResponse:
    access = get_course_for_user(request.user, slug, role=Membership.Role.CURATOR)
    form = AssistantForm(request.POST or None, course=access.course)
    if request.method == "POST" and form.is_valid():
        assistant = services.assistant_create(course=access.course, user=request.user, **form.cleaned_data)
        messages.success(request, _("The assistant is created."))
        return redirect(assistant)
    context = {
        "access": access,
        "course": access.course,
        "form": form,
        "models": MODELS,
        "served_models": _served_models(),
    }
    return render(request, "assistants/form.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def assistant_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access, assistant = get_assistant_for_user(request.user, slug, pk)
    form = AssistantForm(request.POST or None, instance=assistant, course=assistant.course)
    if request.method == "POST" and form.is_valid():
        services.assistant_update(assistant=assistant, user=request.user, **form.cleaned_data)
        messages.success(request, _("Saved."))
        return redirect(assistant)
    context = {
        "access": access,
        "course": assistant.course,
        "assistant": assistant,
        "form": form,
        "models": MODELS,
        "served_models": _served_models(),
        "version_count": assistant.versions.count(),
        "upload_form": KnowledgeFileForm(),
        "api_key_form": ApiKeyForm(),
        "api_keys": assistant.api_keys.all(),
        "new_api_key": _pop_new_api_key(request, assistant),
        "notices": assistant_notices(assistant),
        **_knowledge_context(assistant),
    }
    return render(request, "assistants/detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def knowledge_files(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """GET: the files' live status (polled by HTMX). POST: upload a file."""
    _access, assistant = get_assistant_for_user(request.user, slug, pk)
    upload_form = KnowledgeFileForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if upload_form.is_valid():
            knowledge_file_add(assistant=assistant, upload=upload_form.cleaned_data["file"], user=request.user)
            messages.success(request, _("The file is uploaded; it is being prepared for search."))
            return redirect(f"{assistant.get_absolute_url()}#knowledge")
        for error in upload_form.errors.get("file", []):
            messages.error(request, error)
        return redirect(f"{assistant.get_absolute_url()}#knowledge")
    context = {"course": assistant.course, "assistant": assistant, **_knowledge_context(assistant)}
    return render(request, "assistants/detail.html#knowledge", context)


@require_POST
@login_required
def knowledge_file_remove(request: HttpRequest, slug: str, pk: int, file_pk: int) -> HttpResponse:
    _access, assistant = get_assistant_for_user(request.user, slug, pk)
    knowledge_file = get_object_or_404(KnowledgeFile, assistant=assistant, pk=file_pk)
    knowledge_file_delete(knowledge_file=knowledge_file)
    messages.success(request, _("“%(name)s” is being deleted.") % {"name": knowledge_file.name})
    return redirect(f"{assistant.get_absolute_url()}#knowledge")


@require_GET
@login_required
def assistant_versions(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    access, assistant = get_assistant_for_user(request.user, slug, pk)
    changes = instructions_history(versions=list(assistant.versions.select_related("created_by")))
    context = {"access": access, "course": assistant.course, "assistant": assistant, "changes": changes}
    return render(request, "assistants/versions.html", context)


@require_POST
@login_required
def api_key_new(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    _access, assistant = get_assistant_for_user(request.user, slug, pk)
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the key a name."))
        return redirect(f"{assistant.get_absolute_url()}#api-keys")
    api_key, raw_key = services.api_key_create(assistant=assistant, name=form.cleaned_data["name"], user=request.user)
    # The raw key is shown once, on the next page view; only its hash is stored.
    request.session["new_api_key"] = {"id": api_key.pk, "key": raw_key}
    return redirect(f"{assistant.get_absolute_url()}#api-keys")


@require_POST
@login_required
def api_key_revoke(request: HttpRequest, slug: str, pk: int, key_pk: int) -> HttpResponse:
    _access, assistant = get_assistant_for_user(request.user, slug, pk)
    api_key = get_object_or_404(ApiKey, assistant=assistant, pk=key_pk)
    services.api_key_revoke(api_key=api_key)
    messages.success(request, _("The key “%(name)s” is revoked.") % {"name": api_key.name})
    return redirect(f"{assistant.get_absolute_url()}#api-keys")


@require_GET
@login_required
def passage_detail(request: HttpRequest, slug: str, passage_pk: int) -> HttpResponse:
    """A cited passage, for every member of the course: where a citation's link leads."""
    access = get_course_for_user(request.user, slug)
    passages = searchable_passages().filter(assistant__course=access.course)
    passage = get_object_or_404(passages.select_related("knowledge_file__assistant"), pk=passage_pk)
    around = {
        p.position: p
        for p in searchable_passages().filter(
            knowledge_file_id=passage.knowledge_file_id, position__in=[passage.position - 1, passage.position + 1]
        )
    }
    context = {
        "access": access,
        "course": access.course,
        "passage": passage,
        "before": around.get(passage.position - 1),
        "after": around.get(passage.position + 1),
    }
    return render(request, "assistants/passage.html", context)
