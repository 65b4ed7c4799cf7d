"""The whole loop in a browser, against the sandbox: curated examples → start training with a cost
estimate → 🔄 until succeeded → loss chart and events → ▶ activate → the learner's chat gives the
curated answer → rollback restores the previous model; and the blind review of a tuned model."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from assistants.models import Assistant
from assistants.services import assistant_create
from dialogs.datasets import services as curation
from finetune import activation
from finetune import evaluation as evaluations
from finetune.models import Evaluation, EvaluationItem, Run
from llm.models import Provider
from tests.browser.conftest import log_in
from tests.finetune.conftest import (
    BASE_MODEL,
    example_rows,
    running_evaluation,
    set_aside_for_validation,
    trained_model,
)
from tests.finetune.test_evaluation_images import QUESTION
from training.models import BaseModel

pytestmark = [pytest.mark.browser]


@pytest.fixture
def curated(asgi_server, course, curator, learner):
    provider = Provider.objects.create(
        name="Sandbox", kind=Provider.Kind.SANDBOX, base_url=f"{asgi_server.url}/sandbox/v1/", timeout_seconds=10
    )
    assistant = assistant_create(
        course=course, name="Tutor", provider=provider, model=BASE_MODEL, instructions="Answer briefly.", user=curator
    )
    dataset = curation.dataset_create(course=course, name="Tutor examples", user=curator, assistant=assistant)
    dataset.validation_percent = 25
    dataset.save()
    curation.examples_create(dataset=dataset, rows=example_rows(60), user=curator, summary="curated")
    set_aside_for_validation(dataset)  # the tests ask about loops: every loops example is trained on
    return assistant, dataset


def _log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/")


def _ask(page, course, text: str):
    page.goto(f"/c/{course.slug}/chat/")
    page.get_by_label("Your message").fill(text)
    page.get_by_role("button", name="Send").click()
    answer = page.locator("article.msg-assistant .msg-body").last
    expect(answer).not_to_contain_text("Writing", timeout=10_000)
    expect(answer).not_to_be_empty()
    return answer


def test_it_the_whole_fine_tuning_loop(asgi_page, course, curator, learner, curated):
    assistant, dataset = curated
    page = asgi_page
    log_in(page, curator.email)
    page.goto(f"/c/{course.slug}/datasets/{dataset.pk}/")
    page.get_by_role("link", name="Start training").click()

    expect(page.locator("#estimate")).to_contain_text("Estimated cost")
    expect(page.locator("[data-cost]")).to_contain_text("$")
    # On a long form the estimate and the action stay in view; the models are named as in the select.
    assert page.evaluate("document.documentElement.scrollHeight") > page.viewport_size["height"]
    expect(page.locator("#estimate")).to_be_in_viewport()
    expect(page.get_by_role("button", name="Start training")).to_be_in_viewport()
    chosen = page.get_by_label("Base model").locator("option:checked").inner_text()
    expect(page.locator("#tunable-models tbody")).to_contain_text(chosen)
    expect(page.get_by_label("DPO beta")).to_have_count(0)  # a supervised run
    page.get_by_label("Suffix").fill("tutor")
    page.get_by_role("button", name="Start training").click()

    badge = page.locator("#run-status [data-status]")
    for _ in range(20):
        if badge.get_attribute("data-status") == "succeeded":
            break
        page.get_by_role("button", name="🔄 Refresh").click()
        page.wait_for_timeout(300)
    expect(badge).to_have_attribute("data-status", "succeeded")
    expect(page.get_by_text("Training is starting")).to_have_count(0)  # the starting banner went with the run's end
    expect(page.locator("[data-checked]")).to_have_text("checked just now")
    expect(page.locator("#loss-chart polyline.train")).to_be_visible()
    expect(page.locator("#events")).to_contain_text("New fine-tuned model created")
    expect(page.locator("#checkpoints")).to_be_visible()

    page.get_by_role("button", name="▶ Activate for Tutor").click()  # right on the run page
    expect(page.locator(".messages")).to_contain_text("now answers with ft:")
    expect(page.locator("tr[data-assistant='Tutor'] .badge")).to_have_text("this model")  # the model's page
    tuned = Assistant.objects.get(pk=assistant.pk).model
    assert tuned.startswith(f"ft:{BASE_MODEL}:")
    _log_out(page)

    log_in(page, learner.email)
    expect(_ask(page, course, "What are loops for?")).to_contain_text("Loops are taught in week")
    _log_out(page)

    log_in(page, curator.email)
    page.goto(f"/c/{course.slug}/training/")
    page.locator("#trained-models a").first.click()
    expect(page.locator("#activations")).to_contain_text(curator.email)
    page.locator("tr[data-assistant='Tutor']").get_by_role("button", name="↩ Roll back").click()
    expect(page.locator(".messages")).to_contain_text(f"answers with {BASE_MODEL} again")
    assert Assistant.objects.get(pk=assistant.pk).model == BASE_MODEL
    _log_out(page)

    log_in(page, learner.email)
    expect(_ask(page, course, "What are loops for?")).not_to_contain_text("taught in week")


def test_it_blind_review_of_a_tuned_model(asgi_page, course, curator, curated):
    assistant, dataset = curated
    trained = trained_model(dataset, assistant.provider, curator)
    page = asgi_page
    log_in(page, curator.email)

    # Answering ends while the page waits: the first pair to judge appears without a reload.
    waiting = running_evaluation(trained, curator, ["What are loops for?"])
    page.goto(reverse("finetune:evaluation", args=[course.slug, waiting.pk]))
    expect(page.locator("#evaluation-progress")).to_contain_text("0 of 1 examples answered")
    expect(page.locator("#review")).to_have_count(0)
    evaluations.evaluation_answer(evaluation_id=waiting.pk)  # what the worker does
    expect(page.locator("#review [data-answer]")).to_have_count(2, timeout=15_000)  # polled every 2 s

    # From the model page: answer every validation example (tests run tasks inline), judge them all.
    page.goto(trained.get_absolute_url())
    page.get_by_role("button", name="Evaluate against the base model").click()
    expect(page.locator("#evaluation-progress")).to_contain_text("examples answered · ready for review")
    judged = 0
    while page.locator("#review").count():
        page.get_by_role("button", name="Tie").click()
        judged += 1
    expect(page.get_by_text("Every answer pair is judged.")).to_be_visible()
    assert judged == trained.run.snapshot.validation_examples
    expect(page.locator("#win-rate")).to_contain_text(f"ties 100% ({judged} judged)")


def test_it_a_curator_judges_answers_to_a_question_with_an_image(asgi_page, course, curator, curated):
    assistant, dataset = curated
    trained = trained_model(dataset, assistant.provider, curator)
    evaluation = Evaluation.objects.create(
        trained_model=trained, total=1, status=Evaluation.Status.RUNNING, created_by=curator
    )
    EvaluationItem.objects.create(evaluation=evaluation, position=0, messages=[QUESTION], expected="A red picture.")
    evaluations.evaluation_answer(evaluation_id=evaluation.pk)  # what the worker does
    page = asgi_page
    log_in(page, curator.email)

    page.goto(reverse("finetune:evaluation", args=[course.slug, evaluation.pk]))

    review = page.locator("#review")
    expect(review).to_contain_text("What is this?")
    expect(review.get_by_role("img", name="Image 1 of the question")).to_have_js_property("naturalWidth", 64)
    expect(review.locator("[data-answer]").first).to_contain_text("I see a 64×48 image, mostly red.")
    review.get_by_role("button", name="Tie").click()
    expect(page.get_by_text("Every answer pair is judged.")).to_be_visible()


def test_it_a_curator_moves_a_model_that_stops_serving_to_the_schools_own_hosts(
    asgi_page, course, curator, curated, settings
):
    """gpt-4.1-mini and its fine-tunes stop serving on 2027-01-14: the playground says so about the
    assistant, and one click trains the same snapshot on the school's training hosts."""
    # The job goes to the training queue, as in production, which nothing here consumes: run inline,
    # the trainer would start within the click's request and outlast the click's timeout.
    settings.TRAINING_TASKS_INLINE = False
    assistant, dataset = curated
    trained = trained_model(dataset, assistant.provider, curator)
    activation.model_activate(trained_model=trained, assistant=assistant, user=curator)
    ours = Provider.objects.create(name="Our GPUs", kind=Provider.Kind.SELF_HOSTED, base_url="http://127.0.0.1:9/v1/")
    BaseModel.objects.create(provider=ours, name="SmolLM2-135M-Instruct", source="/models/smol", context_length=8192)
    page = asgi_page
    log_in(page, curator.email)
    page.goto(reverse("dialogs:playground_index", args=[course.slug]))
    notice = page.locator("[data-notice]").filter(has_text=assistant.name)
    expect(notice).to_contain_text(re.compile(r"stops? serving on 2027-01-14|stopped serving on 2027-01-14"))
    notice.get_by_role("button", name="Train the same snapshot on Our GPUs (SmolLM2-135M-Instruct)").click()
    expect(page.get_by_role("status")).to_contain_text("The same snapshot is training on Our GPUs")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    new = Run.objects.latest("pk")
    assert page.url.endswith(new.get_absolute_url())
    assert new.snapshot_id == trained.run.snapshot_id and new.provider == ours
