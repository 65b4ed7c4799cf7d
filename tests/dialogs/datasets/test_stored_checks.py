# ruff: noqa: F811 -- the fixtures imported from dataset_fixtures are parameters of the tests
"""The dataset page's report from each example's stored checks equals a full validation."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from assistants.services import assistant_update
from dialogs.datasets import checks, edits, lines, report
from dialogs.datasets import services as curation
from dialogs.models import Dataset, Example, ExampleIssue
from llm.catalog import get_model
from tests.conftest import stalled
from tests.dialogs.datasets.dataset_fixtures import assistant, dataset, demo_rows, fill  # noqa: F401 -- fixtures
from trainingfiles.stats import dataset_stats
from trainingfiles.validation import validate_dataset

pytestmark = pytest.mark.django_db


def _qa(question, answer, **answer_keys):
    return {
        "messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer, **answer_keys}]
    }


def _set_messages(example: Example, messages: list[dict]) -> Example:
    change = edits.Change("test", lambda current: setattr(current, "messages", messages))
    return curation.example_change(example=example, version=example.version, user=None, change=change)


def _change(example: Example, change) -> Example:
    example.refresh_from_db()
    return curation.example_change(example=example, version=example.version, user=None, change=change)


BROKEN = [
    [{"role": "user", "content": "Say nothing"}, {"role": "assistant", "content": "   "}],
    [
        {"role": "wizard", "content": "Abracadabra"},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
    ],
    [{"role": "user", "content": "Where is it?"}, {"role": "assistant"}],
    [{"role": "user", "content": "Weights?"}, {"role": "assistant", "content": "Yes.", "weight": 2}],
    [{"role": "user", "content": "Mood?"}, {"role": "assistant", "content": "Fine.", "mood": "happy"}],
    [{"role": "user", "content": "Teach me"}, {"role": "assistant", "content": "Nothing.", "weight": 0}],
    [
        {"role": "user", "content": "What day is it?"},
        {
            "role": "assistant",
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "calendar", "arguments": "{}"}}],
        },
        {"role": "user", "content": "Hello?"},
        {"role": "assistant", "content": "Monday."},
    ],
    [{"role": "user", "content": "Call me"}, {"role": "assistant", "content": "At +7 912 345-67-89?"}],
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Bye"}],
]
CLOCK = [{"type": "function", "function": {"name": "clock", "parameters": {"type": "object", "properties": {}}}}]


def _every_kind_of_issue(dataset: Dataset) -> Dataset:
    """A dataset with every kind of issue a dataset of examples can have, made by the services a
    curator uses: imports, edits, moves, deletes, status and split changes, a new base model."""
    curation.dataset_update(dataset=dataset, base_model="gpt-4.1-mini-2025-04-14")
    examples = fill(
        dataset,
        [
            *demo_rows(12),
            _qa("What is a tuple?", "An immutable sequence."),
            _qa("What is a tuple?", "An immutable sequence."),  # exact duplicate
            _qa("what is a TUPLE", "An immutable sequence!"),  # near duplicate
            _qa("Mail me at ann@example.com", "Sure."),  # personal data
            _qa("Long?", "word " * 70_000),  # over the token limit
            *[_qa(f"Question {number}", f"Answer {number}.") for number in range(len(BROKEN) + 6)],
        ],
    )
    spare = examples[-(len(BROKEN) + 6) :]
    for example, messages in zip(spare, BROKEN, strict=False):
        _set_messages(example, messages)
    _change(spare[6], edits.Change("tools", lambda current: setattr(current, "tools", CLOCK)))  # no calendar
    moved, deleted, drafted, split, rewritten, duplicated = spare[len(BROKEN) :]
    other = curation.dataset_create(course=dataset.course, name="Other", user=None, assistant=dataset.assistant)
    _change(moved, edits.move_to(other))
    deleted.refresh_from_db()
    curation.example_delete(example=deleted, version=deleted.version)
    _change(drafted, edits.set_status(Example.Status.DRAFT))
    _change(split, edits.set_split(Example.Split.VALIDATION))
    _change(rewritten, edits.set_content(1, "A better answer."))
    _change(duplicated, edits.set_content(0, "What is a tuple?"))
    _change(duplicated, edits.set_content(1, "An immutable sequence."))  # now a duplicate too
    _change(examples[0], edits.redact())  # no personal data: a revision, same checks
    dataset.refresh_from_db()
    return dataset


def _results(results) -> list[tuple]:
    return [
        (
            result.title,
            result.errors,
            result.warnings,
            [(i.code, i.severity, i.message, i.example_key, i.message_index) for i in result.issues],
            result.pii_examples,
        )
        for result in results
    ]


def _validated_whole(dataset: Dataset) -> dict:
    """What validating every ready example in memory finds, as the page used to make it."""
    ready = list(dataset.examples.filter(status=Example.Status.READY).order_by("pk"))
    rows = [(example.pk, lines.training_row(example, lines.system_message(example, dataset))) for example in ready]
    validated = validate_dataset(rows, base_model=get_model(dataset.base_model))
    validation = sum(1 for e in ready if lines.split_of(e, dataset.validation_percent) == Example.Split.VALIDATION)
    return {
        "checks": _results(report.report_by_check(validated)),
        "counts": (validated.error_count, validated.warning_count),
        "stats": dataset_stats(validated.examples, provider_kind="sandbox"),
        "split": (len(ready) - validation, validation),
        "pairs": sum(lines.pair_count(example) for example in ready),
    }


def _stored(dataset: Dataset) -> dict:
    check = report.dataset_check(dataset, provider_kind="sandbox")
    return {
        "checks": _results(check.checks),
        "counts": (check.report.error_count, check.report.warning_count),
        "stats": check.stats,
        "split": (check.train, check.validation),
        "pairs": check.pairs,
    }


def _stored_rows(dataset: Dataset) -> tuple[list, list]:
    columns = dataset.examples.order_by("pk").values_list("pk", *checks.CHECKED_FIELDS)
    issues = ExampleIssue.objects.filter(example__dataset=dataset).order_by("example", "position")
    return list(columns), list(issues.values_list("example", "position", "code", "severity", "message_index"))


@pytest.mark.parametrize("language", ["en", "ru"])
def test_it_reports_from_stored_checks_what_a_full_validation_finds(dataset, language):
    dataset = _every_kind_of_issue(dataset)
    with translation.override(language):
        stored = _stored(dataset)
        assert stored == _validated_whole(dataset)
    codes = {issue[0] for _title, _e, _w, issues, _pii in stored["checks"] for issue in issues}
    assert codes >= {
        "empty_content",
        "unrecognized_role",
        "missing_content",
        "bad_weight",
        "message_unrecognized_key",
        "nothing_to_learn",
        "unanswered_tool_call",
        "unknown_tool",
        "last_message_not_assistant",
        "token_limit",
        "few_examples",
        "duplicate",
        "near_duplicate",
        "pii_email",
        "pii_phone",
    }
    assert stored["pairs"] == 2 and stored["split"][1] >= 1  # two rewritten answers; one set to validation


def test_it_a_full_revalidation_gives_the_same_report_and_rows_as_the_incremental_one(dataset):
    dataset = _every_kind_of_issue(dataset)
    incremental, rows = _stored(dataset), _stored_rows(dataset)
    ExampleIssue.objects.filter(example__dataset=dataset).delete()
    Example.objects.filter(dataset=dataset).update(token_count=0, exact_fingerprint=None, kind="", error_count=0)

    assert checks.dataset_revalidate(dataset) == dataset.examples.count()

    assert _stored(dataset) == incremental
    assert _stored_rows(dataset) == rows


def test_it_lists_the_first_fifty_issues_of_a_check_and_counts_the_rest(dataset):
    fill(dataset, [_qa(f"Mail me at ann{number}@example.com", "Sure.") for number in range(60)])
    check = report.dataset_check(dataset)
    pii = next(result for result in check.checks if result.title == "Personal data")
    assert (pii.warnings, len(pii.issues), pii.more) == (60, 50, 10)
    assert pii.pii_examples == [issue.example_key for issue in pii.issues]
    assert _stored(dataset) == _validated_whole(dataset)


def test_it_a_page_that_lists_issues_reads_the_same_number_of_queries_for_25_and_100_rows(client, curator, dataset):
    url = reverse("dialogs:dataset", args=[dataset.course.slug, dataset.pk])
    client.force_login(curator)
    fill(dataset, [*demo_rows(20), _qa("Mail me at ann@example.com", "Sure."), *[_qa("Same?", "Same.")] * 4])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    fill(dataset, [*demo_rows(70), _qa("Call +7 912 345-67-89", "Sure."), *[_qa("Same?", "Same.")] * 4])
    assert dataset.examples.count() == 100
    with CaptureQueriesContext(connection) as many:
        html = client.get(url).content.decode()
    assert "This example is the same as example" in html
    assert len(many) == len(few)


def test_it_changed_instructions_get_every_example_checked_again_when_the_page_opens(
    client, curator, dataset, assistant
):
    fill(dataset, demo_rows(12))
    before = dict(dataset.examples.values_list("pk", "token_count"))
    assistant_update(assistant=assistant, user=curator, instructions="Answer briefly. " * 50)
    dataset.refresh_from_db()
    assert checks.revalidation_due(dataset)

    client.force_login(curator)
    client.get(reverse("dialogs:dataset", args=[dataset.course.slug, dataset.pk]))

    dataset.refresh_from_db()
    assert not checks.revalidation_due(dataset)
    after = dict(dataset.examples.values_list("pk", "token_count"))
    overridden = set(dataset.examples.filter(system_overridden=True).values_list("pk", flat=True))
    assert all(after[pk] > before[pk] for pk in before if pk not in overridden)
    assert all(after[pk] == before[pk] for pk in overridden)


def test_it_examples_stored_without_checks_get_them_on_the_first_visit(client, curator, course, assistant):
    """After the upgrade that stores checks: datasets made before it have none."""
    dataset = Dataset.objects.create(course=course, name="Old", assistant=assistant)
    rows = [*demo_rows(11), _qa("What is a tuple?", "A sequence."), _qa("What is a tuple?", "A sequence.")]
    Example.objects.bulk_create(Example(dataset=dataset, status="ready", messages=row["messages"]) for row in rows)
    assert checks.revalidation_due(dataset)
    client.force_login(curator)
    html = client.get(reverse("dialogs:dataset", args=[course.slug, dataset.pk])).content.decode()
    assert "This example is the same as example" in html
    dataset.refresh_from_db()
    assert _stored(dataset) == _validated_whole(dataset)


def test_it_the_button_checks_a_small_dataset_again_at_once(client, curator, dataset):
    fill(dataset, demo_rows(12))
    Example.objects.filter(dataset=dataset).update(token_count=0)
    client.force_login(curator)
    url = reverse("dialogs:dataset_revalidate", args=[dataset.course.slug, dataset.pk])
    response = client.post(url, follow=True)
    assert "Every example was checked again." in response.content.decode()
    assert not dataset.examples.filter(token_count=0).exists()


@override_settings(DATASET_BACKGROUND_EXAMPLES=5)
def test_it_a_large_dataset_is_checked_again_in_the_worker_with_progress(
    client, curator, dataset, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(checks, "PROGRESS_EVERY", 4)
    fill(dataset, demo_rows(12))
    Example.objects.filter(dataset=dataset).update(token_count=0)
    client.force_login(curator)
    url = reverse("dialogs:dataset_revalidate", args=[dataset.course.slug, dataset.pk])
    progress_url = reverse("dialogs:dataset_revalidation", args=[dataset.course.slug, dataset.pk])

    with django_capture_on_commit_callbacks() as callbacks:
        html = client.post(url, follow=True).content.decode()
        client.post(url)  # a second press starts no second task
    assert len(callbacks) == 1
    assert "The examples are being checked again" in html
    assert "0 / 12" in html
    assert client.get(progress_url, headers={"HX-Request": "true"}).status_code == 200

    with CaptureQueriesContext(connection) as queries:
        callbacks[0]()  # queues the task; the test cluster runs it
    assert sum('UPDATE "dialogs_dataset" SET "checks_upto"' in q["sql"] for q in queries) == 3  # 4, 8, 12
    dataset.refresh_from_db()
    assert dataset.checks_upto is None
    assert not dataset.examples.filter(token_count=0).exists()
    assert client.get(progress_url, headers={"HX-Request": "true"})["HX-Refresh"] == "true"


@override_settings(DATASET_BACKGROUND_EXAMPLES=5)
def test_it_a_revalidation_whose_worker_died_is_queued_again_and_resumes(dataset):
    fill(dataset, demo_rows(12))
    pks = list(dataset.examples.order_by("pk").values_list("pk", flat=True))
    Example.objects.filter(pk__in=pks[6:]).update(token_count=0)  # the worker died after the 6th
    Dataset.objects.filter(pk=dataset.pk).update(checks_upto=pks[5], checks_total=12, updated_at=stalled())

    assert checks.revalidations_recover() == 1  # the test cluster runs the task at once
    assert checks.revalidations_recover() == 0

    dataset.refresh_from_db()
    assert (dataset.checks_upto, dataset.checks_total) == (None, 0)
    assert not dataset.examples.filter(token_count=0).exists()


def test_it_the_command_checks_the_datasets_again(dataset, capsys):
    fill(dataset, demo_rows(12))
    Example.objects.filter(dataset=dataset).update(token_count=0)
    call_command("revalidate_datasets", str(dataset.pk))
    assert "Done: 12 examples checked." in capsys.readouterr().out
    assert not dataset.examples.filter(token_count=0).exists()
    with pytest.raises(Exception, match="No dataset with id 999"):
        call_command("revalidate_datasets", "999")


def test_it_the_split_filter_uses_the_stored_draw(client, curator, dataset):
    examples = fill(dataset, demo_rows(40))
    assert all(e.split_draw == lines.split_draw(e.pk) for e in examples)
    client.force_login(curator)
    url = reverse("dialogs:dataset", args=[dataset.course.slug, dataset.pk])
    for split in ("train", "validation"):
        html = client.get(url, {"split": split}).content.decode()
        expected = {e.pk for e in examples if lines.split_of(e, dataset.validation_percent) == split}
        shown = {e.pk for e in examples if f'id="example-{e.pk}"' in html}
        assert shown == expected and expected


def test_it_a_new_base_model_set_in_the_admin_gets_every_example_checked_again(admin_client, dataset):
    Dataset.objects.filter(pk=dataset.pk).update(base_model="")
    dataset.refresh_from_db()
    examples = fill(dataset, [_qa("Long?", "word " * 70_000), *demo_rows(10)])
    assert not ExampleIssue.objects.filter(code="token_limit").exists()  # no base model: no limit
    form = {
        "course": dataset.course_id,
        "name": dataset.name,
        "description": "",
        "assistant": dataset.assistant_id,
        "base_model": "gpt-4.1-mini-2025-04-14",  # trains on at most 65,536 tokens an example
        "validation_percent": dataset.validation_percent,
        "examples-TOTAL_FORMS": len(examples),
        "examples-INITIAL_FORMS": len(examples),
        **{f"examples-{number}-id": example.pk for number, example in enumerate(examples)},
        **{f"examples-{number}-dataset": dataset.pk for number, example in enumerate(examples)},
    }
    response = admin_client.post(reverse("admin:dialogs_dataset_change", args=[dataset.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(ExampleIssue.objects.filter(code="token_limit").values_list("example", flat=True)) == [examples[0].pk]


def test_it_a_revalidation_batch_reads_and_writes_in_as_many_queries_however_many_examples(dataset):
    def mails(count: int, start: int) -> list[dict]:  # each with an issue to store
        return [_qa(f"Mail me at ann{number}@example.com", "Sure.") for number in range(start, start + count)]

    fill(dataset, mails(12, 0))
    with CaptureQueriesContext(connection) as few:
        checks.dataset_revalidate(dataset)
    fill(dataset, mails(36, 12))
    with CaptureQueriesContext(connection) as many:
        checks.dataset_revalidate(dataset)
    assert len(many) == len(few)
