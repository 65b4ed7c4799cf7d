import re
import time

import pytest
from playwright.sync_api import expect

from assistants.models import KnowledgeFile
from assistants.services import assistant_create
from dialogs.models import Message
from llm.models import Provider
from tests.browser.conftest import log_in

LESSON = "A while loop repeats its body as long as its condition is true. Use break to leave it early."


@pytest.fixture
def tutor(asgi_server, course, curator, make_sandbox_client):
    provider = Provider.objects.create(
        name="Sandbox", kind=Provider.Kind.SANDBOX, base_url=f"{asgi_server.url}/sandbox/v1/", timeout_seconds=10
    )
    assistant = assistant_create(
        course=course, name="Tutor", provider=provider, model="gpt-4.1-mini-2025-04-14", user=curator
    )
    client = make_sandbox_client(asgi_server.url)
    uploaded = client.files.create(file=("while-loops.md", LESSON.encode()), purpose="assistants")
    assistant.vector_store_id = client.vector_stores.create(name="course", file_ids=[uploaded.id]).id
    assistant.save()
    return assistant


def _ask(page, text: str) -> None:
    page.get_by_label("Your message").fill(text)
    page.get_by_role("button", name="Send").click()


def test_it_streams_an_answer_with_a_citation_and_records_a_thumbs_up(asgi_page, course, learner, tutor):
    page = asgi_page
    # The answer's stream must end as a completed request, not one the browser aborted (net::ERR_ABORTED).
    failed, finished = [], []
    page.on("requestfailed", lambda request: failed.append((request.url, request.failure)))
    page.on("requestfinished", lambda request: finished.append(request.url))
    log_in(page, learner.email)
    page.get_by_role("link", name="Chat with the assistant").click()
    _ask(page, "How does a while loop work?")

    answer = page.locator("article.msg-assistant").last
    expect(answer).to_contain_text("as long as its condition is true")
    expect(answer.locator(".sources")).to_contain_text("while-loops.md")
    expect(answer.locator(".msg-body")).to_contain_text("[1]")
    expect(page.get_by_role("link", name="How does a while loop work?")).to_be_visible()  # in "my chats"

    answer.get_by_role("button", name="👍").click()
    expect(answer.get_by_role("button", name="👍")).to_have_attribute("aria-pressed", "true")
    assert Message.objects.get(role="assistant").feedback == 1
    assert failed == []
    assert [url for url in finished if url.endswith("/stream/")]


def test_it_edits_a_question_and_regenerates(asgi_page, course, learner, tutor):
    page = asgi_page
    log_in(page, learner.email)
    page.goto(f"/c/{course.slug}/chat/")
    _ask(page, "Tell me about loops")
    expect(page.locator("article.msg-assistant .msg-body").last).not_to_contain_text("Writing")
    first_answer = page.locator("article.msg-assistant").last.inner_text()

    question = page.locator("article.msg-user").last
    question.get_by_text("Edit", exact=True).click()
    question.get_by_label("Edit your message").fill(
        "How does a while loop work? Hint: it repeats while a condition holds"
    )
    question.get_by_role("button", name="Save and regenerate").click()

    expect(page.locator("article.msg-user")).to_have_count(1)
    expect(page.locator("article.msg-user")).to_contain_text("Hint: it repeats")
    expect(page.locator("article.msg-assistant")).to_contain_text("as long as its condition is true")
    expect(page.get_by_text("Earlier versions of this question")).to_be_visible()
    assert page.locator("article.msg-assistant").inner_text() != first_answer
    assert Message.objects.filter(replaced_at__isnull=False).count() == 2  # kept as history


def test_it_shows_a_provider_failure_and_keeps_the_chat(asgi_page, course, learner, tutor):
    tutor.provider.extra_headers = {"X-Sandbox-Fault": "429"}
    tutor.provider.max_retries = 0
    tutor.provider.save()
    page = asgi_page
    log_in(page, learner.email)
    page.goto(f"/c/{course.slug}/chat/")
    _ask(page, "Hello?")
    alert = page.locator("article.msg-assistant .msg-error")
    expect(alert).to_contain_text("busy right now")
    expect(page.get_by_role("button", name="Try again")).to_be_visible()
    expect(page.locator("article.msg-user")).to_contain_text("Hello?")


def test_it_gives_curators_a_debug_panel_and_a_model_switch(asgi_page, course, curator, tutor):
    page = asgi_page
    log_in(page, curator.email)
    page.goto(f"/c/{course.slug}/playground/")
    page.get_by_label("Model").fill("gpt-4.1-2025-04-14")
    _ask(page, "How does a while loop work?")
    answer = page.locator("article.msg-assistant").last
    expect(answer).to_contain_text("as long as its condition is true")
    answer.get_by_text("Debug").click()
    debug = answer.locator("[data-debug]")
    expect(debug).to_contain_text("gpt-4.1-2025-04-14")
    expect(debug).to_contain_text(re.compile(r"First token\s*\d+ ms"))
    expect(debug).to_contain_text(re.compile(r"Wire API\s*Responses"))  # the sandbox's default wire
    expect(debug).to_contain_text("while-loops.md")
    expect(debug).to_contain_text("raw events")


def test_it_keeps_learners_out_of_the_playground_and_other_courses(asgi_page, course, other_course, learner, tutor):
    page = asgi_page
    log_in(page, learner.email)
    assert page.goto(f"/c/{course.slug}/playground/").status == 404
    assert page.goto(f"/c/{other_course.slug}/chat/").status == 404
    page.goto(f"/c/{course.slug}/chat/")
    expect(page.get_by_role("link", name="Playground")).to_have_count(0)


def test_it_a_curator_uploads_a_knowledge_file_and_sees_it_become_ready(asgi_page, course, curator, tutor, tmp_path):
    page = asgi_page
    log_in(page, curator.email)
    page.goto(tutor.get_absolute_url())
    lesson = tmp_path / "for-loops.md"
    lesson.write_text("# For loops\nA for loop walks over the items of a list.")
    page.locator("input[type=file]").set_input_files(str(lesson))
    page.get_by_role("button", name="Upload").click()
    row = page.locator("tr[data-file='for-loops.md']")
    expect(row).to_contain_text("ready", timeout=15_000)
    assert KnowledgeFile.objects.get().status == "ready"


def test_it_stops_an_answer_and_keeps_what_was_written(asgi_page, course, learner, tutor, settings):
    settings.SANDBOX_STREAM_DELAY_SECONDS = 0.3  # slow enough to press Stop in the middle
    page = asgi_page
    log_in(page, learner.email)
    page.goto(f"/c/{course.slug}/chat/")
    _ask(page, "How does a while loop work?")
    answer = page.locator("article.msg-assistant").last
    expect(answer.locator(".streaming")).not_to_be_empty()
    answer.get_by_role("button", name="Stop").click()
    expect(answer).to_contain_text("Stopped.")
    written = answer.locator(".streaming").inner_text()

    stopped = Message.objects.get(role="assistant")
    deadline = time.monotonic() + 5  # the server keeps the text once it notices the closed stream
    while not stopped.content and time.monotonic() < deadline:
        time.sleep(0.05)
        stopped.refresh_from_db()
    page.reload()  # what the learner saw is what was kept
    assert stopped.status == "stopped"
    assert stopped.content and written.startswith(stopped.content[:10])
    assert "as long as its condition is true. Use break to leave it early." not in stopped.content
    expect(page.locator("article.msg-assistant")).to_contain_text("Stopped.")
    expect(page.get_by_role("button", name="Try again")).to_be_visible()


def test_it_a_curator_graduates_an_answer_from_the_chat_and_moves_it_to_another_dataset(
    asgi_page, course, curator, tutor
):
    from dialogs.datasets import services as curation
    from dialogs.models import Example

    curation.dataset_for_assistant(assistant=tutor, user=curator)  # "Tutor examples", where 🎓 puts examples
    curation.dataset_create(course=course, name="Hard questions", user=curator)
    page = asgi_page
    log_in(page, curator.email)
    page.goto(f"/c/{course.slug}/chat/")
    _ask(page, "How does a while loop work?")
    answer = page.locator("article.msg-assistant").last
    expect(answer).to_contain_text("as long as its condition is true")

    answer.get_by_role("button", name="Add to dataset up to this answer").click()  # 🎓

    expect(page.locator(".crumbs")).to_contain_text("Tutor examples")  # the assistant's dataset
    expect(page.locator("#example-messages")).to_contain_text("as long as its condition is true")
    page.get_by_label("Move to the dataset").select_option(label="Hard questions")
    page.get_by_role("button", name="Move", exact=True).click()

    expect(page.locator(".messages")).to_contain_text("moved to Hard questions")
    expect(page.locator(".crumbs")).to_contain_text("Hard questions")
    expect(page.locator("#example-messages")).to_contain_text("How does a while loop work?")
    assert Example.objects.get().dataset.name == "Hard questions"


def test_it_the_composer_stays_in_view_as_the_dialog_grows(asgi_page, course, learner, tutor):
    page = asgi_page
    log_in(page, learner.email)
    page.get_by_role("link", name="Chat with the assistant").click()
    composer = page.get_by_role("textbox", name="Your message", exact=True)
    answers = page.locator("article.msg-assistant")
    questions = ("How does a while loop work?", "And how do I leave it early?", "What does break do?")
    for number, question in enumerate(questions, start=1):
        composer.fill(question)
        page.get_by_role("button", name="Send").click()
        expect(answers).to_have_count(number)
        expect(answers.nth(number - 1)).to_have_class(re.compile("status-complete"))
    assert page.evaluate("document.documentElement.scrollHeight") > page.viewport_size["height"]  # a long page

    expect(composer).to_be_in_viewport()
    expect(page.get_by_role("button", name="Send")).to_be_in_viewport()
    page.mouse.wheel(0, -400)  # reading further up, the composer is still at hand
    expect(page.get_by_role("button", name="Send")).to_be_in_viewport()
