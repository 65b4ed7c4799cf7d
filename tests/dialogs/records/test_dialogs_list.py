import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dialogs.chat import services as chat
from dialogs.datasets import services as curation
from dialogs.models import Dataset, Dialog, Example
from tests.dialogs.records.dialog_helpers import answers, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def assistant(course, sandbox_provider):
    return course.assistants.create(
        name="Tutor", instructions="Answer briefly.", provider=sandbox_provider, model="gpt-4.1-mini"
    )


@pytest.fixture
def other_assistant(course, sandbox_provider):
    return course.assistants.create(name="Grader", provider=sandbox_provider, model="gpt-4.1")


def _url(course, **params) -> str:
    url = reverse("dialogs:list", kwargs={"slug": course.slug})
    return url if not params else url + "?" + "&".join(f"{key}={value}" for key, value in params.items())


def _rows(response) -> list[int]:
    assert response.status_code == 200
    return [int(pk) for pk in re.findall(r'<tr id="dialog-(\d+)"', response.content.decode())]


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client


def test_it_lists_the_course_dialogs_with_what_each_row_shows(curator_client, course, assistant, learner):
    dialog = record(
        assistant,
        [("What is a list?", "An ordered collection."), ("And a tuple?", "An immutable one.")],
        user=learner,
        feedback=[1, -1],
    )
    api = record(assistant, [("Hi", "Hello")], source=Dialog.Source.API, external_user_id="tg-42")

    response = curator_client.get(_url(course))

    assert _rows(response) == [api.pk, dialog.pk]
    row = response.content.decode().split(f'id="dialog-{dialog.pk}"')[1].split("</tr>")[0]
    assert "What is a list?" in row
    assert "<td>4</td>" in row  # messages
    assert "👍 1" in row and "👎 1" in row
    assert learner.email in row
    assert reverse("dialogs:detail", kwargs={"slug": course.slug, "dialog_id": dialog.pk}) in row
    assert "tg-42" in response.content.decode()
    assert "API" in response.content.decode()


def test_it_shows_which_dialogs_are_curated_with_links_to_their_examples(curator_client, course, assistant, curator):
    curated = record(assistant, [("Q", "A")])
    plain = record(assistant, [("Q2", "A2")])
    dataset = curation.dataset_create(course=course, name="Main", user=curator, assistant=assistant)
    example = curation.example_from_dialog(dialog=curated, dataset=dataset, user=curator)

    page = curator_client.get(_url(course)).content.decode()

    editor = reverse(
        "dialogs:example", kwargs={"slug": course.slug, "dataset_id": dataset.pk, "example_id": example.pk}
    )
    curated_row = page.split(f'id="dialog-{curated.pk}"')[1].split("</tr>")[0]
    plain_row = page.split(f'id="dialog-{plain.pk}"')[1].split("</tr>")[0]
    assert editor in curated_row and "Main" in curated_row
    assert "🎓" not in plain_row and "/examples/" not in plain_row


def test_it_filters_by_assistant(curator_client, course, assistant, other_assistant):
    mine = record(assistant, [("Q", "A")])
    theirs = record(other_assistant, [("Q", "A")])
    assert _rows(curator_client.get(_url(course, assistant=assistant.pk))) == [mine.pk]
    assert _rows(curator_client.get(_url(course, assistant=other_assistant.pk))) == [theirs.pk]


def test_it_filters_by_date_range(curator_client, course, assistant):
    old = record(assistant, [("Q", "A")], days_ago=10)
    recent = record(assistant, [("Q", "A")], days_ago=1)
    today = date.today()
    since = (today - timedelta(days=3)).isoformat()
    until = (today - timedelta(days=5)).isoformat()
    assert _rows(curator_client.get(_url(course, since=since))) == [recent.pk]
    assert _rows(curator_client.get(_url(course, until=until))) == [old.pk]
    ten_days = (today - timedelta(days=10)).isoformat()
    assert _rows(curator_client.get(_url(course, since=ten_days, until=ten_days))) == [old.pk]


def test_it_filters_by_source(curator_client, course, assistant):
    chat_dialog = record(assistant, [("Q", "A")])
    playground = record(assistant, [("Q", "A")], source=Dialog.Source.PLAYGROUND)
    api = record(assistant, [("Q", "A")], source=Dialog.Source.API)
    assert _rows(curator_client.get(_url(course, source="chat"))) == [chat_dialog.pk]
    assert _rows(curator_client.get(_url(course, source="playground"))) == [playground.pk]
    assert _rows(curator_client.get(_url(course, source="api"))) == [api.pk]


def test_it_filters_by_feedback(curator_client, course, assistant):
    liked = record(assistant, [("Q", "A")], feedback=[1])
    disliked = record(assistant, [("Q", "A"), ("Q", "A")], feedback=[None, -1])
    silent = record(assistant, [("Q", "A")])
    assert _rows(curator_client.get(_url(course, feedback="up"))) == [liked.pk]
    assert _rows(curator_client.get(_url(course, feedback="down"))) == [disliked.pk]
    assert _rows(curator_client.get(_url(course, feedback="none"))) == [silent.pk]


def test_it_filters_by_being_in_a_dataset(curator_client, course, assistant, curator):
    curated = record(assistant, [("Q", "A")])
    plain = record(assistant, [("Q", "A")])
    dataset = curation.dataset_for_assistant(assistant=assistant, user=curator)
    curation.example_from_dialog(dialog=curated, dataset=dataset, user=curator)
    assert _rows(curator_client.get(_url(course, curated="yes"))) == [curated.pk]
    assert _rows(curator_client.get(_url(course, curated="no"))) == [plain.pk]


def test_it_filters_by_model(curator_client, course, assistant):
    mini = record(assistant, [("Q", "A")], model="gpt-4.1-mini")
    tuned = record(assistant, [("Q", "A")], model="ft:gpt-4.1-mini:gradcap::abc")
    assert _rows(curator_client.get(_url(course, model="ft:gpt-4.1-mini:gradcap::abc"))) == [tuned.pk]
    assert _rows(curator_client.get(_url(course, model="gpt-4.1-mini"))) == [mini.pk]


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite path (icontains)")
def test_it_searches_message_content_on_sqlite(curator_client, course, assistant):
    loops = record(assistant, [("How do loops work?", "A for loop walks over a sequence.")])
    record(assistant, [("What is a dict?", "A mapping.")])
    russian = record(assistant, [("Что такое исключение?", "Ошибка во время выполнения.")])
    assert _rows(curator_client.get(_url(course, q="sequence"))) == [loops.pk]  # in an answer
    assert _rows(curator_client.get(_url(course, q="LOOPS"))) == [loops.pk]
    assert _rows(curator_client.get(_url(course, q="исключение"))) == [russian.pk]
    assert _rows(curator_client.get(_url(course, q="nothing-like-this"))) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL path (GIN index, tsquery)")
def test_it_searches_message_content_on_postgresql(curator_client, course, assistant):
    loops = record(assistant, [("How do loops work?", "A for loop walks over a sequence.")])
    record(assistant, [("What is a dict?", "A mapping.")])
    russian = record(assistant, [("Что такое исключения?", "Ошибка во время выполнения.")])
    assert _rows(curator_client.get(_url(course, q="sequence"))) == [loops.pk]
    assert _rows(curator_client.get(_url(course, q="LOOP"))) == [loops.pk]  # a prefix, any case
    assert _rows(curator_client.get(_url(course, q="исключени"))) == [russian.pk]
    assert _rows(curator_client.get(_url(course, q="for sequence"))) == [loops.pk]  # all words
    assert _rows(curator_client.get(_url(course, q="for mapping"))) == []
    assert _rows(curator_client.get(_url(course, q="'&|!"))) == []  # no words: no match, no error
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'message_content_fts'")
        assert "to_tsvector('simple'::regconfig, content)" in cursor.fetchone()[0]


def _hits(response) -> dict[int, str]:
    """Each row's search excerpt, with <mark> kept and the rest of the markup dropped."""
    page = response.content.decode()
    rows = re.findall(r'<tr id="dialog-(\d+)">(.*?)</tr>', page, re.S)
    hits = {}
    for pk, row in rows:
        if found := re.search(r'<p class="search-hit small">(.*?)</p>', row, re.S):
            text = re.sub(r"<(?!/?mark>)[^>]+>", "", found.group(1))
            hits[int(pk)] = " ".join(text.split())
    return hits


def test_it_a_search_shows_the_matching_message_with_the_words_marked(curator_client, course, assistant):
    answer = "First some context. " * 8 + "A for loop walks over a sequence, and a while loop runs until it stops."
    loops = record(assistant, [("How do they work?", answer), ("And a <b>loop</b> in a loop?", "Nested.")])
    record(assistant, [("What is a dict?", "A mapping.")])
    word_starts = connection.vendor == "postgresql"

    response = curator_client.get(_url(course, q="loop"))
    hits = _hits(response)
    assert list(hits) == [loops.pk]
    # The first matching message of the transcript (the answer), cut around its first match.
    assert hits[loops.pk].startswith("Assistant: … First some context.")
    assert "A for <mark>loop</mark> walks over a sequence, and a while <mark>loop</mark> runs" in hits[loops.pk]
    hit = loops.messages.get(position=2)
    assert f'/dialogs/{loops.pk}/?q=loop#m{hit.pk}"' in response.content.decode()

    # Marked as the search finds: by the start of a word on PostgreSQL, anywhere on SQLite.
    hits = _hits(curator_client.get(_url(course, q="LOOP")))
    assert "<mark>loop</mark> walks" in hits[loops.pk]
    question = _hits(curator_client.get(_url(course, q="in a loop")))[loops.pk]
    assert question.startswith("Learner:")
    assert "&lt;b&gt;<mark>loop</mark>&lt;/b&gt;" in question or not word_starts  # escaped, never HTML
    assert "<b>" not in curator_client.get(_url(course, q="in a loop")).content.decode()


def test_it_sorts(curator_client, course, assistant):
    first = record(assistant, [("Q", "A")], days_ago=3)
    long = record(assistant, [("Q", "A"), ("Q", "A"), ("Q", "A")], days_ago=2)
    last = record(assistant, [("Q", "A")], days_ago=1)
    chat.turn_ask(dialog=first, content="One more thing")  # recent activity on the oldest dialog

    assert _rows(curator_client.get(_url(course))) == [last.pk, long.pk, first.pk]  # newest by default
    assert _rows(curator_client.get(_url(course, sort="newest"))) == [last.pk, long.pk, first.pk]
    assert _rows(curator_client.get(_url(course, sort="oldest"))) == [first.pk, long.pk, last.pk]
    assert _rows(curator_client.get(_url(course, sort="longest"))) == [long.pk, first.pk, last.pk]
    assert _rows(curator_client.get(_url(course, sort="activity"))) == [first.pk, last.pk, long.pk]


def test_it_paginates_and_keeps_the_filter_in_the_links(curator_client, course, assistant):
    dialogs = [record(assistant, [(f"Question {n}", "A")], feedback=[1], days_ago=30 - n) for n in range(27)]
    record(assistant, [("No feedback", "A")])
    newest_first = [d.pk for d in reversed(dialogs)]

    first = curator_client.get(_url(course, feedback="up"))
    assert _rows(first) == newest_first[:25]
    page = first.content.decode()
    assert 'href="?feedback=up&amp;page=2"' in page
    assert "Previous" not in page

    second = curator_client.get(_url(course, feedback="up", page=2))
    assert _rows(second) == newest_first[25:]
    assert 'href="?feedback=up&amp;page=1"' in second.content.decode()
    assert 'rel="next"' not in second.content.decode()

    assert _rows(curator_client.get(_url(course, feedback="up", per_page=50))) == newest_first
    assert _rows(curator_client.get(_url(course, per_page=7, page="x"))) == _rows(curator_client.get(_url(course)))


def test_it_reads_the_same_number_of_queries_for_25_and_100_rows(curator_client, course, assistant, curator, learner):
    dataset = curation.dataset_for_assistant(assistant=assistant, user=curator)
    for number in range(110):
        user = learner if number % 2 else None
        dialog = record(assistant, [("Q", "A")], user=user, external_user_id="" if user else f"ext-{number}")
        if number % 10 == 0:
            curation.example_from_dialog(dialog=dialog, dataset=dataset, user=curator)
    for filters in ({}, {"q": "Q", "sort": "longest"}, {"source": "chat", "feedback": "none", "sort": "oldest"}):
        counts = {}
        for size in (25, 100):
            with CaptureQueriesContext(connection) as queries:
                rows = _rows(curator_client.get(_url(course, per_page=size, **filters)))
            assert len(rows) == size
            counts[size] = len(queries)
        assert counts[25] == counts[100], filters
        if not filters:
            # session, user, course access, assistants, datasets, page, examples, dialogs due for triage
            assert counts[25] <= 10


def test_it_adds_selected_dialogs_to_a_chosen_dataset(curator_client, course, assistant, curator):
    one = record(assistant, [("What is a loop?", "A repetition.")])
    two = record(assistant, [("What is a list?", "A sequence.")])
    skipped = record(assistant, [("Not me", "No.")])
    dataset = curation.dataset_create(course=course, name="Handpicked", user=curator, assistant=assistant)

    response = curator_client.post(
        reverse("dialogs:add", kwargs={"slug": course.slug}),
        {"dialog": [one.pk, two.pk], "dataset": dataset.pk, "back": "feedback=none&page=1"},
    )

    assert response.status_code == 302
    assert response["Location"] == _url(course, feedback="none", page=1)
    assert sorted(dataset.examples.values_list("source_dialog", flat=True)) == [one.pk, two.pk]
    assert dataset.examples.get(source_dialog=one).messages[0]["content"] == "What is a loop?"
    one.refresh_from_db()
    skipped.refresh_from_db()
    assert (one.example_count, skipped.example_count) == (1, 0)
    page = curator_client.get(response["Location"]).content.decode()
    assert "Dialogs added to Handpicked: 2." in page


def test_it_bulk_add_defaults_to_the_assistant_dataset_and_skips_dialogs_already_there(
    curator_client, course, assistant, curator
):
    one = record(assistant, [("Q1", "A1")])
    two = record(assistant, [("Q2", "A2")])
    url = reverse("dialogs:add", kwargs={"slug": course.slug})

    curator_client.post(url, {"dialog": [one.pk]})
    response = curator_client.post(url, {"dialog": [one.pk, two.pk], "dataset": ""}, follow=True)

    dataset = Dataset.objects.get()
    assert dataset.assistant == assistant
    assert sorted(dataset.examples.values_list("source_dialog", flat=True)) == [one.pk, two.pk]
    assert "Dialogs skipped, already in the dataset or without an assistant: 1." in response.content.decode()


def test_it_bulk_add_with_nothing_selected_says_so(curator_client, course, assistant):
    response = curator_client.post(reverse("dialogs:add", kwargs={"slug": course.slug}), {}, follow=True)
    assert "Select at least one dialog." in response.content.decode()
    assert not Example.objects.exists()


def test_it_bulk_add_refuses_another_course_s_dialog_or_dataset(
    curator_client, course, other_course, assistant, sandbox_provider, curator, other_curator
):
    mine = record(assistant, [("Q", "A")])
    foreign_assistant = other_course.assistants.create(name="Other", provider=sandbox_provider, model="gpt-4.1")
    foreign = record(foreign_assistant, [("Secret", "Answer")])
    foreign_dataset = curation.dataset_for_assistant(assistant=foreign_assistant, user=other_curator)
    url = reverse("dialogs:add", kwargs={"slug": course.slug})

    assert curator_client.post(url, {"dialog": [mine.pk, foreign.pk]}).status_code == 404
    assert curator_client.post(url, {"dialog": [mine.pk], "dataset": foreign_dataset.pk}).status_code == 404
    assert not Example.objects.exists()


@pytest.mark.parametrize("who", ["learner", "other_curator", "stranger"])
def test_it_is_404_for_anyone_but_the_course_curators(client, course, assistant, who, request, curator):
    record(assistant, [("Q", "A")])
    client.force_login(request.getfixturevalue(who))
    dialog = Dialog.objects.get()
    assert client.get(_url(course)).status_code == 404
    add = reverse("dialogs:add", kwargs={"slug": course.slug})
    assert client.post(add, {"dialog": [dialog.pk]}).status_code == 404
    assert not Example.objects.exists()


def test_it_asks_anonymous_visitors_to_log_in(client, course):
    response = client.get(_url(course))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_escapes_message_html_on_the_list(curator_client, course, assistant):
    record(assistant, [("<script>alert(1)</script> <b>bold</b>", "fine")], external_user_id="<img src=x>")
    page = curator_client.get(_url(course)).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>bold</b>" not in page and "<img src=x>" not in page


def test_it_the_course_tabs_show_dialogs_to_curators_only(client, course, curator, learner):
    client.force_login(curator)
    assert _url(course) in client.get(reverse("course", args=[course.slug])).content.decode()
    client.force_login(learner)
    assert _url(course) not in client.get(reverse("course", args=[course.slug])).content.decode()


# The figures the list reads, kept by the services.


def test_it_the_services_keep_the_dialog_figures_right(course, assistant, curator):
    dialog = record(assistant, [("Q1", "A1"), ("Q2", "A2")], feedback=[1, -1], model="gpt-4.1-mini")
    assert (dialog.message_count, dialog.feedback_up, dialog.feedback_down) == (4, 1, 1)
    assert dialog.model == "gpt-4.1-mini"

    first_answer = answers(dialog)[0]
    chat.feedback_set(answer=first_answer, value=-1)
    dialog.refresh_from_db()
    assert (dialog.feedback_up, dialog.feedback_down) == (0, 2)

    # Editing the second question replaces its turn (with its 👎) by a new, pending one.
    question = dialog.messages.get(position=3)
    _q, pending = chat.turn_edit(question=question, content="Q2, better")
    dialog.refresh_from_db()
    assert (dialog.message_count, dialog.feedback_up, dialog.feedback_down) == (4, 0, 1)

    from assistants.events import Turn

    chat.answer_record(answer=pending, turn=Turn(text="A2'", model="ft:gpt-4.1-mini:x"), status="complete")
    dialog.refresh_from_db()
    assert dialog.model == "ft:gpt-4.1-mini:x"

    dataset = curation.dataset_for_assistant(assistant=assistant, user=curator)
    example = curation.example_from_dialog(dialog=dialog, dataset=dataset, user=curator)
    curation.example_from_dialog(dialog=dialog, dataset=dataset, user=curator, upto=first_answer)
    dialog.refresh_from_db()
    assert dialog.example_count == 2
    assert curation.example_discard(example=example)
    dialog.refresh_from_db()
    assert dialog.example_count == 1


def test_it_the_migration_fills_the_figures_of_existing_dialogs(course, assistant, curator):
    import importlib

    from django.apps import apps

    dialog = record(assistant, [("Q1", "A1"), ("Q2", "A2")], feedback=[1, None], model="gpt-4.1-mini")
    curation.example_from_dialog(
        dialog=dialog, dataset=curation.dataset_for_assistant(assistant=assistant, user=curator), user=curator
    )
    Dialog.objects.update(message_count=0, feedback_up=0, feedback_down=0, model="", example_count=0)

    migration = importlib.import_module("dialogs.migrations.0004_dialog_list_fill_and_search")
    migration.fill_figures(apps, None)

    dialog.refresh_from_db()
    assert (dialog.message_count, dialog.feedback_up, dialog.feedback_down) == (4, 1, 0)
    assert (dialog.model, dialog.example_count) == ("gpt-4.1-mini", 1)
