"""A curator starts training on a dataset whose examples hold images: a base model that cannot
train on them is refused on the page, in plain words, before anything is started."""

import pytest
from playwright.sync_api import expect

from finetune.models import Run
from tests.browser.conftest import log_in
from tests.finetune.conftest import example_rows
from tests.finetune.test_images import TEXT_MODEL, dataset_with, image_row
from training.models import BaseModel

pytestmark = [pytest.mark.browser]


def test_it_a_curator_is_told_the_base_model_cannot_train_on_the_images(page, course, curator, self_hosted):
    BaseModel.objects.create(provider=self_hosted, name=TEXT_MODEL, source="/srv/models/smol")
    dataset = dataset_with(course, curator, [image_row(), *example_rows(2)])
    log_in(page, curator.email)
    page.goto(f"/c/{course.slug}/datasets/{dataset.pk}/")
    page.get_by_role("link", name="Start training").click()

    page.get_by_label("Provider").select_option(label="Our GPUs")
    expect(page.get_by_label("Base model")).to_have_value(TEXT_MODEL)

    expect(page.get_by_text(f"{TEXT_MODEL} is not registered as a base model that sees images")).to_be_visible()
    expect(page.get_by_role("button", name="Start training")).to_be_disabled()
    assert not Run.objects.exists()
