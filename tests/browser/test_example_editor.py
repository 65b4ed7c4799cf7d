"""The example editor in Chromium: in-place edits without page loads, and two curators at once."""

import re

import pytest
from playwright.sync_api import Page, expect

from assistants.events import Turn
from courses.models import Membership
from dialogs.chat import services as chat
from dialogs.datasets import edits
from dialogs.datasets import services as curation
from dialogs.models import Dialog, Example, Message
from tests.browser.conftest import _new_page, log_in
from tests.conftest import add_member, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def example(course, curator, learner, sandbox_provider) -> Example:
    assistant = course.assistants.create(
        name="Tutor", instructions="Answer briefly.", provider=sandbox_provider, model="gpt-4.1-mini"
    )
    dialog = chat.dialog_start(assistant=assistant, source=Dialog.Source.CHAT, user=learner)
    for question, answer in (("What is a list?", "An ordered collection."), ("And a tuple?", "An immutable one.")):
        _q, a = chat.turn_ask(dialog=dialog, content=question)
        chat.answer_record(answer=a, turn=Turn(text=answer), status=Message.Status.COMPLETE)
    dataset = curation.dataset_for_assistant(assistant=assistant, user=curator)
    return curation.example_from_dialog(dialog=dialog, dataset=dataset, user=curator)


def editor_path(example: Example) -> str:
    return f"/c/{example.dataset.course.slug}/datasets/{example.dataset_id}/examples/{example.pk}/"


def open_editor(page: Page, example: Example) -> None:
    page.goto(editor_path(example))
    expect(page.get_by_role("heading", name=f"Example {example.pk}")).to_be_visible()
    page.evaluate("window.notReloaded = true")  # gone if the page navigates


def stayed(page: Page) -> bool:
    return page.evaluate("window.notReloaded === true")


def tokens(page: Page) -> int:
    return int(page.locator("#example-tokens").get_attribute("data-tokens"))


def saved(example: Example) -> Example:
    return Example.objects.get(pk=example.pk)


def test_it_edits_a_message_in_place(page, curator, example):
    console_errors = []  # a Content-Security-Policy violation shows up here
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    log_in(page, curator.email)
    open_editor(page, example)
    before = tokens(page)

    answer = page.locator("#message-1")
    control = page.get_by_role("button", name="Edit message 2")  # announced as a button, with its text
    expect(control).to_have_accessible_description("An ordered collection.")
    control.focus()
    control.press("Enter")
    textarea = answer.get_by_label("Text of message 2")
    expect(textarea).to_be_focused()
    textarea.fill("An ordered, mutable collection of items.")
    textarea.press("Shift+Enter")  # a new line, not a save
    textarea.press_sequentially("Written with square brackets.")
    expect(textarea).to_be_visible()
    textarea.press("Enter")

    body = page.locator("#message-1 .message-body")
    expect(body).to_contain_text("Written with square brackets.")
    expect(body).to_be_visible()
    expect(page.locator("#example-tokens")).not_to_have_attribute("data-tokens", str(before))
    assert tokens(page) > before
    expect(page.locator("#message-1")).to_contain_text("rejected answer of a preference (DPO) pair")
    assert stayed(page)
    assert saved(example).messages[1]["content"] == (
        "An ordered, mutable collection of items.\nWritten with square brackets."
    )

    # A click on the text opens its editor too; Esc puts the text back and saves nothing.
    question = page.locator("#message-0")
    question.locator(".message-body").click()
    expect(question.get_by_label("Text of message 1")).to_be_focused()  # editor.js has placed the caret
    question.get_by_label("Text of message 1").fill("Something else")
    question.get_by_label("Text of message 1").press("Escape")
    expect(question.locator(".message-body")).to_have_text("What is a list?")
    expect(question.get_by_label("Text of message 1")).to_be_hidden()
    assert saved(example).version == 2 and stayed(page)
    assert console_errors == []


def test_it_deletes_a_message_toggles_learning_and_saves(page, curator, example):
    log_in(page, curator.email)
    open_editor(page, example)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete message 3").click()
    expect(page.locator("article.example-message[data-index]")).to_have_count(3)
    expect(page.locator("#message-2 .message-body")).to_have_text("An immutable one.")
    assert [m["content"] for m in saved(example).messages] == [
        "What is a list?",
        "An ordered collection.",
        "An immutable one.",
    ]

    learn = page.locator("#message-1").get_by_label("Learn from this answer")
    learn.uncheck()
    expect(page.locator("#example-panel")).to_contain_text("version 3")
    expect(page.locator("#message-1").get_by_label("Learn from this answer")).not_to_be_checked()
    assert saved(example).messages[1]["weight"] == 0
    assert stayed(page)

    page.get_by_role("button", name="Save as ready").click()
    page.wait_for_url(re.compile(rf"/datasets/{example.dataset_id}/$"))
    row = page.locator(f"#example-{example.pk}")
    expect(row).to_contain_text("ready")
    assert saved(example).status == Example.Status.READY


def test_it_inserts_a_message_and_types_into_it(page, curator, example):
    log_in(page, curator.email)
    open_editor(page, example)
    last = page.locator("#message-3")
    last.get_by_text("Insert a message").click()
    last.get_by_label("Role of the new message").select_option("user")
    last.get_by_role("button", name="Insert below").click()

    textarea = page.get_by_label("Text of message 5")
    expect(textarea).to_be_focused()
    expect(page.locator("#example-issues")).to_contain_text("The message is empty.")
    textarea.fill("Thanks!")
    textarea.press("Enter")
    expect(page.locator("#message-4 .message-body")).to_have_text("Thanks!")
    assert saved(example).messages[4] == {"role": "user", "content": "Thanks!"}
    assert stayed(page)


def test_it_a_second_curator_sees_the_conflict_and_loses_nothing(browser, live_server, course, curator, example):
    other = make_user("olga@example.com", first_name="Olga")
    add_member(other, course, Membership.Role.CURATOR)
    first_context, first = _new_page(browser, live_server.url)
    second_context, second = _new_page(browser, live_server.url)
    try:
        log_in(first, curator.email)
        log_in(second, other.email)
        open_editor(first, example)
        open_editor(second, example)

        first.get_by_role("button", name="Edit message 2").click()
        expect(first.get_by_label("Text of message 2")).to_be_focused()  # editor.js has placed the caret

        first.get_by_label("Text of message 2").fill("The first curator's answer.")
        first.get_by_label("Text of message 2").press("Enter")
        expect(first.locator("#message-1 .message-body")).to_have_text("The first curator's answer.")

        second.get_by_role("button", name="Edit message 2").click()
        expect(second.get_by_label("Text of message 2")).to_be_focused()  # editor.js has placed the caret

        second.get_by_label("Text of message 2").fill("The second curator's answer.")
        second.get_by_role("button", name="Save", exact=True).click()

        notice = second.locator("#example-notice")
        expect(notice).to_contain_text("Someone else changed this example meanwhile")
        expect(notice).to_contain_text(f"{curator.email} saved a newer version")
        expect(notice.locator("[data-theirs]")).to_have_text("The first curator's answer.")
        expect(notice.locator("[data-yours]")).to_have_value("The second curator's answer.")
        assert stayed(second)
        assert saved(example).messages[1]["content"] == "The first curator's answer."

        notice.get_by_role("link", name="Load their version").click()
        expect(second.locator("#message-1 .message-body")).to_have_text("The first curator's answer.")
        expect(notice.locator("[data-yours]")).to_have_value("The second curator's answer.")  # still there
        expect(second.locator("#example-panel")).to_contain_text("version 2")
        assert stayed(second)

        # Now at the current version, the second curator's edit goes through.
        second.get_by_role("button", name="Edit message 2").click()
        expect(second.get_by_label("Text of message 2")).to_be_focused()  # editor.js has placed the caret
        second.get_by_label("Text of message 2").fill("Agreed wording.")
        second.get_by_label("Text of message 2").press("Enter")
        expect(second.locator("#message-1 .message-body")).to_have_text("Agreed wording.")
        expect(notice).to_be_empty()
        assert saved(example).messages[1]["content"] == "Agreed wording."
    finally:
        first_context.close()
        second_context.close()


def test_it_the_history_expands_a_diff(page, curator, example):
    curation.example_change(example=example, version=1, user=curator, change=edits.set_content(1, "<b>Bold</b> claim."))
    log_in(page, curator.email)
    open_editor(page, example)
    page.locator("#example-history").get_by_text("v2 · Edited message 2").click()
    diff = page.locator("#example-history .revision-diff").first
    expect(diff.locator(".diff-added")).to_have_text("+ <b>Bold</b> claim.")
    expect(diff.locator(".diff-removed")).to_have_text("− An ordered collection.")
    assert stayed(page)
