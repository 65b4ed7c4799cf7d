"""Knowledge files searched by gradcap, as people use them: the curator uploads a lesson to an
assistant on the school's own model server and sees it indexed, the playground's debug panel shows
the search, the learner's answer links its citation to the passage, and a deleted lesson is never
cited again."""

import re

import pytest
from playwright.sync_api import expect

from assistants.services import assistant_create
from tests.browser.conftest import log_in
from tests.fixtures.sandbox import sandbox_as_model_server

LESSON = b"""# While loops

A while loop repeats its body as long as its condition stays true. Use break to leave it early.

# For loops

A for loop walks over the items of a list, one by one.
"""
QUESTION = "How does a while loop work?"


@pytest.fixture
def local_tutor(asgi_server, course, curator):
    """A tutor on a model server of the school's own, with no vector stores (the sandbox plays it)."""
    provider = sandbox_as_model_server(asgi_server)
    return assistant_create(
        course=course, name="Tutor", provider=provider, model="gpt-4.1-mini-2025-04-14", user=curator
    )


def _ask(page, text: str):
    page.get_by_label("Your message").fill(text)
    page.get_by_role("button", name="Send").click()
    answer = page.locator("article.msg-assistant").last
    expect(answer.get_by_role("button", name="👍")).to_be_visible()
    return answer


def test_it_a_lesson_is_indexed_searched_cited_and_linked(asgi_page, course, curator, learner, local_tutor, browser):
    page = asgi_page
    log_in(page, curator.email)
    page.goto(local_tutor.get_absolute_url())
    expect(page.get_by_text("Searched by gradcap, with every model and provider.")).to_be_visible()
    page.get_by_label("File:", exact=True).set_input_files(
        files=[{"name": "loops.md", "mimeType": "text/markdown", "buffer": LESSON}]
    )
    page.get_by_role("button", name="Upload").click()
    row = page.locator("tr[data-file='loops.md']")
    expect(row).to_contain_text("ready")
    expect(row).to_contain_text("2 passages")

    page.goto(f"/c/{course.slug}/playground/")
    answer = _ask(page, QUESTION)
    expect(answer.locator(".msg-body")).to_contain_text("as long as its condition stays true")
    answer.get_by_text("Debug").click()
    debug = answer.locator("[data-debug]")
    expect(debug).to_contain_text("search_knowledge")
    expect(debug.locator(".passages-query")).to_have_text(f"Query: {QUESTION}")
    # Both passages share "loop"; PostgreSQL's English stopwords include "while": the order may vary.
    expect(debug.locator(".passages li").filter(has_text="loops.md — While loops")).to_contain_text("score")
    expect(debug.locator(".passages li")).to_have_count(2)

    page.get_by_role("button", name="Log out").click()
    log_in(page, learner.email)
    page.goto(f"/c/{course.slug}/chat/")
    answer = _ask(page, QUESTION)
    expect(answer.locator(".msg-body").get_by_role("link", name=re.compile(r"^\[\d\]$"))).to_be_visible()
    answer.locator(".sources").get_by_role("link", name="loops.md — While loops").click()
    expect(page.get_by_role("heading", name="loops.md — While loops")).to_be_visible()
    expect(page.get_by_label("Cited passage")).to_contain_text("repeats its body as long as its condition stays true")


def test_it_a_deleted_lesson_is_never_cited_again(asgi_page, course, curator, local_tutor):
    page = asgi_page
    log_in(page, curator.email)
    page.goto(local_tutor.get_absolute_url())
    page.get_by_label("File:", exact=True).set_input_files(
        files=[{"name": "loops.md", "mimeType": "text/markdown", "buffer": LESSON}]
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("tr[data-file='loops.md']")).to_contain_text("ready")
    page.goto(f"/c/{course.slug}/playground/")
    cited = _ask(page, QUESTION)
    expect(cited.locator(".sources")).to_contain_text("loops.md")

    page.goto(local_tutor.get_absolute_url())
    page.locator("tr[data-file='loops.md']").get_by_role("button", name="Delete").click()
    expect(page.get_by_text("“loops.md” is being deleted.")).to_be_visible()
    page.goto(f"/c/{course.slug}/playground/")
    answer = _ask(page, QUESTION)
    expect(answer.locator(".msg-body")).not_to_contain_text("loops.md")
    expect(answer.locator(".sources")).to_have_count(0)
