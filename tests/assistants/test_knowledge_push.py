"""Knowledge files pushed to the provider (the sandbox over HTTP) by the background task."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assistants import knowledge
from assistants.models import KnowledgeFile
from assistants.services import assistant_update
from tests.conftest import stalled


@pytest.fixture
def served(asgi_server, assistant, make_sandbox_client):
    assistant.provider.base_url = f"{asgi_server.url}/sandbox/v1/"
    assistant.provider.timeout_seconds = 5
    assistant.provider.max_retries = 0
    assistant.provider.save()
    return assistant, make_sandbox_client(asgi_server.url)


def _add(assistant, name="loops.md", content=b"# Loops\nA for loop walks over a list.") -> KnowledgeFile:
    return KnowledgeFile.objects.create(
        assistant=assistant, file=SimpleUploadedFile(name, content), name=name, size=len(content)
    )


def test_it_pushes_a_file_into_the_assistants_vector_store(served):
    assistant, sandbox = served
    knowledge_file = _add(assistant)
    knowledge.knowledge_file_push(knowledge_file_id=knowledge_file.pk)
    knowledge_file.refresh_from_db()
    assistant.refresh_from_db()
    assert knowledge_file.status == "ready" and knowledge_file.error == ""
    store_files = sandbox.vector_stores.files.list(vector_store_id=assistant.vector_store_id)
    assert [f.id for f in store_files] == [knowledge_file.provider_file_id]
    hits = sandbox.vector_stores.search(assistant.vector_store_id, query="for loop")
    assert hits.data[0].filename == "loops.md"


def test_it_runs_again_without_duplicating_anything(served):
    assistant, sandbox = served
    knowledge_file = _add(assistant)
    knowledge.knowledge_file_push(knowledge_file_id=knowledge_file.pk)
    KnowledgeFile.objects.filter(pk=knowledge_file.pk).update(status="processing")  # as if killed after the upload
    knowledge.knowledge_file_push(knowledge_file_id=knowledge_file.pk)
    assistant.refresh_from_db()
    assert len(sandbox.files.list(purpose="assistants").data) == 1
    assert len(sandbox.vector_stores.list().data) == 1
    assert len(sandbox.vector_stores.files.list(vector_store_id=assistant.vector_store_id).data) == 1


def test_it_files_whose_task_was_lost_are_pushed_or_removed_by_the_sweep(served):
    """The Redis broker loses a task whose worker dies; a process can also die between its commit
    and queueing the task. The sweep (every minute) queues it again (tests run tasks inline)."""
    assistant, sandbox = served
    lost_push, fresh, lost_removal = _add(assistant, "a.md"), _add(assistant, "b.md"), _add(assistant, "c.md")
    knowledge.knowledge_file_push(knowledge_file_id=lost_removal.pk)
    KnowledgeFile.objects.filter(pk=lost_removal.pk).update(status="deleting")
    KnowledgeFile.objects.filter(pk__in=[lost_push.pk, lost_removal.pk]).update(updated_at=stalled())

    assert knowledge.knowledge_files_recover() == 2

    lost_push.refresh_from_db()
    assert lost_push.status == "ready"
    assert KnowledgeFile.objects.get(pk=fresh.pk).status == "pending"  # its own task may still come
    assert not KnowledgeFile.objects.filter(pk=lost_removal.pk).exists()
    assert [f.filename for f in sandbox.files.list(purpose="assistants").data] == ["a.md"]
    assert knowledge.knowledge_files_recover() == 0


def test_it_marks_a_file_failed_with_the_providers_reason(served):
    assistant, _ = served
    assistant.provider.extra_headers = {"X-Sandbox-Fault": "500"}
    assistant.provider.save()
    knowledge_file = _add(assistant)
    knowledge.knowledge_file_push(knowledge_file_id=knowledge_file.pk)
    knowledge_file.refresh_from_db()
    assert knowledge_file.status == "failed"
    assert "The provider refused the file (500)" in knowledge_file.error


def test_it_deletes_the_file_at_the_provider_too(served):
    assistant, sandbox = served
    knowledge_file = _add(assistant)
    knowledge.knowledge_file_push(knowledge_file_id=knowledge_file.pk)
    knowledge_file.refresh_from_db()
    provider_file_id = knowledge_file.provider_file_id
    knowledge.knowledge_file_remove(knowledge_file_id=knowledge_file.pk)
    assistant.refresh_from_db()
    assert not KnowledgeFile.objects.exists()
    assert sandbox.vector_stores.files.list(vector_store_id=assistant.vector_store_id).data == []
    assert provider_file_id not in [f.id for f in sandbox.files.list().data]


def test_it_keeps_a_file_it_could_not_delete_at_the_provider(served):
    assistant, _ = served
    knowledge_file = _add(assistant)
    knowledge.knowledge_file_push(knowledge_file_id=knowledge_file.pk)
    assistant.provider.extra_headers = {"X-Sandbox-Fault": "500"}
    assistant.provider.save()
    knowledge.knowledge_file_remove(knowledge_file_id=knowledge_file.pk)
    knowledge_file.refresh_from_db()
    assert knowledge_file.status == "failed"
    assert "Could not delete" in knowledge_file.error


def test_it_pushes_everything_again_after_a_provider_change(served, curator, django_capture_on_commit_callbacks):
    assistant, _ = served
    knowledge_file = _add(assistant)
    knowledge.knowledge_file_push(knowledge_file_id=knowledge_file.pk)
    new_provider = type(assistant.provider).objects.create(
        name="Second sandbox", kind="sandbox", base_url=assistant.provider.base_url
    )
    with django_capture_on_commit_callbacks(execute=True):
        assistant_update(assistant=assistant, user=curator, provider=new_provider)
    assistant.refresh_from_db()
    knowledge_file.refresh_from_db()
    assert knowledge_file.status == "ready"
    assert assistant.vector_store_id  # a new store at the new provider
