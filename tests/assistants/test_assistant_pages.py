import pytest

from assistants.models import Assistant
from llm.models import Provider


def _form(provider: Provider, **fields) -> dict:
    return {
        "name": "Tutor",
        "instructions": "Answer briefly.",
        "provider": provider.pk,
        "model": "gpt-4.1-mini-2025-04-14",
        "temperature": "0.3",
        "use_file_search": "on",
        "function_tools": ["course_info"],
        **fields,
    }


def test_it_creates_an_assistant_with_version_1(client, course, curator, provider):
    client.force_login(curator)
    response = client.post(f"/c/{course.slug}/assistants/new/", _form(provider))
    assistant = Assistant.objects.get()
    assert response.status_code == 302
    assert response["Location"] == assistant.get_absolute_url()
    assert assistant.function_tools == ["course_info"]
    assert assistant.temperature == 0.3
    version = assistant.versions.get()
    assert (version.number, version.instructions, version.created_by) == (1, "Answer briefly.", curator)


def test_it_keeps_the_instructions_line_breaks_as_lf(client, course, curator, provider, assistant):
    client.force_login(curator)
    client.post(assistant.get_absolute_url(), _form(provider, instructions="Answer briefly.\r\nCite the lesson."))
    assistant.refresh_from_db()
    assert assistant.instructions == assistant.versions.first().instructions == "Answer briefly.\nCite the lesson."


def test_it_refuses_a_duplicate_name_in_the_course(client, course, curator, provider, assistant):
    client.force_login(curator)
    response = client.post(f"/c/{course.slug}/assistants/new/", _form(provider))
    assert response.status_code == 200
    assert "already has an assistant with this name" in response.text
    assert Assistant.objects.count() == 1


def test_it_refuses_a_temperature_out_of_range(client, course, curator, provider):
    client.force_login(curator)
    response = client.post(f"/c/{course.slug}/assistants/new/", _form(provider, temperature="5"))
    assert response.status_code == 200
    assert not Assistant.objects.exists()


def test_it_versions_changed_instructions_only(client, course, curator, provider, assistant):
    client.force_login(curator)
    url = assistant.get_absolute_url()
    client.post(url, _form(provider, instructions="Answer briefly.", temperature="0.9"))
    assert assistant.versions.count() == 1
    client.post(url, _form(provider, instructions="Answer briefly.\nCite the lesson."))
    assert assistant.versions.count() == 2

    page = client.get(f"{url}versions/").text
    assert "Version 2" in page
    assert '<span class="diff-added">+ Cite the lesson.</span>' in page
    assert curator.email in page


def test_it_escapes_instructions_in_the_diff(client, course, curator, provider, assistant):
    client.force_login(curator)
    client.post(assistant.get_absolute_url(), _form(provider, instructions="<script>alert(1)</script>"))
    page = client.get(f"{assistant.get_absolute_url()}versions/").text
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize("path", ["", "new/", "{pk}/", "{pk}/versions/"])
def test_it_404s_for_learners_and_other_curators(client, course, learner, other_curator, assistant, path):
    url = f"/c/{course.slug}/assistants/" + path.format(pk=assistant.pk)
    for user in (learner, other_curator):
        client.force_login(user)
        assert client.get(url).status_code == 404


def test_it_404s_for_an_assistant_of_another_course(client, other_course, other_curator, assistant):
    client.force_login(other_curator)
    response = client.get(f"/c/{other_course.slug}/assistants/{assistant.pk}/")
    assert response.status_code == 404


def test_it_shows_the_assistant_page_once_with_a_plain_title(client, course, curator, assistant):
    client.force_login(curator)
    page = client.get(assistant.get_absolute_url()).text
    assert "<title>Tutor · Python basics · gradcap</title>" in page
    assert page.count('id="api-keys"') == 1
    assert page.count('id="knowledge"') == 1


def test_it_saves_the_knowledge_search_and_says_which_is_used(client, course, curator, provider, assistant):
    client.force_login(curator)
    page = client.get(assistant.get_absolute_url()).content.decode()
    assert "Searched by Sandbox's file search." in page  # automatic: the sandbox has hosted search
    client.post(
        assistant.get_absolute_url(), _form(provider, instructions="Answer briefly.", knowledge_search="context")
    )
    assistant.refresh_from_db()
    assert assistant.knowledge_search == "context"
    page = client.get(assistant.get_absolute_url()).content.decode()
    assert "Searched by gradcap; the best passages go with each question." in page


def test_it_shows_how_far_the_worker_indexed_a_large_file(client, course, curator, assistant):
    from assistants.models import KnowledgeFile

    KnowledgeFile.objects.create(
        assistant=assistant, name="book.pdf", file="knowledge/book.pdf", size=9_000_000, status="processing",
        index_progress=40, passage_count=812,
    )  # fmt: skip
    client.force_login(curator)
    page = client.get(f"/c/{course.slug}/assistants/{assistant.pk}/files/").content.decode()
    assert '<progress max="100" value="40" aria-label="Indexing book.pdf">' in page
    assert "indexed 40%" in page and 'hx-trigger="every 2s"' in page  # the page keeps polling
