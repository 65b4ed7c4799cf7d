import pytest

from assistants.events import Turn
from dialogs.chat import services as chat
from dialogs.datasets import edits, lines
from dialogs.datasets import services as curation
from dialogs.models import Dialog, Example, ExampleRevision, Message
from trainingfiles.formats import export_dpo, export_supervised, parse_jsonl

pytestmark = pytest.mark.django_db


@pytest.fixture
def assistant(course, sandbox_provider):
    return course.assistants.create(
        name="Tutor", instructions="Answer briefly.", provider=sandbox_provider, model="gpt-4.1-mini"
    )


def _answered(dialog, question, answer, **turn):
    q, a = chat.turn_ask(dialog=dialog, content=question)
    chat.answer_record(answer=a, turn=Turn(text=answer, **turn), status=Message.Status.COMPLETE)
    return q, a


@pytest.fixture
def dialog(assistant, learner):
    dialog = chat.dialog_start(assistant=assistant, source=Dialog.Source.CHAT, user=learner)
    _answered(dialog, "What is a list?", "An ordered collection.")
    _answered(
        dialog,
        "What day is it?",
        "Monday.",
        tool_calls=[
            {"call_id": "call_1", "name": "current_datetime", "arguments": "{}", "output": {"weekday": "Monday"}}
        ],
    )
    return dialog


def test_it_graduating_a_dialog_copies_it_and_leaves_it_alone(dialog, assistant, curator):
    before = list(dialog.messages.values_list("content", flat=True))
    dataset = curation.dataset_for_assistant(assistant=assistant, user=curator)
    example = curation.example_from_dialog(dialog=dialog, dataset=dataset, user=curator)

    roles = [m["role"] for m in example.messages]
    assert roles == ["user", "assistant", "user", "assistant", "tool", "assistant"]
    assert example.messages[3]["tool_calls"][0]["function"]["name"] == "current_datetime"
    assert example.tools[0]["function"]["name"] == "current_datetime"
    assert example.status == Example.Status.DRAFT
    assert example.token_count > 0 and example.error_count == 0
    assert example.revisions.count() == 1
    assert list(dialog.messages.values_list("content", flat=True)) == before
    row = lines.training_row(example, lines.system_message(example, dataset))
    assert row["messages"][0] == {"role": "system", "content": "Answer briefly."}


def test_it_cut_at_a_turn(dialog, assistant, curator):
    first_answer = dialog.messages.get(position=2)
    dataset = curation.dataset_for_assistant(assistant=assistant, user=curator)
    example = curation.example_from_dialog(dialog=dialog, dataset=dataset, user=curator, upto=first_answer)
    assert [m["content"] for m in example.messages] == ["What is a list?", "An ordered collection."]


def test_it_stale_edit_is_a_conflict_and_overwrites_nothing(dialog, assistant, curator, other_curator):
    dataset = curation.dataset_for_assistant(assistant=assistant, user=curator)
    example = curation.example_from_dialog(dialog=dialog, dataset=dataset, user=curator)
    first = curation.example_change(example=example, version=1, user=curator, change=edits.set_content(1, "Mine."))
    with pytest.raises(curation.ExampleConflict) as conflict:
        curation.example_change(example=example, version=1, user=other_curator, change=edits.set_content(1, "Theirs."))
    assert conflict.value.current.messages[1]["content"] == "Mine."
    example.refresh_from_db()
    assert example.version == first.version == 2
    assert example.messages[1]["content"] == "Mine."
    assert list(example.revisions.values_list("version", flat=True)) == [2, 1]


def test_it_rewritten_answer_becomes_a_preference_pair(dialog, assistant, curator):
    dataset = curation.dataset_for_assistant(assistant=assistant, user=curator)
    example = curation.example_from_dialog(
        dialog=dialog, dataset=dataset, user=curator, upto=dialog.messages.get(position=2)
    )
    example = curation.example_change(
        example=example,
        version=1,
        user=curator,
        change=edits.set_content(1, "A list is an ordered, mutable sequence."),
    )
    example = curation.example_change(example=example, version=2, user=curator, change=edits.set_status("ready"))
    pairs = list(lines.dataset_rows(dataset, kind="dpo"))
    assert pairs == [
        {
            "input": {
                "messages": [
                    {"role": "system", "content": "Answer briefly."},
                    {"role": "user", "content": "What is a list?"},
                ]
            },
            "preferred_output": [{"role": "assistant", "content": "A list is an ordered, mutable sequence."}],
            "non_preferred_output": [{"role": "assistant", "content": "An ordered collection."}],
        }
    ]
    # The supervised file never carries gradcap's own keys, and parses back.
    data = b"".join(export_supervised(lines.dataset_rows(dataset)))
    assert b"original" not in data
    assert parse_jsonl(data, max_bytes=10**6, max_lines=100).ok
    assert parse_jsonl(b"".join(export_dpo(pairs)), max_bytes=10**6, max_lines=100).ok
    # Writing the recorded answer back removes the pair.
    curation.example_change(
        example=example, version=3, user=curator, change=edits.set_content(1, "An ordered collection.")
    )
    assert list(lines.dataset_rows(dataset, kind="dpo")) == []


def test_it_message_operations(dialog, assistant, curator):
    dataset = curation.dataset_for_assistant(assistant=assistant, user=curator)
    example = curation.example_from_dialog(
        dialog=dialog, dataset=dataset, user=curator, upto=dialog.messages.get(position=2)
    )
    example = curation.example_change(example=example, version=1, user=curator, change=edits.set_weight(1, False))
    assert example.messages[1]["weight"] == 0
    example = curation.example_change(
        example=example, version=2, user=curator, change=edits.insert_message(0, "user", "Hi")
    )
    example = curation.example_change(example=example, version=3, user=curator, change=edits.set_role(0, "assistant"))
    assert example.messages[0] == {"role": "assistant", "content": "Hi", "weight": 1}
    example = curation.example_change(example=example, version=4, user=curator, change=edits.delete_message(0))
    example = curation.example_change(example=example, version=5, user=curator, change=edits.set_system("Be kind."))
    assert lines.training_row(example, lines.system_message(example, dataset))["messages"][0]["content"] == "Be kind."
    with pytest.raises(IndexError):
        curation.example_change(example=example, version=6, user=curator, change=edits.delete_message(9))
    assert ExampleRevision.objects.filter(example=example).count() == 6


def test_it_redaction(dialog, assistant, curator):
    dataset = curation.dataset_for_assistant(assistant=assistant, user=curator)
    example = curation.example_from_dialog(
        dialog=dialog, dataset=dataset, user=curator, upto=dialog.messages.get(position=2)
    )
    example = curation.example_change(
        example=example, version=1, user=curator, change=edits.set_content(0, "Mail me at ann@example.com")
    )
    assert example.warning_count == 1
    example = curation.example_change(example=example, version=2, user=curator, change=edits.redact())
    assert "ann@example.com" not in example.messages[0]["content"]
    assert example.warning_count == 0


def test_it_split_is_deterministic_and_overridable(dialog, assistant, curator):
    dataset = curation.dataset_for_assistant(assistant=assistant, user=curator)
    examples = [curation.example_from_dialog(dialog=dialog, dataset=dataset, user=curator) for _ in range(40)]
    splits = [lines.split_of(example, 25) for example in examples]
    assert splits == [lines.split_of(example, 25) for example in examples]
    assert 0 < splits.count("validation") < 40
    examples[0].split = "validation"
    assert lines.split_of(examples[0], 0) == "validation"


def test_it_import_creates_ready_examples(assistant, curator):
    dataset = curation.dataset_for_assistant(assistant=assistant, user=curator)
    rows = [
        {
            "messages": [
                {"role": "system", "content": "Answer briefly."},
                {"role": "user", "content": "Q"},
                {"role": "assistant", "content": "A"},
            ]
        },
        {
            "messages": [
                {"role": "system", "content": "Other"},
                {"role": "user", "content": "Q2"},
                {"role": "assistant", "content": "A2"},
            ]
        },
    ]
    assert curation.examples_create(dataset=dataset, rows=rows, user=curator, summary="Imported") == 2
    first, second = dataset.examples.order_by("pk")
    assert not first.system_overridden and second.system == "Other"
    assert [lines.training_row(e, lines.system_message(e, dataset)) for e in (first, second)] == rows
    assert ExampleRevision.objects.filter(example__dataset=dataset).count() == 2
    assert first.status == Example.Status.READY


def test_it_curation_pages_are_for_the_course_curators(client, dialog, assistant, curator, learner, other_curator):
    from django.urls import reverse

    dataset = curation.dataset_for_assistant(assistant=assistant, user=curator)
    example = curation.example_from_dialog(dialog=dialog, dataset=dataset, user=curator)
    slug = assistant.course.slug
    urls = [
        reverse("dialogs:datasets", args=[slug]),
        reverse("dialogs:dataset", args=[slug, dataset.pk]),
        reverse("dialogs:example", args=[slug, dataset.pk, example.pk]),
    ]
    client.force_login(curator)
    assert [client.get(url).status_code for url in urls] == [200, 200, 200]
    for outsider in (learner, other_curator):
        client.force_login(outsider)
        assert [client.get(url).status_code for url in urls] == [404, 404, 404]
