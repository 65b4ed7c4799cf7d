import openai
import pytest

from tests.fixtures.sandbox import BASE_MODEL, sample_lines, upload_jsonl


def test_it_lists_the_catalog_models(sandbox_client):
    ids = [model.id for model in sandbox_client.models.list()]

    assert "gpt-4.1-mini-2025-04-14" in ids
    assert "gpt-4.1-mini" in ids
    assert "gpt-5" in ids


def test_it_retrieves_a_catalog_model(sandbox_client):
    model = sandbox_client.models.retrieve("gpt-4.1-2025-04-14")

    assert model.object == "model"
    assert model.owned_by == "system"
    assert model.shutdown_date == "2027-01-14"


def test_it_lists_and_retrieves_models_tuned_here(sandbox_client):
    training = upload_jsonl(sandbox_client, sample_lines())
    job = sandbox_client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training.id, suffix="week")
    name = sandbox_client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model

    assert name in [model.id for model in sandbox_client.models.list()]
    assert sandbox_client.models.retrieve(name).owned_by == "org-sandbox"


def test_it_answers_404_for_an_unknown_model(sandbox_client):
    with pytest.raises(openai.NotFoundError) as caught:
        sandbox_client.models.retrieve("gpt-2")

    assert caught.value.body["code"] == "model_not_found"
    assert "gpt-2" in caught.value.body["message"]
