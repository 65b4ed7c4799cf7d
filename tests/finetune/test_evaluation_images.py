"""Evaluating a model trained on images: the questions' images reach both models, and the review
shows them to the curator who judges."""

import pytest
from django.urls import reverse

from finetune import evaluation as evaluations
from finetune.models import Evaluation, EvaluationItem
from tests.finetune.conftest import trained_model
from tests.fixtures.images import image_data_url

PHOTO = image_data_url((64, 48))
QUESTION = {
    "role": "user",
    "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": PHOTO}}],
}


@pytest.fixture
def trained(dataset, provider, curator):
    return trained_model(dataset, provider, curator)


def test_it_takes_validation_lines_with_images_in_their_questions_only():
    answer = {"role": "assistant", "content": "A red picture."}
    pictured_answer = {"role": "assistant", "content": [{"type": "image_url", "image_url": {"url": PHOTO}}]}

    assert evaluations._prompt_and_expected({"messages": [QUESTION, answer]}) == ([QUESTION], "A red picture.")
    assert evaluations._prompt_and_expected({"messages": [QUESTION, pictured_answer]}) is None
    odd = {"role": "user", "content": [{"type": "audio", "data": "…"}]}
    assert evaluations._prompt_and_expected({"messages": [odd, answer]}) is None


def test_it_answers_an_image_question_with_both_models_and_shows_the_image(client, course, curator, trained):
    evaluation = Evaluation.objects.create(
        trained_model=trained, total=1, status=Evaluation.Status.RUNNING, created_by=curator
    )
    EvaluationItem.objects.create(evaluation=evaluation, position=0, messages=[QUESTION], expected="A red picture.")

    evaluations.evaluation_answer(evaluation_id=evaluation.pk)

    item = evaluation.items.get()
    evaluation.refresh_from_db()
    assert (evaluation.status, evaluation.error) == ("done", "")
    assert "I see a 64×48 image, mostly red." in item.base_answer
    assert "I see a 64×48 image, mostly red." in item.tuned_answer
    client.force_login(curator)
    page = client.get(reverse("finetune:evaluation", args=[course.slug, evaluation.pk])).content.decode()
    assert "What is this?" in page
    assert f'<img src="{PHOTO}" alt="Image 1 of the question">' in page
