from django.core.files.uploadedfile import SimpleUploadedFile

from assistants.models import KnowledgeFile


def _upload(client, assistant, name: str, content: bytes):
    return client.post(
        f"{assistant.get_absolute_url()}files/", {"file": SimpleUploadedFile(name, content)}, follow=True
    )


def test_it_refuses_an_unsupported_file_type(client, curator, assistant):
    client.force_login(curator)
    response = _upload(client, assistant, "virus.exe", b"MZ...")
    assert "cannot be used" in response.text
    assert not KnowledgeFile.objects.exists()


def test_it_refuses_an_oversized_file_with_the_limit(client, curator, assistant, settings):
    settings.KNOWLEDGE_FILE_MAX_BYTES = 1024
    client.force_login(curator)
    response = _upload(client, assistant, "notes.txt", b"x" * 2048)
    assert "the limit is 1.0\xa0KB" in response.text
    assert not KnowledgeFile.objects.exists()


def test_it_refuses_an_empty_file(client, curator, assistant):
    client.force_login(curator)
    response = _upload(client, assistant, "empty.md", b"")
    assert KnowledgeFile.objects.count() == 0
    assert response.status_code == 200


def test_it_stores_an_accepted_file_as_waiting(client, curator, assistant):
    client.force_login(curator)
    response = _upload(client, assistant, "loops.md", b"# Loops\nfor and while.")
    knowledge_file = KnowledgeFile.objects.get()
    assert knowledge_file.status == KnowledgeFile.Status.PENDING  # the push runs after commit
    assert knowledge_file.size == 22
    assert "loops.md" in response.text
    assert 'hx-trigger="every 2s"' in response.text  # the list refreshes itself until settled


def test_it_404s_for_a_learner(client, learner, assistant):
    client.force_login(learner)
    response = client.post(f"{assistant.get_absolute_url()}files/", {"file": SimpleUploadedFile("a.txt", b"a")})
    assert response.status_code == 404
    assert not KnowledgeFile.objects.exists()
