import json

import httpx2
import pytest
from django.urls import reverse

from assistants.services import assistant_create
from dialogs.chat import services as chat
from dialogs.datasets import services as curation
from dialogs.models import Dataset, Dialog, Example, Message
from llm.models import Provider
from tests.dialogs.records.dialog_helpers import answers, record

pytestmark = pytest.mark.django_db

TOOL_CALL = {
    "call_id": "call_7",
    "name": "course_info",
    "arguments": '{"topic": "deadlines"}',
    "output": {"due": "Friday"},
}
CITATION = {"number": 1, "file_id": "file-1", "filename": "lesson-1-loops.md", "index": 10}


@pytest.fixture
def assistant(course, sandbox_provider):
    return course.assistants.create(
        name="Tutor", instructions="Answer briefly.", provider=sandbox_provider, model="gpt-4.1-mini"
    )


@pytest.fixture
def dialog(assistant, learner):
    return record(
        assistant,
        [("What is a loop?", "A loop repeats code."), ("When is the homework due?", "On Friday.")],
        user=learner,
        feedback=[1, -1],
        tool_calls=[TOOL_CALL],
        citations=[CITATION],
    )


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client


def _detail(dialog) -> str:
    return reverse("dialogs:detail", kwargs={"slug": dialog.course.slug, "dialog_id": dialog.pk})


def _graduate(dialog) -> str:
    return reverse("dialogs:graduate", kwargs={"slug": dialog.course.slug, "dialog_id": dialog.pk})


def _snapshot(dialog) -> tuple:
    """Everything recorded about the dialog that 🎓 must leave as it was."""
    row = Dialog.objects.filter(pk=dialog.pk).values().get()
    row.pop("example_count")  # the one figure that counts the examples made from it
    return row, list(Message.objects.filter(dialog=dialog).order_by("pk").values())


def test_it_shows_the_transcript_with_tools_citations_and_feedback(curator_client, dialog, learner):
    page = curator_client.get(_detail(dialog)).content.decode()
    assert "What is a loop?" in page and "A loop repeats code." in page
    assert "course_info" in page and "deadlines" in page and "Friday" in page  # the call and its output
    assert "lesson-1-loops.md" in page and "[1]" in page  # the citation as a footnote
    assert "👍" in page and "👎" in page
    assert learner.email in page
    assert page.count('name="upto"') == 2  # 🎓 on each answer


def test_it_marks_failed_and_stopped_answers(curator_client, assistant):
    failed = record(assistant, [("Q", "Half an ans")], status=Message.Status.FAILED)
    stopped = record(assistant, [("Q", "Stopped here")], status=Message.Status.STOPPED)
    failed_page = curator_client.get(_detail(failed)).content.decode()
    assert "status-failed" in failed_page and "The provider did not answer." in failed_page
    assert "Stopped by the user." in curator_client.get(_detail(stopped)).content.decode()


def test_it_hides_turns_replaced_by_an_edit(curator_client, dialog):
    question = dialog.messages.get(position=3)
    chat.turn_edit(question=question, content="When exactly is it due?")
    page = curator_client.get(_detail(dialog)).content.decode()
    assert "When exactly is it due?" in page
    assert "When is the homework due?" not in page
    assert "Messages replaced when a question was edited (not shown): 2." in page


def test_it_graduating_the_dialog_opens_the_editor_on_a_copy(curator_client, dialog, assistant):
    before = _snapshot(dialog)

    response = curator_client.post(_graduate(dialog))

    example = Example.objects.get()
    assert example.dataset == Dataset.objects.get(assistant=assistant)  # made on first use
    assert example.source_dialog == dialog and example.source_message is None
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "dialogs:example",
        kwargs={"slug": dialog.course.slug, "dataset_id": example.dataset_id, "example_id": example.pk},
    )
    editor = curator_client.get(response["Location"]).content.decode()
    assert "What is a loop?" in editor and "On Friday." in editor
    assert _snapshot(dialog) == before
    dialog.refresh_from_db()
    assert dialog.example_count == 1


def test_it_graduating_at_a_turn_cuts_the_example_there(curator_client, dialog):
    first_answer = answers(dialog)[0]
    before = _snapshot(dialog)

    curator_client.post(_graduate(dialog), {"upto": first_answer.pk})

    example = Example.objects.get()
    assert [m["content"] for m in example.messages] == ["What is a loop?", "A loop repeats code."]
    assert example.source_message == first_answer
    assert _snapshot(dialog) == before


def test_it_graduating_into_a_chosen_dataset(curator_client, dialog, course, curator):
    chosen = curation.dataset_create(course=course, name="Deadlines", user=curator)
    curation.dataset_for_assistant(assistant=dialog.assistant, user=curator)  # the default exists too
    page = curator_client.get(_detail(dialog)).content.decode()
    assert "Deadlines" in page

    curator_client.post(_graduate(dialog), {"dataset": chosen.pk})

    assert chosen.examples.get().source_dialog == dialog


def test_it_the_default_dataset_is_the_one_graduating_would_use(curator_client, dialog, course, curator):
    # Made by hand before the assistant had one: 🎓 uses it by its name, and the page says so.
    named = curation.dataset_create(course=course, name="Tutor examples", user=curator)
    page = curator_client.get(_detail(dialog)).content.decode()
    assert "Tutor examples (new)" not in page
    assert f'<option value="{named.pk}" selected>Tutor examples</option>' in page

    curator_client.post(_graduate(dialog), {"dataset": ""})
    assert named.examples.get().source_dialog == dialog
    assert Dataset.objects.count() == 1


def test_it_the_page_lists_the_examples_made_from_the_dialog(curator_client, dialog, curator):
    dataset = curation.dataset_create(course=dialog.course, name="Best answers", user=curator)
    example = curation.example_from_dialog(dialog=dialog, dataset=dataset, user=curator)
    page = curator_client.get(_detail(dialog)).content.decode()
    assert "Examples made from this dialog" in page
    assert f"Example {example.pk} in Best answers" in page
    assert (
        reverse(
            "dialogs:example", kwargs={"slug": dialog.course.slug, "dataset_id": dataset.pk, "example_id": example.pk}
        )
        in page
    )


def test_it_graduating_refuses_what_is_not_a_finished_answer_of_this_dialog(curator_client, dialog, assistant):
    other = record(assistant, [("Other", "Dialog")])
    question = dialog.messages.get(position=1)
    _q, pending = chat.turn_ask(dialog=dialog, content="Still waiting")
    for upto in (answers(other)[0].pk, question.pk, pending.pk, "abc"):
        assert curator_client.post(_graduate(dialog), {"upto": upto}).status_code == 404
    assert not Example.objects.exists()


@pytest.mark.parametrize("who", ["learner", "other_curator", "stranger"])
def test_it_is_404_for_anyone_but_the_course_curators(client, dialog, who, request):
    client.force_login(request.getfixturevalue(who))
    assert client.get(_detail(dialog)).status_code == 404
    assert client.post(_graduate(dialog)).status_code == 404
    assert client.post(_graduate(dialog), {"upto": answers(dialog)[0].pk}).status_code == 404
    assert not Example.objects.exists()


def test_it_another_course_s_curator_cannot_reach_the_dialog_through_their_own_course(
    client, dialog, other_course, other_curator
):
    client.force_login(other_curator)
    url = reverse("dialogs:detail", kwargs={"slug": other_course.slug, "dialog_id": dialog.pk})
    graduate = reverse("dialogs:graduate", kwargs={"slug": other_course.slug, "dialog_id": dialog.pk})
    assert client.get(url).status_code == 404
    assert client.post(graduate).status_code == 404
    assert not Example.objects.exists()


def test_it_graduating_into_another_course_s_dataset_is_404(curator_client, dialog, other_course, other_curator):
    foreign = curation.dataset_create(course=other_course, name="Theirs", user=other_curator)
    assert curator_client.post(_graduate(dialog), {"dataset": foreign.pk}).status_code == 404
    assert not Example.objects.exists()


def test_it_escapes_html_in_messages_and_tool_calls(curator_client, assistant):
    dialog = record(
        assistant,
        [("<script>alert(1)</script> and <b>bold</b>", "<script>alert(2)</script> Fine **answer**.")],
        external_user_id="<img src=x onerror=alert(3)>",
        tool_calls=[
            {"call_id": "c", "name": "course_info", "arguments": "<i>x</i>", "output": {"v": "<svg/onload=1>"}}
        ],
    )
    page = curator_client.get(_detail(dialog)).content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>bold</b>" not in page and "<i>x</i>" not in page
    assert "<img src=x" not in page and "<svg/onload" not in page
    assert "<strong>answer</strong>" in page  # the answer's Markdown is still rendered (sanitised)


# 🎓 from the chat and the playground


def _graduate_form(dialog) -> str:
    return f'action="{_graduate(dialog)}"'


def test_it_curators_get_graduate_on_their_chat_and_playground_answers(curator_client, assistant, curator):
    chat_dialog = record(assistant, [("Q", "A")], user=curator)
    playground = record(assistant, [("Q", "A")], user=curator, source=Dialog.Source.PLAYGROUND)
    chat_page = curator_client.get(reverse("dialogs:chat_dialog", args=[chat_dialog.course.slug, chat_dialog.pk]))
    playground_page = curator_client.get(
        reverse("dialogs:playground_dialog", args=[playground.course.slug, playground.pk])
    )
    assert _graduate_form(chat_dialog) in chat_page.content.decode()
    assert _graduate_form(playground) in playground_page.content.decode()

    response = curator_client.post(_graduate(playground), {"upto": answers(playground)[0].pk})
    assert response.status_code == 302 and "/examples/" in response["Location"]
    assert Example.objects.get().source_dialog == playground


def test_it_learners_get_no_graduate_button_in_their_chat(client, dialog, learner):
    client.force_login(learner)
    page = client.get(reverse("dialogs:chat_dialog", args=[dialog.course.slug, dialog.pk])).content.decode()
    assert "A loop repeats code." in page
    assert _graduate_form(dialog) not in page and "graduate" not in page


@pytest.fixture
def served_tutor(asgi_server, course, curator):
    provider = Provider.objects.create(
        name="Sandbox", kind=Provider.Kind.SANDBOX, base_url=f"{asgi_server.url}/sandbox/v1/", max_retries=0
    )
    return assistant_create(course=course, name="Tutor", provider=provider, model="gpt-4.1-mini-2025-04-14")


def _streamed_html(client, asgi_server, course, user, *, playground: bool) -> tuple[Message, str]:
    client.force_login(user)
    prefix = "playground" if playground else "chat"
    client.post(f"/c/{course.slug}/{prefix}/ask/", {"content": "What is a loop?"}, HTTP_ACCEPT="application/json")
    answer = Message.objects.get(role="assistant", status="pending")
    url = f"/c/{course.slug}/{prefix}/{answer.dialog_id}/messages/{answer.pk}/stream/"
    cookies = {"sessionid": client.cookies["sessionid"].value}
    with httpx2.Client(base_url=asgi_server.url, cookies=cookies, timeout=10) as http:
        body = http.get(url).text
    done = [line for line in body.splitlines() if line.startswith("data: ")][-1]
    return answer, json.loads(done[len("data: ") :])["html"]


def test_it_the_streamed_answer_brings_graduate_for_curators_only(
    client, asgi_server, course, curator, learner, served_tutor
):
    answer, html = _streamed_html(client, asgi_server, course, curator, playground=True)
    assert _graduate_form(answer.dialog) in html and f'value="{answer.pk}"' in html
    answer, html = _streamed_html(client, asgi_server, course, learner, playground=False)
    assert _graduate_form(answer.dialog) not in html and "graduate" not in html
