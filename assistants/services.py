import secrets

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from courses.models import Course
from llm.models import Provider

from .knowledge import knowledge_files_reset
from .models import ApiKey, Assistant, InstructionsVersion


def _record_instructions(*, assistant: Assistant, user: User | None) -> InstructionsVersion:
    last = assistant.versions.aggregate(last=Max("number"))["last"] or 0
    return InstructionsVersion.objects.create(
        assistant=assistant, number=last + 1, instructions=assistant.instructions, created_by=user
    )


@transaction.atomic
def assistant_create(
    *,
    course: Course,
    name: str,
    provider: Provider,
    model: str,
    instructions: str = "",
    temperature: float = 0.7,
    use_file_search: bool = True,
    knowledge_search: str = Assistant.KnowledgeSearch.AUTO,
    function_tools: list[str] | None = None,
    use_code_interpreter: bool = False,
    user: User | None = None,
) -> Assistant:
    """Create an assistant and version 1 of its instructions."""
    assistant = Assistant(
        course=course,
        name=name,
        provider=provider,
        model=model,
        instructions=instructions,
        temperature=temperature,
        use_file_search=use_file_search,
        knowledge_search=knowledge_search,
        function_tools=function_tools or [],
        use_code_interpreter=use_code_interpreter,
    )
    assistant.full_clean()
    assistant.save()
    _record_instructions(assistant=assistant, user=user)
    return assistant


@transaction.atomic
def assistant_update(*, assistant: Assistant, user: User | None, **fields) -> Assistant:
    """Change an assistant's configuration; a change of instructions becomes a new version."""
    previous = Assistant.objects.select_for_update().get(pk=assistant.pk)
    for name, value in fields.items():
        setattr(assistant, name, value)
    # Kept by the knowledge services meanwhile: the copy being edited may be older.
    assistant.has_knowledge, assistant.vector_store_id = previous.has_knowledge, previous.vector_store_id
    assistant.full_clean()
    assistant.save()
    if assistant.instructions != previous.instructions:
        _record_instructions(assistant=assistant, user=user)
    if assistant.provider_id != previous.provider_id or assistant.knowledge_mode != previous.knowledge_mode:
        knowledge_files_reset(assistant=assistant)
    return assistant


def api_key_create(*, assistant: Assistant, name: str, user: User | None) -> tuple[ApiKey, str]:
    """Create an integration API key. The raw key is returned once and never stored."""
    lookup = secrets.token_hex(6)
    raw_key = f"{ApiKey.PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        assistant=assistant, name=name, lookup=lookup, key_hash=ApiKey.hash(raw_key), created_by=user
    )
    return key, raw_key


def api_key_revoke(*, api_key: ApiKey) -> None:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])


def api_key_used(api_key: ApiKey) -> None:
    """Note when the key was last used (the assistant's page shows it)."""
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())


def api_key_authenticate(raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, or None. Compares hashes in constant time."""
    if not raw_key.startswith(ApiKey.PREFIX):
        return None
    lookup = raw_key[len(ApiKey.PREFIX) :].split("_", 1)[0]
    key = ApiKey.objects.select_related("assistant__course", "assistant__provider").filter(lookup=lookup).first()
    if key is None or key.revoked_at is not None:
        return None
    if not secrets.compare_digest(key.key_hash, ApiKey.hash(raw_key)):
        return None
    return key
