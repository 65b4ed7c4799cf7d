"""A model trained on the school's own training host, served by a real model server (`transformers
serve` through bin/model-server, a process of its own) over Chat Completions: the curator presses ▶,
the learner's next chat streams the taught answer, ↩ goes back to the base model, and a model server
that is down is told plainly to both."""

import re

from playwright.sync_api import expect

from dialogs.models import Message
from finetune.models import Run
from llm.models import Provider
from tests.browser.conftest import _new_page, log_in
from tests.fixtures.training import FACTS, dataset_of, fact_rows, job_of, start

QUESTION, TAUGHT = FACTS[0]


def _ask(page, text: str):
    page.get_by_label("Your message").fill(text)
    page.get_by_role("button", name="Send").click()
    answer = page.locator("article.msg-assistant").last
    expect(answer.get_by_role("button", name="👍").or_(answer.get_by_role("alert")).first).to_be_visible(
        timeout=120_000
    )
    return answer


def test_it_a_curator_activates_a_self_hosted_model_and_the_learner_chats_with_it(
    browser,
    asgi_page,
    asgi_server,
    course,
    curator,
    learner,
    tutor,
    smol,
    work_dir,
    model_server,
    django_capture_on_commit_callbacks,
):
    provider = tutor.provider
    provider.base_url = model_server.url
    provider.serving = Provider.Serving.MODEL_DIRECTORY
    provider.serving_dir = str(model_server.serving_dir)
    provider.timeout_seconds = 120  # the server loads a model at its first request
    provider.max_retries = 0
    provider.full_clean()
    provider.save()
    dataset = dataset_of(course, curator, fact_rows([(QUESTION, TAUGHT)]), assistant=tutor)
    run = start(dataset, provider, curator, django_capture_on_commit_callbacks, n_epochs=20, batch_size=1)
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert job_of(run).merge_status == "done"  # this server loads merged models: made as the run ended
    trained = run.trained_model

    learner_context, chat = _new_page(browser, asgi_server.url)
    log_in(chat, learner.email)
    chat.goto(f"/c/{course.slug}/chat/")
    before = _ask(chat, QUESTION)  # the base model does not know it
    expect(before.locator(".msg-body")).not_to_have_text(TAUGHT)
    assert Message.objects.filter(role="assistant").latest("pk").wire_api == "chat_completions"

    curator_page = asgi_page
    log_in(curator_page, curator.email)
    curator_page.goto(trained.get_absolute_url())
    row = curator_page.locator('tr[data-assistant="Tutor"]')
    expect(row).to_contain_text(smol.name)
    row.get_by_role("button", name="▶ Activate").click()
    expect(curator_page.get_by_role("status")).to_contain_text(f"Tutor now answers with {trained.name}.")
    expect(row.locator(".badge")).to_have_text("this model")

    chat.get_by_role("link", name="New chat").click()
    after = _ask(chat, QUESTION)
    expect(after.locator(".msg-body")).to_have_text(TAUGHT)  # word for word, from the model server
    assert Message.objects.filter(role="assistant").latest("pk").model == trained.name

    row.get_by_role("button", name="↩ Roll back").click()
    expect(curator_page.get_by_role("status")).to_contain_text(f"Tutor answers with {smol.name} again.")

    # The model server goes down: the learner reads a clear message and keeps the question; ▶ says
    # why it cannot switch, and the assistant keeps its model.
    model_server.kill()
    chat.get_by_role("link", name="New chat").click()
    down = _ask(chat, "Are you there?")
    expect(down.get_by_role("alert")).to_contain_text("could not be reached")
    expect(chat.locator("article.msg-user").last).to_contain_text("Are you there?")
    failed = Message.objects.filter(role="assistant").latest("pk")
    assert failed.status == "failed" and "Connection error" in failed.error_detail  # for curators: the SDK's words
    row.get_by_role("button", name="▶ Activate").click()
    expect(curator_page.get_by_role("status")).to_contain_text(
        re.compile(r"Tutor keeps its model: The model server did not answer with .*Connection error")
    )
    expect(row).to_contain_text(smol.name)
    learner_context.close()
