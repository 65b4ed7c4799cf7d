# ruff: noqa: F811 -- the fixtures imported from dataset_fixtures are parameters of the tests
import json

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.curation.dataset_fixtures import assistant, dataset, demo_rows  # noqa: F401 -- fixtures

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
    from dialogs import curation

    curation.examples_create(dataset=dataset, rows=demo_rows(2), user=curator, summary="test")
    example = dataset.examples.order_by("pk").first()
    log_in(page, curator.email)
    page.goto(f"/c/{dataset.course.slug}/datasets/{dataset.pk}/")
    page.get_by_label(f"Split of example {example.pk}").select_option("validation")
    expect(page.get_by_label(f"Split of example {example.pk}")).to_have_value("validation")
    page.wait_for_function(f"() => document.querySelector('#example-{example.pk} input[name=version]').value === '2'")
    example.refresh_from_db()
    assert example.split == "validation"
