import pytest

from assistants.services import assistant_create
from dialogs.models import Dialog, Message

JSON = {"HTTP_ACCEPT": "application/json"}


def _ask(client, course, content: str, dialog: Dialog | None = None, *, playground: bool = False, **extra):
    area = "playground" if playground else "chat"
    url = f"/c/{course.slug}/{area}/{dialog.pk}/ask/" if dialog else f"/c/{course.slug}/{area}/ask/"
    return client.post(url, {"content": content, **extra}, **JSON)


def test_it_starts_a_dialog_with_a_pending_answer(client, course, learner, tutor):
    client.force_login(learner)
    response = _ask(client, course, "What is a loop?")
    assert response.status_code == 200
    dialog = Dialog.objects.get()
    assert (dialog.user, dialog.source, dialog.assistant, dialog.title) == (learner, "chat", tutor, "What is a loop?")
    question, answer = dialog.messages.all()
    assert (question.role, question.content) == ("user", "What is a loop?")
    assert (answer.role, answer.status) == ("assistant", "pending")
    assert answer.instructions_version == tutor.versions.get()
    data = response.json()
    assert data["dialog_url"] == f"/c/{course.slug}/chat/{dialog.pk}/"
    assert f"/messages/{answer.pk}/stream/" in data["html"]


def test_it_keeps_a_questions_line_breaks_as_lf(client, course, learner, tutor):
    client.force_login(learner)
    _ask(client, course, "First line\r\nsecond line")  # as browsers send a textarea's lines
    assert Message.objects.get(role="user").content == "First line\nsecond line"


def test_it_refuses_an_empty_message(client, course, learner, tutor):
    client.force_login(learner)
    response = _ask(client, course, "   ")
    assert response.status_code == 400
    assert response.json()["errors"] == ["Write a message first."]
    assert not Dialog.objects.exists()


def test_it_refuses_an_overlong_message_and_says_the_limit(client, course, learner, tutor, settings):
    settings.CHAT_MESSAGE_MAX_CHARS = 20
    client.force_login(learner)
    response = _ask(client, course, "x" * 21)
    assert response.status_code == 400
    assert "at most 20 characters (it has 21)" in response.json()["errors"][0]
    assert not Message.objects.exists()


def test_it_with_several_assistants_a_new_question_names_one_of_this_courses(
    client, course, other_course, learner, tutor
):
    second = assistant_create(course=course, name="Reviewer", provider=tutor.provider, model=tutor.model, user=None)
    foreign = assistant_create(
        course=other_course, name="Theirs", provider=tutor.provider, model=tutor.model, user=None
    )
    client.force_login(learner)
    page = client.get(f"/c/{course.slug}/chat/").content.decode()
    assert f'<option value="{second.pk}">Reviewer</option>' in page and "Theirs" not in page

    unnamed = _ask(client, course, "Which one?")
    assert (unnamed.status_code, unnamed.json()["errors"]) == (400, ["Choose an assistant."])
    theirs = _ask(client, course, "Theirs?", assistant=foreign.pk)
    assert theirs.status_code == 400 and "Select a valid choice" in theirs.json()["errors"][0]
    assert not Dialog.objects.exists()

    assert _ask(client, course, "Review this", assistant=second.pk).status_code == 200
    dialog = Dialog.objects.get()
    assert dialog.assistant == second
    assert dialog.messages.get(role="assistant").instructions_version == second.versions.get()


def test_it_continues_my_dialog(client, course, learner, tutor):
    client.force_login(learner)
    _ask(client, course, "First")
    dialog = Dialog.objects.get()
    _ask(client, course, "Second", dialog)
    assert [m.content for m in dialog.messages.filter(role="user")] == ["First", "Second"]
    assert list(dialog.messages.values_list("position", flat=True)) == [1, 2, 3, 4]


def test_it_404s_on_another_learners_dialog(client, course, other_course, learner, tutor):
    client.force_login(learner)
    _ask(client, course, "Mine")
    dialog = Dialog.objects.get()
    from tests.conftest import add_member, make_user

    other = make_user("other-learner@example.com")
    add_member(other, course, "learner")
    client.force_login(other)
    assert client.get(f"/c/{course.slug}/chat/{dialog.pk}/").status_code == 404
    assert _ask(client, course, "Hijack", dialog).status_code == 404
    # Whatever the body says: another course's assistant, or no question at all (the dialog comes first).
    foreign = assistant_create(
        course=other_course, name="Theirs", provider=tutor.provider, model=tutor.model, user=None
    )
    assert _ask(client, course, "Hijack", dialog, assistant=foreign.pk).status_code == 404
    assert _ask(client, course, "", dialog).status_code == 404
    assert dialog.messages.count() == 2


def test_it_404s_for_members_of_other_courses(client, course, other_curator, tutor):
    client.force_login(other_curator)
    assert client.get(f"/c/{course.slug}/chat/").status_code == 404
    assert _ask(client, course, "Hello").status_code == 404


def test_it_keeps_the_playground_for_curators(client, course, learner, curator, tutor):
    client.force_login(learner)
    assert client.get(f"/c/{course.slug}/playground/").status_code == 404
    assert _ask(client, course, "Hello", playground=True).status_code == 404
    client.force_login(curator)
    response = _ask(client, course, "Hello", playground=True, model="gpt-4.1-2025-04-14")
    assert response.status_code == 200
    dialog = Dialog.objects.get()
    assert dialog.source == "playground"
    assert dialog.messages.get(role="assistant").model == "gpt-4.1-2025-04-14"


def test_it_edits_a_question_and_keeps_the_old_turn(client, course, learner, tutor):
    client.force_login(learner)
    _ask(client, course, "What is a lop?")
    dialog = Dialog.objects.get()
    question = dialog.messages.get(role="user")
    response = client.post(
        f"/c/{course.slug}/chat/{dialog.pk}/messages/{question.pk}/edit/", {"content": "What is a loop?"}, **JSON
    )
    assert response.status_code == 200
    active = dialog.messages.filter(replaced_at__isnull=True)
    assert [(m.role, m.content, m.status) for m in active] == [
        ("user", "What is a loop?", "complete"),
        ("assistant", "", "pending"),
    ]
    assert dialog.messages.filter(replaced_at__isnull=False).count() == 2  # the old question and its answer
    page = client.get(f"/c/{course.slug}/chat/{dialog.pk}/").text
    assert "Earlier versions of this question" in page and "What is a lop?" in page


@pytest.mark.parametrize("value", [1, -1])
def test_it_records_feedback_and_a_second_click_undoes_it(client, course, learner, tutor, value):
    client.force_login(learner)
    _ask(client, course, "Hello")
    answer = Message.objects.get(role="assistant")
    url = f"/c/{course.slug}/chat/{answer.dialog_id}/messages/{answer.pk}/feedback/"
    response = client.post(url, {"value": value})
    assert response.status_code == 200
    assert 'aria-pressed="true"' in response.text
    answer.refresh_from_db()
    assert answer.feedback == value
    client.post(url, {"value": value})
    answer.refresh_from_db()
    assert answer.feedback is None


def test_it_escapes_the_learners_text(client, course, learner, tutor):
    client.force_login(learner)
    _ask(client, course, "<img src=x onerror=alert(1)>")
    dialog = Dialog.objects.get()
    page = client.get(f"/c/{course.slug}/chat/{dialog.pk}/").text
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_it_says_so_when_the_course_has_no_assistant(client, course, learner):
    client.force_login(learner)
    assert "This course has no assistant yet." in client.get(f"/c/{course.slug}/chat/").text
    response = _ask(client, course, "Hello?")
    assert response.status_code == 400
    assert response.json()["errors"] == ["This course has no assistant yet."]
    assert not Dialog.objects.exists()


def test_it_shows_a_long_playground_dialog_in_a_fixed_number_of_queries(
    client, course, curator, tutor, django_assert_max_num_queries
):
    client.force_login(curator)
    _ask(client, course, "First", playground=True)
    dialog = Dialog.objects.get()
    for n in range(10):
        _ask(client, course, f"More {n}", dialog, playground=True)
    Message.objects.filter(role="assistant").update(status="complete", content="An answer.")
    with django_assert_max_num_queries(15):
        response = client.get(f"/c/{course.slug}/playground/{dialog.pk}/")
    assert response.text.count("data-debug") == 11


def test_it_a_stop_pressed_while_the_answer_streams_wins_over_complete(client, course, learner, tutor):
    from assistants.events import Turn
    from dialogs.chat import services as chat

    client.force_login(learner)
    _ask(client, course, "What is a loop?")
    answer = Message.objects.get(role="assistant")
    assert chat.answer_claim(answer)
    chat.answer_stop(answer=answer)  # the learner's stop arrives before the stream ends
    recorded = chat.answer_record(answer=answer, turn=Turn(text="A loop repeats."), status=Message.Status.COMPLETE)
    answer.refresh_from_db()
    assert recorded.status == answer.status == "stopped"
    assert answer.content == "A loop repeats."
    assert answer.dialog.message_count == 2
