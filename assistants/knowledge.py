"""Knowledge files: stored with Django's storage and indexed in gradcap's own search
(assistants.passages) — small files while they upload, large ones by the worker with progress.
An assistant that uses its provider's hosted file search also has them pushed to the provider's
files + its vector store in the background, and removed there when deleted. Tasks may run more
than once (at-least-once delivery), so every step checks what is already done."""

import contextlib
import logging

import openai
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from accounts.models import User
from core.background import requeue_stalled
from llm.clients import client_for

from .models import Assistant, KnowledgeFile
from .passages import file_index, file_unindex

logger = logging.getLogger(__name__)


@transaction.atomic
def knowledge_file_add(*, assistant: Assistant, upload: UploadedFile, user: User | None) -> KnowledgeFile:
    """Store an uploaded file and index it: now when it is small (the file and its passages are
    saved together), else by the worker. A file with the name of one the assistant has replaces it.
    The worker pushes it to the provider when the assistant uses the provider's file search."""
    replaced = list(
        assistant.knowledge_files.filter(name=upload.name[:255]).exclude(status=KnowledgeFile.Status.DELETING)
    )
    knowledge_file = KnowledgeFile.objects.create(
        assistant=assistant, file=upload, name=upload.name[:255], size=upload.size, uploaded_by=user
    )
    for old in replaced:
        knowledge_file_delete(knowledge_file=old)
    if upload.size <= settings.KNOWLEDGE_INLINE_INDEX_BYTES:
        if not _index(knowledge_file):
            return knowledge_file
        if assistant.knowledge_mode != Assistant.KnowledgeSearch.HOSTED:
            _ready(knowledge_file)
            return knowledge_file
    transaction.on_commit(lambda: async_task("assistants.tasks.knowledge_file_push", knowledge_file.pk))
    return knowledge_file


@transaction.atomic
def knowledge_file_delete(*, knowledge_file: KnowledgeFile) -> None:
    """Take the file out of search at once (its passages go in this transaction); a task removes
    it at the provider, then here."""
    knowledge_file.status = KnowledgeFile.Status.DELETING
    knowledge_file.save(update_fields=["status", "updated_at"])
    file_unindex(knowledge_file=knowledge_file)
    transaction.on_commit(lambda: async_task("assistants.tasks.knowledge_file_remove", knowledge_file.pk))


def _index(knowledge_file: KnowledgeFile, *, progress: bool = False) -> bool:
    """Index the file in gradcap's search; a file that cannot be read is marked failed."""

    def report(percent: int) -> None:
        KnowledgeFile.objects.filter(pk=knowledge_file.pk).update(index_progress=percent)

    try:
        file_index(knowledge_file=knowledge_file, on_progress=report if progress else None)
    except Exception as exc:  # a broken PDF raises the reader's own errors: the curator must see why
        logger.info("Could not index knowledge file %s: %s", knowledge_file.pk, exc)
        _fail(knowledge_file, f"The file could not be read: {exc}")
        return False
    return True


def _ready(knowledge_file: KnowledgeFile) -> None:
    knowledge_file.status = KnowledgeFile.Status.READY
    knowledge_file.error = ""
    knowledge_file.save(update_fields=["status", "error", "updated_at"])


def knowledge_files_reset(*, assistant: Assistant) -> None:
    """After a change of provider or of knowledge search: the old vector store is not reachable any
    more. Files go to the new provider's store when it is the one searched; gradcap's own index
    stays as it is (files that failed to index are tried again)."""
    assistant.vector_store_id = ""
    assistant.save(update_fields=["vector_store_id"])
    files = assistant.knowledge_files.exclude(status=KnowledgeFile.Status.DELETING)
    files.update(provider_file_id="", updated_at=timezone.now())
    if assistant.knowledge_mode == Assistant.KnowledgeSearch.HOSTED:
        again = list(files)
    else:
        again = list(files.filter(indexed_at__isnull=True))
        files.filter(indexed_at__isnull=False).update(status=KnowledgeFile.Status.READY, error="")
    KnowledgeFile.objects.filter(pk__in=[f.pk for f in again]).update(status=KnowledgeFile.Status.PENDING, error="")
    for knowledge_file in again:
        transaction.on_commit(lambda pk=knowledge_file.pk: async_task("assistants.tasks.knowledge_file_push", pk))


def knowledge_files_recover() -> int:
    """Queue the task again for files whose push or removal lost its task (see core.background)."""
    waiting = KnowledgeFile.objects.filter(status__in=[KnowledgeFile.Status.PENDING, KnowledgeFile.Status.PROCESSING])
    deleting = KnowledgeFile.objects.filter(status=KnowledgeFile.Status.DELETING)
    return requeue_stalled(waiting, "assistants.tasks.knowledge_file_push") + requeue_stalled(
        deleting, "assistants.tasks.knowledge_file_remove"
    )


def _ensure_vector_store(*, assistant_id: int, client: openai.OpenAI) -> str:
    """The assistant's vector store at its provider, created on first use.

    No database lock is held during the provider call (with SQLite that would lock the whole
    database, and the sandbox shares it). Two concurrent first pushes may both create a store:
    the first to record its id wins and the other store is deleted again.
    """
    assistant = Assistant.objects.select_related("course").get(pk=assistant_id)
    if assistant.vector_store_id:
        return assistant.vector_store_id
    store = client.vector_stores.create(
        name=f"gradcap: {assistant.course.title} / {assistant.name}"[:200],
        metadata={"gradcap_assistant": str(assistant.pk)},
    )
    recorded = Assistant.objects.filter(pk=assistant_id, vector_store_id="").update(vector_store_id=store.id)
    if recorded:
        return store.id
    _ignore_missing(client.vector_stores.delete, store.id)
    return Assistant.objects.values_list("vector_store_id", flat=True).get(pk=assistant_id)


def _fail(knowledge_file: KnowledgeFile, reason: str) -> None:
    knowledge_file.status = KnowledgeFile.Status.FAILED
    knowledge_file.error = reason
    knowledge_file.save(update_fields=["status", "error", "updated_at"])


def knowledge_file_push(*, knowledge_file_id: int, poll_seconds: float = 120) -> None:
    """Index the file if it is not yet, then, for an assistant that uses its provider's file
    search, upload it to the provider and add it to the assistant's vector store."""
    knowledge_file = KnowledgeFile.objects.select_related("assistant__provider").filter(pk=knowledge_file_id).first()
    if knowledge_file is None or knowledge_file.status in (KnowledgeFile.Status.READY, KnowledgeFile.Status.DELETING):
        return
    knowledge_file.status = KnowledgeFile.Status.PROCESSING
    knowledge_file.save(update_fields=["status", "updated_at"])
    if knowledge_file.indexed_at is None and not _index(knowledge_file, progress=True):
        return
    if knowledge_file.assistant.knowledge_mode != Assistant.KnowledgeSearch.HOSTED:
        _ready(knowledge_file)
        return
    client = client_for(knowledge_file.assistant.provider)
    try:
        vector_store_id = _ensure_vector_store(assistant_id=knowledge_file.assistant_id, client=client)
        if not knowledge_file.provider_file_id:
            with knowledge_file.file.open("rb") as handle:
                uploaded = client.files.create(file=(knowledge_file.name, handle.read()), purpose="assistants")
            # Saved before the next step, so a rerun does not upload the file twice.
            knowledge_file.provider_file_id = uploaded.id
            knowledge_file.save(update_fields=["provider_file_id", "updated_at"])
        result = client.vector_stores.files.create_and_poll(
            knowledge_file.provider_file_id, vector_store_id=vector_store_id, max_wait_seconds=poll_seconds
        )
    except openai.APIStatusError as exc:
        _fail(knowledge_file, _provider_message(exc))
        return
    except (openai.APIConnectionError, TimeoutError) as exc:
        _fail(knowledge_file, f"The provider could not be reached: {exc}")
        return
    if result.status == "completed":
        _ready(knowledge_file)
    else:
        reason = result.last_error.message if result.last_error else f"status {result.status}"
        _fail(knowledge_file, reason)


def knowledge_file_remove(*, knowledge_file_id: int) -> None:
    """Remove the file from the vector store and the provider's files, then delete it here."""
    knowledge_file = KnowledgeFile.objects.select_related("assistant__provider").filter(pk=knowledge_file_id).first()
    if knowledge_file is None:
        return
    assistant = knowledge_file.assistant
    if knowledge_file.provider_file_id:
        client = client_for(assistant.provider)
        try:
            if assistant.vector_store_id:
                _ignore_missing(
                    client.vector_stores.files.delete,
                    knowledge_file.provider_file_id,
                    vector_store_id=assistant.vector_store_id,
                )
            _ignore_missing(client.files.delete, knowledge_file.provider_file_id)
        except openai.APIError as exc:
            # Keep the row, visibly: the curator sees why and can press delete again.
            logger.warning("Could not remove %s at the provider: %s", knowledge_file.provider_file_id, exc)
            _fail(knowledge_file, f"Could not delete the file at the provider: {exc}")
            return
    knowledge_file.file.delete(save=False)
    knowledge_file.delete()


def _ignore_missing(call, *args, **kwargs) -> None:
    with contextlib.suppress(openai.NotFoundError):  # already gone: the goal is reached
        call(*args, **kwargs)


def _provider_message(exc: openai.APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    message = body.get("message") or (body.get("error") or {}).get("message") or str(exc)
    return f"The provider refused the file ({exc.status_code}): {message}"
