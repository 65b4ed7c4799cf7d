"""The example editor's images in Chromium: a curator sees a question's image, removes it and adds one."""

import pytest
from playwright.sync_api import expect

from assistants.events import Turn
from core.images import clean_image
from dialogs.chat import images as question_images
from dialogs.chat import services as chat
from dialogs.datasets import services as curation
from dialogs.models import Dialog, Example, Message
from tests.browser.conftest import log_in
from tests.browser.test_example_editor import open_editor, saved, stayed
from tests.fixtures.images import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def example(course, curator, learner, sandbox_provider) -> Example:
    assistant = course.assistants.create(
        name="Tutor", instructions="Answer briefly.", provider=sandbox_provider, model="gpt-4.1-mini"
    )
    dialog = chat.dialog_start(assistant=assistant, source=Dialog.Source.CHAT, user=learner)
    stored = question_images.files_store(course.pk, [clean_image(image_bytes(size=(640, 480)))])
    _q, answer = chat.turn_ask(dialog=dialog, content="What does this chart show?", images=stored)
    chat.answer_record(answer=answer, turn=Turn(text="Sales by month."), status=Message.Status.COMPLETE)
    dataset = curation.dataset_for_assistant(assistant=assistant, user=curator)
    return curation.example_from_dialog(dialog=dialog, dataset=dataset, user=curator)


def test_it_removes_an_image_and_adds_one(page, curator, example, tmp_path):
    console_errors = []  # an image blocked by the Content-Security-Policy shows up here
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    log_in(page, curator.email)
    open_editor(page, example)
    question = page.locator("#message-0")

    image = question.get_by_role("img", name="Image 1 of message 1 (640×480)")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.naturalWidth") > 0  # the data: URL loaded

    page.once("dialog", lambda dialog: dialog.accept())
    question.get_by_role("button", name="Remove image").click()
    expect(question.get_by_role("img")).to_have_count(0)
    expect(question.locator(".message-body")).to_have_text("What does this chart show?")
    assert saved(example).messages[0]["content"] == "What does this chart show?"

    picture = tmp_path / "green.png"
    picture.write_bytes(image_bytes(size=(200, 100), colour=(40, 170, 60)))
    question.get_by_label("Add image to message 1").set_input_files(picture)
    question.get_by_role("button", name="Upload image").click()
    expect(question.get_by_role("img", name="Image 1 of message 1 (200×100)")).to_be_visible()
    expect(page.get_by_text("Image added to message 1")).to_be_visible()  # in the history
    assert stayed(page)
    assert saved(example).image_count == 1
    assert console_errors == []
