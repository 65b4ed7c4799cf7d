"""Self-hosted training in a browser, as a curator does it: 🎓 recorded dialogs into a dataset, start a
run on the school's own training host (a real training worker in a process of its own, training
SmolLM2 on this CPU), watch the loss chart fill in and the run succeed, download the adapter."""

import contextlib
import os
import re
import signal
import subprocess
import sys

import pytest
from django.conf import settings
from playwright.sync_api import expect

from dialogs.datasets import services as curation
from finetune.models import Run
from llm.models import Provider
from tests.browser.conftest import log_in
from tests.conftest import subprocess_environment
from tests.dialogs.records.dialog_helpers import record
from tests.fixtures.training import FACTS

pytestmark = [pytest.mark.browser]


@pytest.fixture
def training_worker(asgi_server, work_dir, settings):
    """`Q_CLUSTER_NAME=training manage.py qcluster` on the test's database: a training host."""
    settings.TRAINING_TASKS_INLINE = False  # the web's tasks go to the training queue, for the worker
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=settings.BASE_DIR,
        env=subprocess_environment(Q_CLUSTER_NAME="training", GRADCAP_TEST_TRAINING_WORKER="1"),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield worker
    worker.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        worker.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):  # the cluster's processes, which hold database connections
        os.killpg(worker.pid, signal.SIGKILL)


def test_it_a_curator_trains_a_model_on_the_schools_own_host(
    asgi_page, course, curator, learner, tutor, smol, training_worker
):
    Provider.objects.create(name="Sandbox", kind=Provider.Kind.SANDBOX)
    dataset = curation.dataset_create(course=course, name="Facts", user=curator, assistant=tutor)
    # Both examples train: the automatic split draws by primary key, which differs between databases.
    dataset.validation_percent = 0
    dataset.save()
    dialogs = [record(tutor, [(question, answer)], user=learner, feedback=[1]) for question, answer in FACTS[:2]]
    page = asgi_page
    log_in(page, curator.email)

    page.goto(f"/c/{course.slug}/dialogs/")
    page.get_by_label("Select all dialogs on this page").check()
    page.get_by_role("button", name="🎓 Add to dataset").click()
    expect(page.get_by_role("status")).to_contain_text("Dialogs added to Facts: 2.")
    for dialog in dialogs:  # each example is looked at and marked ready in the editor
        page.goto(f"/c/{course.slug}/dialogs/")
        page.locator(f"#dialog-{dialog.pk}").get_by_role("link", name="🎓 Facts").click()
        page.get_by_role("button", name="Save as ready").click()
        expect(page).to_have_url(re.compile(r"/datasets/\d+/$"))
    expect(page.get_by_text("2 ready examples")).to_be_visible()

    page.goto(f"/c/{course.slug}/training/")
    page.get_by_role("link", name="Start training").click()
    expect(page.get_by_label("Provider")).to_have_value(str(tutor.provider.pk))
    expect(page.get_by_label("Base model")).to_have_value("SmolLM2-135M-Instruct")
    # Another provider offers its own models and settings, and back.
    page.get_by_label("Provider").select_option(label="Sandbox")
    expect(page.get_by_label("Base model")).to_have_value("gpt-4.1-2025-04-14")
    expect(page.get_by_label("Learning-rate multiplier")).to_be_visible()
    expect(page.locator("#blocking-errors")).to_contain_text("at least 10 examples")  # hosted providers' rule
    page.get_by_label("Provider").select_option(label="Our GPUs")
    expect(page.get_by_label("Base model")).to_have_value("SmolLM2-135M-Instruct")
    expect(page.get_by_role("button", name="Start training")).to_be_enabled()  # our own trainer takes any number
    expect(page.locator("#base-models")).to_contain_text("SmolLM2-135M-Instruct")
    expect(page.locator("[data-cost]")).to_contain_text("your own training hosts")
    page.get_by_label("Epochs").fill("4")
    page.get_by_label("Batch size").fill("1")
    page.get_by_label(re.compile(r"^Learning rate")).fill("0.002")
    page.get_by_label("LoRA rank").fill("8")
    page.get_by_role("button", name="Start training").click()

    expect(page.get_by_role("status")).to_contain_text("queued for a training host")
    badge = page.locator("#run-status [data-status]")
    # The page refreshes itself while the host trains (every 5 s); the chart fills in as it goes.
    expect(page.locator("#loss-chart polyline.train")).to_be_visible(timeout=120_000)
    expect(badge).to_have_attribute("data-status", "succeeded", timeout=180_000)
    expect(page.get_by_text("Training is starting")).to_have_count(0)  # old news once the run has ended
    expect(page.locator("#events")).to_contain_text("Tokenized with the base model's chat template: 2 examples")
    expect(page.locator("#events")).to_contain_text("New fine-tuned model created")
    expect(page.locator("#compute")).to_contain_text("tokens/s")
    run = Run.objects.get()
    losses = [point.train_loss for point in run.metrics.order_by("step")]
    assert len(losses) == 8 and losses[-1] < losses[0]  # the loss falls

    page.locator("#run-status a code").click()  # the trained model
    expect(page.locator("#manifest")).to_contain_text("lora_rank=8")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the adapter (ZIP)").click()
    assert download.value.suggested_filename.endswith("-adapter.zip")
    assert settings.TRAINING_TASKS_INLINE is False
