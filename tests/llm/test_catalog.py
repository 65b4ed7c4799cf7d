import datetime

from llm import catalog


def test_it_offers_only_gpt_4_1_for_new_openai_fine_tunes():
    ids = {model.id for model in catalog.tunable_models("openai")}
    assert ids == {"gpt-4.1-2025-04-14", "gpt-4.1-mini-2025-04-14"}


def test_it_shows_openais_end_of_new_fine_tuning_jobs():
    model = catalog.get_model("gpt-4.1-mini")
    assert model.new_jobs_until("openai") == datetime.date(2027, 1, 6)
    assert model.new_jobs_until("azure") is None


def test_it_resolves_a_fine_tuned_model_to_its_base():
    model = catalog.get_model("ft:gpt-4.1-mini-2025-04-14:school:faq:abc123")
    assert model.id == "gpt-4.1-mini-2025-04-14"
    assert model.shutdown == datetime.date(2027, 1, 14)


def test_it_knows_no_unknown_models():
    assert catalog.get_model("my-own-llama") is None
