"""The example editor's views: every change carries the version, stale ones are conflicts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assistants.events import Turn
from dialogs.chat import services as chat
from dialogs.datasets import edits, lines
from dialogs.datasets import services as curation
from dialogs.models import Dialog, Example, Message
from tests.conftest import add_member, make_user

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
SCRIPT = '<script>alert("x")</script><b onmouseover="steal()">bold</b>'


@pytest.fixture
def assistant(course, sandbox_provider):
    return course.assistants.create(
        name="Tutor", instructions="Answer briefly.", provider=sandbox_provider, model="gpt-4.1-mini"
    )


@pytest.fixture
def dataset(assistant, curator):
    return curation.dataset_for_assistant(assistant=assistant, user=curator)


@pytest.fixture
def example(assistant, dataset, learner, curator) -> Example:
    dialog = chat.dialog_start(assistant=assistant, source=Dialog.Source.CHAT, user=learner)
    for question, answer in (("What is a list?", "An ordered collection."), ("And a tuple?", "An immutable one.")):
        _q, a = chat.turn_ask(dialog=dialog, content=question)
        chat.answer_record(answer=a, turn=Turn(text=answer), status=Message.Status.COMPLETE)
    return curation.example_from_dialog(dialog=dialog, dataset=dataset, user=curator)


@pytest.fixture
def second_curator(course):
    user = make_user("second-curator@example.com", first_name="Olga", last_name="Petrova")
    add_member(user, course, "curator")
    return user


def url(example: Example, name: str = "example", *args) -> str:
    return reverse(f"dialogs:{name}", args=[example.dataset.course.slug, example.dataset_id, example.pk, *args])


def fresh(example: Example) -> Example:
    return Example.objects.get(pk=example.pk)


def test_it_shows_the_editor(client, curator, example):
    client.force_login(curator)
    response = client.get(url(example))
    assert response.status_code == 200
    html = response.content.decode()
    assert "An ordered collection." in html
    assert "Follows the current instructions of Tutor" in html
    assert "Answer briefly." in html
    assert f'data-tokens="{example.token_count}"' in html
    assert 'name="version" value="1"' in html
    assert "js/editor.js" in html


def test_it_edits_a_message_and_answers_with_the_changed_parts(client, curator, example):
    client.force_login(curator)
    response = client.post(
        url(example, "example_content", 0), {"version": 1, "content": "What is a list, really?\r\nTell me."}, **HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="example-messages"' in html
    assert 'id="example-panel" class="editor-panel"' in html and 'hx-swap-oob="true"' in html
    assert "What is a list, really?<br>Tell me." in html
    assert 'name="version" value="2"' in html and 'name="version" value="1"' not in html
    saved = fresh(example)
    assert saved.messages[0]["content"] == "What is a list, really?\nTell me."
    assert saved.version == 2 and saved.token_count > example.token_count
    assert saved.revisions.first().author == curator


def test_it_works_without_javascript(client, curator, example):
    client.force_login(curator)
    response = client.post(url(example, "example_content", 1), {"version": 1, "content": "A sequence."})
    assert response.status_code == 302
    assert response["Location"] == url(example)
    assert fresh(example).messages[1]["content"] == "A sequence."


def test_it_each_message_operation(client, curator, example):
    client.force_login(curator)

    def post(name, data, *args):
        response = client.post(url(example, name, *args), {"version": fresh(example).version, **data}, **HTMX)
        assert response.status_code == 200, response.content.decode()
        return fresh(example)

    changed = post("example_weight", {}, 1)  # unticked: do not learn
    assert changed.messages[1]["weight"] == 0
    changed = post("example_weight", {"learn": "1"}, 1)
    assert changed.messages[1]["weight"] == 1
    changed = post("example_insert", {"position": 1, "role": "user"})
    assert [m["role"] for m in changed.messages] == ["user", "user", "assistant", "user", "assistant"]
    assert changed.messages[1]["content"] == "" and changed.error_count == 1
    changed = post("example_role", {"role": "assistant"}, 1)
    assert changed.messages[1] == {"role": "assistant", "content": "", "weight": 1}
    changed = post("example_delete_message", {}, 1)
    assert [m["content"] for m in changed.messages] == [
        "What is a list?",
        "An ordered collection.",
        "And a tuple?",
        "An immutable one.",
    ]
    changed = post("example_system", {"content": "Be kind."})
    assert changed.system_overridden and changed.system == "Be kind."
    changed = post("example_system", {"follow": "1", "content": ""})
    assert not changed.system_overridden
    changed = post("example_split", {"split": "validation"})
    assert changed.split == "validation"
    changed = post("example_content", {"content": "Write to ann@example.com"}, 0)
    assert changed.warning_count == 1
    changed = post("example_redact", {"index": 0})
    assert "ann@example.com" not in changed.messages[0]["content"] and changed.warning_count == 0
    assert changed.revisions.count() == changed.version == 11


def test_it_an_inserted_message_opens_for_typing(client, curator, example):
    client.force_login(curator)
    response = client.post(url(example, "example_insert"), {"version": 1, "position": 4, "role": "user"}, **HTMX)
    html = response.content.decode()
    assert html.count('<details class="message-edit" data-edit open>') == 1
    # The empty message's issue points at it.
    assert 'href="#message-4"' in html and "The message is empty." in html


def test_it_save_marks_it_ready_and_goes_back_to_the_dataset(client, curator, example):
    client.force_login(curator)
    response = client.post(url(example, "example_status"), {"version": 1, "status": "ready"}, **HTMX)
    dataset_url = reverse("dialogs:dataset", args=[example.dataset.course.slug, example.dataset_id])
    assert response["HX-Redirect"] == dataset_url
    assert fresh(example).status == Example.Status.READY
    page = client.get(dataset_url).content.decode()
    assert "is ready" in page

    response = client.post(url(example, "example_status"), {"version": 2, "status": "draft"})
    assert response.status_code == 302 and fresh(example).status == Example.Status.DRAFT


def test_it_discard_drops_a_draft_but_not_a_ready_example(client, curator, example, dataset, assistant):
    client.force_login(curator)
    curation.example_change(example=example, version=1, user=curator, change=edits.set_status("ready"))
    response = client.post(url(example, "example_discard"), **HTMX)
    assert response.status_code == 400
    assert "Only a draft can be discarded" in response.content.decode()
    assert Example.objects.filter(pk=example.pk).exists()

    draft = curation.example_from_dialog(dialog=example.source_dialog, dataset=dataset, user=curator)
    response = client.post(url(draft, "example_discard"))
    assert response.status_code == 302
    assert not Example.objects.filter(pk=draft.pk).exists()


def test_it_a_ready_example_is_deleted_only_at_its_version(client, curator, example):
    client.force_login(curator)
    curation.example_change(example=example, version=1, user=curator, change=edits.set_status("ready"))
    response = client.post(url(example, "example_delete"), {"version": 1}, **HTMX)
    assert response.status_code == 409
    assert Example.objects.filter(pk=example.pk).exists()
    response = client.post(url(example, "example_delete"), {"version": 2}, **HTMX)
    assert response.status_code == 200 and "HX-Redirect" in response
    assert not Example.objects.filter(pk=example.pk).exists()


def test_it_a_stale_edit_is_a_conflict_that_shows_both_texts(client, curator, second_curator, example):
    curation.example_change(
        example=example, version=1, user=second_curator, change=edits.set_content(1, "Their better answer.")
    )
    client.force_login(curator)
    response = client.post(url(example, "example_content", 1), {"version": 1, "content": "My own answer."}, **HTMX)
    assert response.status_code == 409
    assert response["HX-Retarget"] == "#example-notice"
    html = response.content.decode()
    assert "Someone else changed this example meanwhile" in html
    assert "Olga Petrova saved a newer version" in html
    assert "Their better answer." in html  # their text
    assert "My own answer." in html  # the user's unsaved text, kept
    assert "Load their version" in html
    saved = fresh(example)
    assert saved.messages[1]["content"] == "Their better answer." and saved.version == 2


def test_it_a_conflict_without_javascript_shows_the_current_editor_and_the_notice(
    client, curator, second_curator, example
):
    curation.example_change(example=example, version=1, user=second_curator, change=edits.delete_message(1))
    client.force_login(curator)
    response = client.post(url(example, "example_weight", 1), {"version": 1})
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone else changed this example meanwhile" in html
    assert 'name="version" value="2"' in html  # the editor shows their version
    assert fresh(example).messages[1]["content"] == "And a tuple?"


def test_it_a_message_that_is_gone_is_a_clear_message(client, curator, example):
    client.force_login(curator)
    for name in ("example_content", "example_delete_message", "example_role", "example_weight"):
        response = client.post(url(example, name, 99), {"version": 1, "content": "x", "role": "user"}, **HTMX)
        assert response.status_code == 409, name
        assert "That message is no longer in this example" in response.content.decode()
    response = client.post(url(example, "example_weight", 0), {"version": 1}, **HTMX)  # a user message
    assert response.status_code == 400
    response = client.post(url(example, "example_insert"), {"version": 1, "position": 50, "role": "user"}, **HTMX)
    assert response.status_code == 409
    response = client.post(url(example, "example_content", 0), {"content": "no version"}, **HTMX)
    assert response.status_code == 400 and "out of date" in response.content.decode()
    assert fresh(example).version == 1


def _editor_urls(example: Example) -> list[str]:
    return [
        url(example),
        url(example, "example_content", 0),
        url(example, "example_delete_message", 0),
        url(example, "example_role", 0),
        url(example, "example_weight", 1),
        url(example, "example_insert"),
        url(example, "example_system"),
        url(example, "example_redact"),
        url(example, "example_split"),
        url(example, "example_move"),
        url(example, "example_status"),
        url(example, "example_discard"),
        url(example, "example_delete"),
        url(example, "example_revision", 1),
    ]


@pytest.mark.parametrize("who", ["learner", "other_curator", "stranger"])
def test_it_others_get_404_on_every_editor_url(client, request, example, who):
    client.force_login(request.getfixturevalue(who))
    # (a dataset of the example's course to move it to, which the others must not reach either)
    dataset = curation.dataset_create(course=example.dataset.course, name="Elsewhere", user=None).pk
    data = {"version": 1, "content": "hacked", "role": "user", "position": 0, "status": "ready", "split": "train"}
    data["dataset"] = dataset
    for address in _editor_urls(example):
        assert client.get(address).status_code == 404, address
        assert client.post(address, data).status_code == 404, address
        assert client.post(address, data, **HTMX).status_code == 404, address
    saved = fresh(example)
    assert saved.version == 1 and saved.messages == example.messages


def test_it_the_example_of_another_dataset_url_is_404(client, curator, example, course):
    other = curation.dataset_create(course=course, name="Other", user=curator)
    client.force_login(curator)
    address = reverse("dialogs:example", args=[course.slug, other.pk, example.pk])
    assert client.get(address).status_code == 404


def test_it_the_history_shows_a_diff_per_revision(client, curator, example):
    example = curation.example_change(
        example=example, version=1, user=curator, change=edits.set_content(1, "An ordered,\nmutable collection.")
    )
    example = curation.example_change(example=example, version=2, user=curator, change=edits.set_weight(3, False))
    client.force_login(curator)
    page = client.get(url(example)).content.decode()
    assert "v3 · Do not learn from answer 4" in page and "v2 · Edited message 2" in page

    diff = client.get(url(example, "example_revision", 2), **HTMX).content.decode()
    assert '<span class="diff-removed">− An ordered collection.</span>' in diff
    assert '<span class="diff-added">+ An ordered,</span>' in diff
    assert "Message 2 · assistant" in diff
    assert "<html" not in diff  # the partial only
    weight = client.get(url(example, "example_revision", 3)).content.decode()
    assert "learn from this answer: off" in weight and "<html" in weight
    first = client.get(url(example, "example_revision", 1)).content.decode()
    assert first.count("diff-added") >= 4  # every message is new in the first version
    assert client.get(url(example, "example_revision", 9)).status_code == 404


def test_it_a_rewritten_answer_shows_the_dpo_note_with_the_recorded_answer(client, curator, example):
    client.force_login(curator)
    page = client.get(url(example)).content.decode()
    assert "rejected answer of a preference (DPO) pair" not in page
    client.post(url(example, "example_content", 1), {"version": 1, "content": "A mutable sequence."}, **HTMX)
    page = client.get(url(example)).content.decode()
    assert "The recorded answer is kept as the rejected answer of a preference (DPO) pair" in page
    assert '<blockquote class="rejected">An ordered collection.</blockquote>' in page
    assert len(list(lines.dpo_rows(fresh(example), ""))) == 1


def test_it_html_in_messages_is_escaped_in_the_editor_the_conflict_and_the_diff(
    client, curator, second_curator, example
):
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
    client.force_login(curator)
    client.post(url(example, "example_content", 0), {"version": 1, "content": SCRIPT}, **HTMX)
    client.post(url(example, "example_system"), {"version": 2, "content": SCRIPT}, **HTMX)
    page = client.get(url(example)).content.decode()
    assert SCRIPT not in page and "<script>alert" not in page and escaped in page

    curation.example_change(
        example=fresh(example), version=3, user=second_curator, change=edits.set_content(0, SCRIPT + " theirs")
    )
    conflict = client.post(url(example, "example_content", 0), {"version": 3, "content": SCRIPT + " mine"}, **HTMX)
    html = conflict.content.decode()
    assert conflict.status_code == 409
    assert "<script>alert" not in html and 'onmouseover="steal' not in html
    assert f"{escaped}&lt;b onmouseover=&quot;steal()&quot;&gt;bold&lt;/b&gt; theirs" in html
    assert f"{escaped}&lt;b onmouseover=&quot;steal()&quot;&gt;bold&lt;/b&gt; mine" in html

    for version in (2, 3, 4):
        diff = client.get(url(example, "example_revision", version)).content.decode()
        assert "<script>alert" not in diff and escaped in diff, version


def test_it_the_editor_reads_the_same_number_of_queries_whatever_the_size(client, curator, example):
    client.force_login(curator)
    client.get(url(example))  # warm up: session, caches
    with CaptureQueriesContext(connection) as small:
        assert client.get(url(example)).status_code == 200
    for number in range(30):
        version = fresh(example).version
        change = edits.insert_message(0, "user", f"Question {number}")
        curation.example_change(example=example, version=version, user=curator, change=change)
    with CaptureQueriesContext(connection) as large:
        assert client.get(url(example)).status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)


# Moving to another dataset -------------------------------------------------------------------


def test_it_moves_an_example_to_another_dataset_of_the_course(client, curator, course, example):
    other = curation.dataset_create(course=course, name="Hard questions", user=curator)
    client.force_login(curator)
    assert "Hard questions" in client.get(url(example)).content.decode()  # offered in the editor

    response = client.post(url(example, "example_move"), {"version": 1, "dataset": other.pk}, **HTMX)

    moved = fresh(example)
    assert (moved.dataset_id, moved.version) == (other.pk, 2)
    assert response["HX-Redirect"] == url(moved)
    assert moved.revisions.order_by("-version").first().summary == "Moved to the dataset Hard questions"
    editor = client.get(url(moved)).content.decode()
    assert f"Example {moved.pk} moved to Hard questions." in editor
    assert client.get(url(example)).status_code == 404  # no longer under its old dataset


def test_it_moves_nowhere_outside_the_course_nor_over_a_newer_version(
    client, curator, second_curator, course, other_course, example
):
    theirs = curation.dataset_create(course=other_course, name="Theirs", user=None)
    mine = curation.dataset_create(course=course, name="Mine", user=curator)
    client.force_login(curator)

    assert client.post(url(example, "example_move"), {"version": 1, "dataset": theirs.pk}, **HTMX).status_code == 404
    assert client.post(url(example, "example_move"), {"version": 1, "dataset": 999_999}, **HTMX).status_code == 404
    curation.example_change(example=example, version=1, user=second_curator, change=edits.set_status("ready"))
    assert client.post(url(example, "example_move"), {"version": 1, "dataset": mine.pk}, **HTMX).status_code == 409
    assert fresh(example).dataset_id == example.dataset_id
