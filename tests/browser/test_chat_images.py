"""A learner sends a photo; the streamed answer says what the model saw; the curator keeps it with 🎓."""

import re

import pytest
from playwright.sync_api import expect

from assistants.services import assistant_create
from dialogs.models import Dialog, Example, MessageImage
from llm.models import Provider
from tests.browser.conftest import log_in
from tests.fixtures.images import image_bytes


@pytest.fixture
def tutor(asgi_server, course, curator):
    provider = Provider.objects.create(
        name="Sandbox", kind=Provider.Kind.SANDBOX, base_url=f"{asgi_server.url}/sandbox/v1/", timeout_seconds=10
    )
    return assistant_create(
        course=course, name="Tutor", provider=provider, model="gpt-4.1-mini-2025-04-14", user=curator
    )


def test_it_a_learner_sends_a_photo_and_the_curator_keeps_it_in_an_example(
    asgi_page, course, learner, curator, tutor, tmp_path
):
    page = asgi_page
    photo = tmp_path / "homework.jpg"
    photo.write_bytes(image_bytes("JPEG", size=(640, 480)))
    fake = tmp_path / "fake.png"
    fake.write_text("this is a text file with a picture's name")
    log_in(page, learner.email)
    page.goto(f"/c/{course.slug}/chat/")

    # A file that only looks like an image is refused, and nothing is sent.
    page.get_by_label("Your message").fill("What is this?")
    page.get_by_label("Attach images").set_input_files(fake)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("alert")).to_contain_text("fake.png: This file is not a PNG, JPEG, WebP or GIF image")
    assert not Dialog.objects.exists()

    page.get_by_label("Attach images").set_input_files(photo)
    page.get_by_role("button", name="Send").click()

    question = page.locator("article.msg-user").last
    thumbnail = question.get_by_role("img", name="Image 1 (640×480)")
    expect(thumbnail).to_be_visible()
    expect(thumbnail).to_have_js_property("naturalWidth", 320)  # the thumbnail loaded
    answer = page.locator("article.msg-assistant").last
    expect(answer).to_contain_text("I see a 640×480 image, mostly red.")
    image = MessageImage.objects.get()
    assert image.message.content == "What is this?"

    # The curator sees the photo in the dialog's transcript and keeps the dialog with 🎓.
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    log_in(page, curator.email)
    page.goto(f"/c/{course.slug}/dialogs/{image.message.dialog_id}/")
    recorded = page.locator("#transcript").get_by_role("img", name="Image 1 (640×480)")
    expect(recorded).to_be_visible()
    expect(recorded).to_have_js_property("naturalWidth", 320)
    page.get_by_role("button", name="🎓 Add to dataset").click()
    expect(page).to_have_url(re.compile(r"/datasets/\d+/examples/\d+/$"))
    expect(page.get_by_role("img", name=re.compile("640×480"))).to_be_visible()
    (question_part,) = [m for m in Example.objects.get().messages if m["role"] == "user"]
    kinds = [part["type"] for part in question_part["content"]]
    assert kinds == ["text", "image_url"]
    assert question_part["content"][1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
