# ruff: noqa: F811 -- the fixtures imported from dataset_fixtures are parameters of the tests
import json

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.dialogs.datasets.dataset_fixtures import assistant, dataset, demo_rows  # noqa: F401 -- fixtures

pytestmark = [pytest.mark.browser]


def _jsonl(rows) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


def _choose_file(page, name: str, content: bytes) -> None:
    page.get_by_label("File").set_input_files({"name": name, "mimeType": "application/jsonl", "buffer": content})
    page.get_by_role("button", name="Preview").click()


def test_it_imports_a_file_only_when_every_line_is_good(page, curator, dataset):
    log_in(page, curator.email)
    page.goto(f"/c/{dataset.course.slug}/datasets/{dataset.pk}/")

    broken = _jsonl(demo_rows(1)) + b'{"messages": [{"role": "user", "content": "No answer"}]}\n' + _jsonl(demo_rows(1))
    _choose_file(page, "broken.jsonl", broken)
    expect(page.get_by_role("alert")).to_contain_text("Nothing can be imported from this file.")
    expect(page.get_by_role("alert")).to_contain_text("Line 2: The example has no assistant message to learn from.")
    expect(page.get_by_role("button", name="Import")).to_have_count(0)
    assert dataset.examples.count() == 0

    page.get_by_role("link", name="Choose another file").click()
    _choose_file(page, "good.jsonl", _jsonl(demo_rows(3)))
    expect(page.get_by_text("The file holds 3 examples, and they are valid.")).to_be_visible()
    page.get_by_role("button", name="Import 3 examples").click()

    expect(page.get_by_text("Imported 3 examples.")).to_be_visible()
    rows = page.locator("#example-table tbody tr")
    expect(rows).to_have_count(3)
    for number in range(3):
        row = rows.nth(number)
        expect(row.locator("td.num")).to_have_text(str(dataset.examples.order_by("pk")[number].token_count))
        expect(row.locator("td").last).to_have_text("none")
    assert all(example.token_count > 0 for example in dataset.examples.all())


def test_it_changes_an_examples_split_in_place(page, curator, dataset):
    from dialogs.datasets import services as curation

    curation.examples_create(dataset=dataset, rows=demo_rows(2), user=curator, summary="test")
    example = dataset.examples.order_by("pk").first()
    log_in(page, curator.email)
    page.goto(f"/c/{dataset.course.slug}/datasets/{dataset.pk}/")
    page.get_by_label(f"Split of example {example.pk}").select_option("validation")
    expect(page.get_by_label(f"Split of example {example.pk}")).to_have_value("validation")
    page.wait_for_function(f"() => document.querySelector('#example-{example.pk} input[name=version]').value === '2'")
    example.refresh_from_db()
    assert example.split == "validation"


def test_it_a_curator_checks_every_example_again_and_sees_what_was_missed(page, curator, dataset):
    from dialogs.datasets import services as curation
    from dialogs.models import Example

    pair = {
        "messages": [{"role": "user", "content": "What is a tuple?"}, {"role": "assistant", "content": "A sequence."}]
    }
    curation.examples_create(dataset=dataset, rows=[*demo_rows(11), pair, pair], user=curator, summary="test")
    first, second = dataset.examples.order_by("-pk")[1], dataset.examples.order_by("-pk")[0]
    # Checks stored by an older version, or lost: no fingerprints, no token counts.
    Example.objects.filter(dataset=dataset).update(token_count=0, exact_fingerprint=None, near_fingerprint=None)

    log_in(page, curator.email)
    page.goto(f"/c/{dataset.course.slug}/datasets/{dataset.pk}/")
    report = page.locator("#report")
    expect(report).not_to_contain_text("This example is the same as example")
    page.get_by_role("button", name="Check every example again").click()

    expect(page.get_by_text("Every example was checked again.")).to_be_visible()
    report.get_by_text("Exact duplicates").click()  # a check with warnings only starts folded
    expect(report.get_by_role("link", name=f"Example {second.pk}")).to_be_visible()
    expect(report).to_contain_text(f"This example is the same as example {first.pk}.")
    row = page.locator(f"#example-{second.pk}")
    expect(row.locator("td.num")).not_to_have_text("0")
    expect(row.locator("td").last).to_have_text("1 warning")
