# ruff: noqa: F811 -- the fixtures imported from dataset_fixtures are parameters of the tests
"""The datasets' tallies (dialogs.datasets.tallies) move with every change of an example and always equal
a count made again from the examples."""

import threading

import pytest
from django.db import connection, connections
from django.urls import reverse

from dialogs.datasets import checks, edits, tallies
from dialogs.datasets import services as curation
from dialogs.models import DatasetFingerprint, DatasetTally, Example
from tests.dialogs.datasets.dataset_fixtures import assistant, dataset, demo_rows, fill  # noqa: F401 -- fixtures
from tests.dialogs.datasets.test_stored_checks import _every_kind_of_issue, _qa, _stored, _validated_whole

pytestmark = pytest.mark.django_db


def _tallies() -> tuple[set, set]:
    figures = set(DatasetTally.objects.values_list("dataset", "measure", "value", "count"))
    fingerprints = set(DatasetFingerprint.objects.values_list("dataset", "fingerprint", "count"))
    return figures, fingerprints


def _counted_again() -> tuple[set, set]:
    for dataset_id in {
        *DatasetTally.objects.values_list("dataset", flat=True),
        *Example.objects.values_list("dataset", flat=True),
    }:
        tallies.rebuild(dataset_id)
    return _tallies()


def test_it_keeps_the_tallies_equal_to_a_count_from_the_examples(dataset):
    _every_kind_of_issue(dataset)  # imports, edits, a move to another dataset, a delete, a draft…
    kept = _tallies()

    assert kept == _counted_again()
    figures, fingerprints = kept
    assert {measure for _d, measure, _v, _c in figures} >= {"token_count", "kind:supervised", "issue:pii_email:warning"}
    assert any(count > 1 for _d, _f, count in fingerprints)  # the duplicates share one
    assert all(count > 0 for *_key, count in figures | fingerprints)  # rows down to zero are gone


def test_it_counts_an_example_once_whatever_it_went_through(dataset):
    example = fill(dataset, [_qa("Mail me at ann@example.com", "Sure.")])[0]
    for change in (
        edits.set_status(Example.Status.DRAFT),
        edits.set_status(Example.Status.READY),
        edits.set_split(Example.Split.VALIDATION),
        edits.set_content(1, "Sure, I will."),
        edits.redact(),
    ):
        example = curation.example_change(example=example, version=example.version, user=None, change=change)
    figures, _fingerprints = _tallies()
    assert {(measure, count) for _d, measure, _v, count in figures if measure.startswith(("split", "kind"))} == {
        ("split:validation", 1),
        ("kind:supervised", 1),
    }
    assert not any(measure.startswith("issue:") for _d, measure, _v, _c in figures)  # redacted

    example.refresh_from_db()
    curation.example_delete(example=example, version=example.version)
    assert _tallies() == (set(), set())


def test_it_takes_an_example_deleted_in_the_admin_out_of_the_tallies(admin_client, dataset):
    examples = fill(dataset, [*demo_rows(11), _qa("Same?", "Same."), _qa("Same?", "Same.")])
    response = admin_client.post(reverse("admin:dialogs_example_delete", args=[examples[-1].pk]), {"post": "yes"})
    assert response.status_code == 302
    response = admin_client.post(
        reverse("admin:dialogs_example_changelist"),
        {"action": "delete_selected", "_selected_action": [examples[0].pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert dataset.examples.count() == 11
    assert _tallies() == _counted_again()
    assert _stored(dataset) == _validated_whole(dataset)


def test_it_mends_wrong_tallies_with_a_full_revalidation(dataset):
    fill(dataset, [*demo_rows(12), _qa("Same?", "Same."), _qa("Same?", "Same.")])
    right = _tallies()
    DatasetTally.objects.filter(dataset=dataset).update(count=7)
    DatasetFingerprint.objects.all().delete()

    checks.dataset_revalidate(dataset)

    assert _tallies() == right


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite lets one writer in at a time")
def test_it_keeps_the_tallies_right_under_concurrent_edits_of_one_dataset(dataset):
    """Curators editing examples of one dataset at once: each edit moves rows the others move too
    (the same token counts, kinds, split); none is lost and none waits for ever."""
    examples = fill(dataset, demo_rows(24))
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def edit(mine: list[Example], word: str) -> None:
        try:
            start.wait()
            for example in mine:
                last = len(example.messages) - 1
                change = edits.set_content(last, f"{word} {example.pk}")
                curation.example_change(example=example, version=example.version, user=None, change=change)
        except BaseException as failure:
            failures.append(failure)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=edit, args=(examples[0::2], "Short answer")),
        threading.Thread(target=edit, args=(examples[1::2], "Short answer")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures
    assert _tallies() == _counted_again()
    assert _stored(dataset) == _validated_whole(dataset)
