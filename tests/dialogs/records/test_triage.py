"""Triage flags: what each sign catches (and what it must not), the worker's sweep that computes
them when dialogs change, and the dialogs page that filters and ranks by them."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assistants.events import Turn
from dialogs.chat import services as chat
from dialogs.datasets import services as curation
from dialogs.models import Dialog, Message
from dialogs.records import triage
from dialogs.tasks import dialogs_triage
from tests.dialogs.records.dialog_helpers import answers, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def assistant(course, sandbox_provider):
    return course.assistants.create(name="Tutor", provider=sandbox_provider, model="gpt-4.1-mini")


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client


def _flags(dialog: Dialog) -> set[str]:
    dialog.refresh_from_db()
    assert not dialog.triage_due, "the sweep has not read this dialog"
    return {flag.key for flag in triage.labels_of(dialog.flags)}


def _swept(*dialogs: Dialog) -> list[set[str]]:
    dialogs_triage()
    return [_flags(dialog) for dialog in dialogs]


def _rows(response) -> list[int]:
    assert response.status_code == 200
    return [int(pk) for pk in re.findall(r'<tr id="dialog-(\d+)"', response.content.decode())]


def _list(client, course, **params):
    return client.get(reverse("dialogs:list", kwargs={"slug": course.slug}), params)


# What each sign catches


@pytest.mark.parametrize(
    "answer",
    [
        "I couldn't find that in the course materials.",
        "I'm sorry, but I can't help with that.",
        "I don't know.",
        "К сожалению, я не нашёл ответа в материалах курса.",
        "Не могу помочь с этим вопросом.",
        "Нет информации об этом.",
        "Не могу сделать его за вас, но помогу разобраться.",
        "I can't write your homework for you.",
    ],
)
def test_it_flags_an_answer_that_found_nothing_or_refused(answer):
    assert triage.finds_nothing(answer)


@pytest.mark.parametrize(
    "answer", ["A list is an ordered collection.", "I know three ways to do it.", "Цикл for перебирает элементы."]
)
def test_it_does_not_flag_an_ordinary_answer_as_finding_nothing(answer):
    assert not triage.finds_nothing(answer)


@pytest.mark.parametrize(
    "question",
    [
        "This is useless, you keep repeating yourself",
        "That doesn't help at all",
        "Ugh, I'm so frustrated",
        "Это бесполезно",
        "Я не понял, объясни ещё раз",
        "Какая-то ерунда получилась",
        "Меня это бесит",
    ],
)
def test_it_hears_negative_words_in_russian_and_english(question):
    assert triage.sounds_negative(question)


@pytest.mark.parametrize(
    "question",
    [
        "My loop does not work, what is wrong?",  # about the learner's code, not the answers
        "How do I sort a list?",
        "Спасибо, всё понятно!",
        "Мой цикл не работает",
    ],
)
def test_it_does_not_hear_complaints_in_ordinary_questions(question):
    assert not triage.sounds_negative(question)


def test_it_flags_a_question_asked_again_in_other_words():
    assert triage.asks_again(["How do I reverse a list in Python?", "what is the way to reverse python lists"])
    assert triage.asks_again(["Как работает цикл for?", "Объясни ещё раз, как работают циклы for"])
    assert not triage.asks_again(["How do I reverse a list?", "And how do I sort a dictionary by value?"])
    assert not triage.asks_again(["Hi", "Hi"])  # no words worth comparing


def test_it_flags_each_sign_of_a_recorded_dialog(assistant, learner):
    fine = record(assistant, [("What is a list?", "An ordered collection.")], user=learner, feedback=[1])
    thumbs_down = record(assistant, [("What is a set?", "A kind of list.")], feedback=[-1])
    failed = record(assistant, [("What is a dict?", "")], status=Message.Status.FAILED)
    stopped = record(assistant, [("Tell me everything", "Well,")], status=Message.Status.STOPPED)
    nothing = record(assistant, [("Who teaches on Friday?", "I couldn't find that in the course materials.")])
    tool = record(
        assistant,
        [("What time is it?", "I could not tell.")],
        tool_calls=[{"call_id": "c1", "name": "now", "arguments": "{}", "output": {"error": "TimeoutError: late"}}],
    )
    again = record(
        assistant,
        [("How do I reverse a list in Python?", "Use reversed()."), ("what is the way to reverse python lists", "…")],
    )
    negative = record(assistant, [("Explain loops", "Loops repeat."), ("This is useless", "Sorry.")])

    assert _swept(fine, thumbs_down, failed, stopped, nothing, tool, again, negative) == [
        set(),
        {"thumbs-down"},
        {"failed"},
        {"failed"},
        {"nothing-found"},
        {"tool-failed"},
        {"asked-again"},
        {"negative"},
    ]


def test_it_flags_an_edited_question_and_a_regenerated_answer(assistant):
    edited = record(assistant, [("What is a lsit?", "Did you mean list?")])
    question = edited.messages.get(role=Message.Role.USER)
    _new_question, answer = chat.turn_edit(question=question, content="What is a list?")
    chat.answer_record(answer=answer, turn=Turn(text="An ordered collection."), status=Message.Status.COMPLETE)
    retried = record(assistant, [("What is a tuple?", "A list.")])
    _q, answer = chat.turn_retry(answer=answers(retried)[0])
    chat.answer_record(answer=answer, turn=Turn(text="An immutable sequence."), status=Message.Status.COMPLETE)

    assert _swept(edited, retried) == [{"regenerated"}, {"regenerated"}]


def test_it_flags_an_answer_much_longer_than_the_assistants_usual(assistant):
    for number in range(triage.MEDIAN_NEEDS):
        record(assistant, [(f"Question {number}", "A short answer of forty characters or so.")])
    long = record(assistant, [("Tell me about lists", "Lists. " * 300)])
    usual = record(assistant, [("And tuples?", "Tuples are immutable sequences, unlike lists.")])

    assert _swept(long, usual) == [{"long-answer"}, set()]


def test_it_flags_a_long_answer_by_size_alone_while_the_assistant_has_few_answers(assistant):
    long = record(assistant, [("Tell me about lists", "x" * (triage.LONG_ANSWER_CHARS + 1))])
    medium = record(assistant, [("And tuples?", "y" * (triage.LONG_ANSWER_CHARS - 1))])

    assert _swept(long, medium) == [{"long-answer"}, set()]


def test_it_ranks_by_the_weights_of_the_flags():
    flags = triage.THUMBS_DOWN.bit | triage.LONG_ANSWER.bit
    assert triage.score_of(flags) == triage.THUMBS_DOWN.weight + triage.LONG_ANSWER.weight
    assert triage.score_of(0) == 0


# The sweep


def test_it_reads_a_dialog_again_when_its_messages_change(assistant):
    dialog = record(assistant, [("What is a set?", "A collection of unique items.")])
    assert dialog.triage_due  # new dialogs start due
    assert _swept(dialog) == [set()]

    chat.feedback_set(answer=answers(dialog)[0], value=Message.Feedback.DOWN)
    dialog.refresh_from_db()
    assert dialog.triage_due
    assert _swept(dialog) == [{"thumbs-down"}]

    _q, answer = chat.turn_ask(dialog=dialog, content="This does not help")
    chat.answer_record(answer=answer, turn=Turn(text="Sorry."), status=Message.Status.COMPLETE)
    assert _swept(dialog) == [{"thumbs-down", "negative"}]
    dialog.refresh_from_db()
    assert dialog.triage_score == triage.THUMBS_DOWN.weight + triage.NEGATIVE.weight


def test_it_reads_a_dialog_again_when_its_stream_was_cut(assistant):
    dialog = chat.dialog_start(assistant=assistant, source=Dialog.Source.CHAT)
    _q, answer = chat.turn_ask(dialog=dialog, content="Tell me everything about Python")
    assert _swept(dialog) == [set()]

    chat.answer_cut(answer=answer, text="Python is")

    assert _swept(dialog) == [{"failed"}]


def test_it_keeps_a_dialog_due_when_it_changes_while_the_sweep_reads_it(assistant):
    dialog = record(assistant, [("What is a set?", "A collection of unique items.")])
    answer = answers(dialog)[0]
    changed = []

    def a_thumbs_down_meanwhile(execute, sql, params, many, context):
        # Between the sweep's reading of the messages and its writing of the flags, a learner
        # presses 👎 (its own statement, on the same connection: the order is what matters).
        result = execute(sql, params, many, context)
        if not changed and 'FROM "dialogs_message"' in sql and "dialog_id" in sql and "IN" in sql:
            changed.append(True)
            chat.feedback_set(answer=answer, value=Message.Feedback.DOWN)
        return result

    with connection.execute_wrapper(a_thumbs_down_meanwhile):
        assert triage.dialogs_triage_batch() == (1, 0)
    assert changed
    dialog.refresh_from_db()
    assert dialog.triage_due and dialog.flags == 0  # not flagged from what was read before the 👎

    assert _swept(dialog) == [{"thumbs-down"}]


def test_it_stops_the_scheduled_sweep_after_its_time_and_the_next_one_goes_on(assistant, settings):
    settings.TRIAGE_SWEEP_SECONDS = 0
    for number in range(triage.BATCH + 5):
        record(assistant, [(f"Question {number}", "An answer.")])

    assert dialogs_triage() == triage.BATCH  # one batch, then its time is up
    assert triage.triage_left() == 5
    dialogs_triage()
    assert triage.triage_left() == 0


def test_it_backfills_every_due_dialog_with_the_command_and_shows_progress(assistant):
    for number in range(triage.BATCH + 1):
        record(assistant, [(f"Question {number}", "I don't know.")])
    out = StringIO()

    call_command("triage_dialogs", stdout=out)

    assert out.getvalue().splitlines() == [
        f"{triage.BATCH + 1} dialogs to read",
        f"{triage.BATCH} flagged, 1 left",
        f"{triage.BATCH + 1} flagged, 0 left",
        f"Done: {triage.BATCH + 1} dialogs flagged.",
    ]
    assert set(Dialog.objects.values_list("flags", flat=True)) == {triage.NOTHING_FOUND.bit}


# The dialogs page


def test_it_filters_the_dialogs_by_a_flag_and_shows_each_rows_flags(curator_client, course, assistant):
    failed = record(assistant, [("What is a dict?", "")], status=Message.Status.FAILED)
    disliked = record(assistant, [("What is a set?", "A kind of list.")], feedback=[-1])
    fine = record(assistant, [("What is a list?", "An ordered collection.")])
    dialogs_triage()

    assert _rows(_list(curator_client, course, flag="thumbs-down")) == [disliked.pk]
    assert _rows(_list(curator_client, course, flag="failed")) == [failed.pk]
    assert _rows(_list(curator_client, course, flag="any")) == [disliked.pk, failed.pk]
    assert set(_rows(_list(curator_client, course))) == {failed.pk, disliked.pk, fine.pk}
    page = _list(curator_client, course, flag="thumbs-down").content.decode()
    row = page.split(f'id="dialog-{disliked.pk}"')[1].split("</tr>")[0]
    assert '<ul class="flags" aria-label="Flags"><li class="badge warn">👎 on an answer</li></ul>' in row


def test_it_ranks_the_dialogs_worth_curating_and_leaves_out_curated_ones(curator_client, course, assistant, curator):
    slight = record(assistant, [("Tell me about lists", "x" * (triage.LONG_ANSWER_CHARS + 1))])
    worst = record(assistant, [("What is a set?", "I don't know.")], feedback=[-1])
    middle = record(assistant, [("What is a dict?", "")], status=Message.Status.FAILED)
    curated = record(assistant, [("What is a tuple?", "I don't know.")], feedback=[-1])
    record(assistant, [("What is a list?", "An ordered collection.")])
    dataset = curation.dataset_for_assistant(assistant=assistant, user=curator)
    curation.example_from_dialog(dialog=curated, dataset=dataset, user=curator)
    dialogs_triage()

    page = curator_client.get(reverse("dialogs:list", kwargs={"slug": course.slug}))
    worth_url = re.search(r'href="([^"]*sort=worth[^"]*)">Worth curating<', page.content.decode()).group(1)
    response = curator_client.get(worth_url.replace("&amp;", "&"))

    assert _rows(response) == [worst.pk, middle.pk, slight.pk]


def test_it_says_how_many_dialogs_the_worker_has_still_to_read(curator_client, course, assistant):
    record(assistant, [("What is a list?", "An ordered collection.")])
    record(assistant, [("What is a set?", "A collection.")])

    assert "The worker has still to read 2 dialogs for their flags." in _list(curator_client, course).content.decode()
    dialogs_triage()
    assert "The worker has still to read" not in _list(curator_client, course).content.decode()


def test_it_reads_the_same_number_of_queries_for_25_and_100_flagged_rows(curator_client, course, assistant):
    for number in range(30):
        record(assistant, [(f"Question {number}", "I don't know.")], feedback=[-1])
    dialogs_triage()

    counts = []
    for per_page in (25, 100):
        with CaptureQueriesContext(connection) as queries:
            assert len(_rows(_list(curator_client, course, flag="nothing-found", per_page=per_page))) == min(
                per_page, 30
            )
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_it_ignores_an_unknown_flag(curator_client, course, assistant):
    dialog = record(assistant, [("What is a list?", "An ordered collection.")])

    assert _rows(_list(curator_client, course, flag="no-such-flag")) == [dialog.pk]


def test_it_shows_the_flags_on_the_dialog_page(curator_client, course, assistant):
    dialog = record(assistant, [("What is a set?", "I don't know.")], feedback=[-1])
    dialogs_triage()

    page = curator_client.get(reverse("dialogs:detail", kwargs={"slug": course.slug, "dialog_id": dialog.pk}))

    assert page.status_code == 200
    assert "👎 on an answer" in page.content.decode() and "found nothing or refused" in page.content.decode()
