import re

import pytest
from playwright.sync_api import expect

from dialogs.models import Dialog, Example
from dialogs.tasks import dialogs_triage
from llm.models import Provider
from tests.browser.conftest import log_in
from tests.dialogs.records.dialog_helpers import record

pytestmark = [pytest.mark.browser]


@pytest.fixture
def dialogs(course, learner):
    provider = Provider.objects.create(name="Sandbox", kind=Provider.Kind.SANDBOX)
    tutor = course.assistants.create(name="Tutor", provider=provider, model="gpt-4.1-mini-2025-04-14")
    good = record(tutor, [("How do I append to a list?", "Use items.append(x).")], user=learner, feedback=[1])
    bad = record(
        tutor,
        [("What does range(5) give?", "It gives 1 to 5."), ("Are you sure?", "Yes, 1, 2, 3, 4 and 5.")],
        user=learner,
        feedback=[None, -1],
    )
    return good, bad


def test_it_filters_dialogs_opens_one_and_graduates_it_into_the_editor(page, course, curator, dialogs):
    _good, bad = dialogs
    log_in(page, curator.email)
    page.goto(f"/c/{course.slug}/")
    page.get_by_role("link", name="Dialogs", exact=True).click()
    expect(page.locator("#dialogs tbody tr")).to_have_count(2)

    page.get_by_label("Feedback").select_option(label="👎")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"feedback=down"))
    rows = page.locator("#dialogs tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("What does range(5) give?")

    page.get_by_role("link", name="What does range(5) give?").click()
    expect(page.get_by_role("heading", name="What does range(5) give?")).to_be_visible()
    expect(page.locator("#transcript")).to_contain_text("Yes, 1, 2, 3, 4 and 5.")

    page.get_by_role("button", name="🎓 Add to dataset").click()
    expect(page).to_have_url(re.compile(r"/datasets/\d+/examples/\d+/$"))
    bodies = page.get_by_role("button", name=re.compile(r"^Edit message \d+$"))  # the editor's message texts
    expect(bodies.filter(has_text="What does range(5) give?")).to_be_visible()
    expect(bodies.filter(has_text="Yes, 1, 2, 3, 4 and 5.")).to_be_visible()
    example = Example.objects.get()
    assert example.source_dialog_id == bad.pk
    assert Dialog.objects.get(pk=bad.pk).messages.count() == 4  # the dialog is as it was


def test_it_a_search_shows_why_each_dialog_matched_and_marks_the_words_in_the_dialog(page, course, curator, dialogs):
    _good, bad = dialogs
    log_in(page, curator.email)
    page.goto(f"/c/{course.slug}/dialogs/")
    page.get_by_role("searchbox", name="Search").fill("sure")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#dialogs tbody tr")
    expect(rows).to_have_count(1)
    # Listed under its first question, with the message that matched and the word marked.
    expect(rows.first).to_contain_text("What does range(5) give?")
    hit = rows.first.get_by_role("link", name="Learner: Are you sure?")
    expect(hit.locator("mark")).to_have_text("sure")

    hit.click()
    expect(page.get_by_role("heading", name="What does range(5) give?")).to_be_visible()
    marked = page.locator("#transcript mark")
    expect(marked).to_have_text(["sure"])
    expect(page.locator(f"#m{bad.messages.get(position=3).pk}")).to_be_in_viewport()

    page.get_by_role("button", name="🎓 Add to dataset").click()
    expect(page).to_have_url(re.compile(r"/datasets/\d+/examples/\d+/$"))
    assert Example.objects.get().source_dialog_id == bad.pk


def test_it_graduates_at_a_turn_and_adds_dialogs_in_bulk(page, course, curator, dialogs):
    good, bad = dialogs
    log_in(page, curator.email)
    page.goto(f"/c/{course.slug}/dialogs/{bad.pk}/")
    page.get_by_role("button", name="🎓 Up to this answer").first.click()
    expect(page).to_have_url(re.compile(r"/examples/\d+/$"))
    bodies = page.get_by_role("button", name=re.compile(r"^Edit message \d+$"))
    expect(bodies.filter(has_text="It gives 1 to 5.")).to_be_visible()
    expect(bodies.filter(has_text="Are you sure?")).to_have_count(0)

    page.goto(f"/c/{course.slug}/dialogs/")
    page.get_by_label("Select all dialogs on this page").check()
    expect(page.get_by_role("checkbox", name="How do I append to a list?")).to_be_checked()
    page.get_by_role("button", name="🎓 Add to dataset").click()
    expect(page.get_by_role("status")).to_contain_text("Dialogs added to Tutor examples: 1.")
    expect(page.get_by_role("status")).to_contain_text("Dialogs skipped, already in the dataset")
    expect(page.locator(f"#dialog-{good.pk}")).to_contain_text("🎓 Tutor examples")


def test_it_the_search_box_and_dates_match_the_selects_beside_them(page, course, curator, dialogs):
    log_in(page, curator.email)
    page.goto(f"/c/{course.slug}/dialogs/")
    select = page.get_by_label("Feedback").bounding_box()
    for name in ("Search:", "From:", "To:"):
        field = page.get_by_label(name, exact=True)
        box = field.bounding_box()
        assert abs(box["height"] - select["height"]) <= 2, (name, box, select)
        assert field.evaluate("element => getComputedStyle(element).borderTopLeftRadius") == "6px"


def test_it_a_curator_finds_the_dialogs_worth_curating_by_their_flags_and_graduates_one(page, course, curator, dialogs):
    good, bad = dialogs
    tutor = bad.assistant
    refused = record(tutor, [("Who grades the list homework?", "I couldn't find that in the course materials.")])
    dialogs_triage()  # what the worker's sweep does every minute
    log_in(page, curator.email)
    page.goto(f"/c/{course.slug}/dialogs/")
    expect(page.locator(f"#dialog-{bad.pk}").get_by_role("list", name="Flags")).to_have_text("👎 on an answer")
    expect(page.locator(f"#dialog-{good.pk}").get_by_role("list", name="Flags")).to_have_count(0)

    page.get_by_role("link", name="Worth curating").click()
    rows = page.locator("#dialogs tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("What does range(5) give?")  # 👎 weighs most

    page.get_by_label("Flag:", exact=True).select_option(label="found nothing or refused")
    page.get_by_role("searchbox", name="Search").fill("list")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"flag=nothing-found"))
    expect(rows).to_have_count(1)
    expect(rows.first.get_by_role("listitem")).to_have_text("found nothing or refused")
    hit = rows.first.get_by_role("link", name="Learner: Who grades the list homework?")
    expect(hit.locator("mark")).to_have_text("list")

    hit.click()
    expect(page.get_by_role("heading", name="Who grades the list homework?")).to_be_visible()
    expect(page.locator("#transcript mark").first).to_have_text("list")
    page.get_by_role("button", name="🎓 Add to dataset").click()
    expect(page).to_have_url(re.compile(r"/datasets/\d+/examples/\d+/$"))
    assert Example.objects.get().source_dialog_id == refused.pk
