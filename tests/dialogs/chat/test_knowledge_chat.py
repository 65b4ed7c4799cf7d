"""Knowledge and citations across a switch to a self-hosted model, end to end: the learner's chat
over a real server, the recorded dialog, 🎓, the example, its validation and its export, and the
passage a citation links to."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assistants import knowledge
from assistants.models import Assistant, Passage
from assistants.services import assistant_update
from dialogs.models import Example, Message
from tests.dialogs.chat.test_stream import _ask, _events, _http, _stream_url
from tests.fixtures.sandbox import sandbox_as_model_server

LESSON = """# While loops

A while loop repeats its body as long as its condition stays true; break leaves it early.
"""
QUESTION = "How does a while loop work?"


@pytest.fixture
def taught_tutor(asgi_server, tutor, django_capture_on_commit_callbacks) -> Assistant:
    """The tutor on the sandbox (which has hosted file search), with a lesson pushed there."""
    tutor.provider.base_url = f"{asgi_server.url}/sandbox/v1/"
    tutor.provider.timeout_seconds = 5
    tutor.provider.max_retries = 0
    tutor.provider.save()
    with django_capture_on_commit_callbacks(execute=True):
        knowledge.knowledge_file_add(assistant=tutor, upload=SimpleUploadedFile("loops.md", LESSON.encode()), user=None)
    lesson = tutor.knowledge_files.get()
    assert lesson.status == "ready" and lesson.provider_file_id  # pushed to the provider's vector store
    return tutor


def _chat(client, asgi_server, course, learner, question=QUESTION) -> Message:
    answer = _ask(client, course, learner, question)
    with _http(asgi_server, client) as http, http.stream("GET", _stream_url(answer)) as response:
        events = _events(response)
    assert [name for name, _data in events][-1] == "done"
    answer.refresh_from_db()
    assert answer.status == "complete", answer.error_detail
    return answer


def test_it_the_assistant_keeps_its_knowledge_and_citations_on_a_self_hosted_model(
    client, course, learner, curator, taught_tutor, asgi_server
):
    hosted = _chat(client, asgi_server, course, learner)
    assert hosted.wire_api == "responses" and not hosted.tool_calls  # the provider's file_search
    passage = Passage.objects.get(knowledge_file__assistant=taught_tutor)
    assert [(c["filename"], c["passage_id"]) for c in hosted.citations] == [("loops.md", passage.pk)]

    assistant_update(assistant=taught_tutor, user=curator, provider=sandbox_as_model_server(asgi_server))  # what ▶ does
    answer = _chat(client, asgi_server, course, learner)
    assert answer.wire_api == "chat_completions"
    assert [call["name"] for call in answer.tool_calls] == ["search_knowledge"]
    assert answer.tool_calls[0]["output"]["results"][0]["file"] == "loops.md"
    assert [(c["filename"], c["passage_id"]) for c in answer.citations] == [("loops.md", passage.pk)]
    assert "[1]" in answer.content and "condition" in answer.content

    # The learner sees a link from the citation to the passage, and the passage.
    client.force_login(learner)
    link = f'href="/c/{course.slug}/assistants/passages/{passage.pk}/"'
    for dialog_id in (hosted.dialog_id, answer.dialog_id):  # [1] in the answer, and its footnote
        assert client.get(f"/c/{course.slug}/chat/{dialog_id}/").content.decode().count(link) == 2
    shown = client.get(f"/c/{course.slug}/assistants/passages/{passage.pk}/")
    assert shown.status_code == 200 and "repeats its body" in shown.content.decode()


def test_it_graduating_the_answer_keeps_the_search_call_and_its_passages(
    client, course, learner, curator, taught_tutor, asgi_server
):
    assistant_update(assistant=taught_tutor, user=curator, provider=sandbox_as_model_server(asgi_server))
    answer = _chat(client, asgi_server, course, learner)
    client.force_login(curator)
    response = client.post(f"/c/{course.slug}/dialogs/{answer.dialog_id}/graduate/", {"upto": answer.pk})
    assert response.status_code == 302
    example = Example.objects.get(source_dialog=answer.dialog)
    roles = [m["role"] for m in example.messages]
    assert roles == ["user", "assistant", "tool", "assistant"]
    call = example.messages[1]["tool_calls"][0]
    assert call["function"]["name"] == "search_knowledge"
    assert json.loads(call["function"]["arguments"]) == {"query": QUESTION}
    assert json.loads(example.messages[2]["content"])["results"][0]["file"] == "loops.md"
    assert example.messages[3]["content"] == answer.content
    assert [tool["function"]["name"] for tool in example.tools] == ["search_knowledge"]
    assert example.error_count == 0, example.messages

    Example.objects.filter(pk=example.pk).update(status=Example.Status.READY)
    response = client.get(f"/c/{course.slug}/datasets/{example.dataset_id}/export/", {"format": "supervised"})
    assert response.status_code == 200
    exported = b"".join(response.streaming_content)
    row = json.loads(exported.splitlines()[0])
    assert [m["role"] for m in row["messages"]][-4:] == ["user", "assistant", "tool", "assistant"]
    assert row["messages"][-3]["tool_calls"][0]["function"]["name"] == "search_knowledge"
    assert row["tools"][0]["function"]["name"] == "search_knowledge"


def test_it_in_context_mode_the_example_has_the_question_as_sent(
    client, course, learner, curator, taught_tutor, asgi_server
):
    assistant_update(
        assistant=taught_tutor,
        user=curator,
        provider=sandbox_as_model_server(asgi_server),
        knowledge_search=Assistant.KnowledgeSearch.CONTEXT,
    )
    answer = _chat(client, asgi_server, course, learner)
    assert not answer.tool_calls and "[1] loops.md — While loops" in answer.question_sent
    client.force_login(curator)
    client.post(f"/c/{course.slug}/dialogs/{answer.dialog_id}/graduate/", {"upto": answer.pk})
    example = Example.objects.get(source_dialog=answer.dialog)
    assert [m["role"] for m in example.messages] == ["user", "assistant"]
    assert example.messages[0]["content"] == answer.question_sent
    assert example.messages[0]["content"].endswith(f"Question: {QUESTION}")


def test_it_a_passage_is_shown_only_to_members_of_its_course(client, course, other_curator, stranger, taught_tutor):
    passage = Passage.objects.get(knowledge_file__assistant=taught_tutor)
    url = f"/c/{course.slug}/assistants/passages/{passage.pk}/"
    for outsider in (other_curator, stranger):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
    other_course_url = f"/c/{other_curator.memberships.get().course.slug}/assistants/passages/{passage.pk}/"
    client.force_login(other_curator)
    assert client.get(other_course_url).status_code == 404
