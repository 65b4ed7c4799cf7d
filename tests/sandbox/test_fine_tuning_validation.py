"""Invalid training data fails the job with OpenAI's error {code, message, param}."""

import openai
import pytest

from tests.fixtures.sandbox import BASE_MODEL, chat_line, dpo_line, jsonl, sample_lines, upload_jsonl


def _failed_job(client, content: bytes, *, model: str = BASE_MODEL, **options):
    training = client.files.create(file=("train.jsonl", content), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model=model, training_file=training.id, **options)
    return client.fine_tuning.jobs.retrieve(job.id)


def _with(line: dict, index: int = 3) -> bytes:
    lines = sample_lines()
    lines[index] = line
    return jsonl(lines)


def _message(role: str, content: str = "Hi", **extra) -> dict:
    return {"role": role, "content": content, **extra}


CASES = {
    "not JSONL": (b"question,answer\nloops,week 1\n", "JSONL"),
    "fewer than 10 examples": (jsonl(sample_lines(9)), "at least 10 examples"),
    "no assistant message": (_with({"messages": [_message("user")]}), "no assistant message"),
    "unknown role": (_with({"messages": [_message("narrator"), _message("assistant")]}), "unrecognized role"),
    "unknown line key": (_with({**chat_line("a", "b"), "prompt": "x"}), "unrecognized key 'prompt'"),
    "unknown message key": (_with({"messages": [_message("user", mood="x"), _message("assistant")]}), "key 'mood'"),
    "empty content": (_with({"messages": [_message("user", ""), _message("assistant")]}), "empty content"),
    "a line that is not an object": (jsonl([*sample_lines(), [1, 2]]), "not a JSON object"),
}


@pytest.mark.parametrize("case", CASES)
def test_it_fails_the_job_for_invalid_training_data(sandbox_client, case):
    content, wording = CASES[case]

    job = _failed_job(sandbox_client, content)

    assert job.status == "failed"
    assert job.error.code == "invalid_training_file"
    assert job.error.param == "training_file"
    assert wording in job.error.message
    assert job.fine_tuned_model is None


def test_it_names_the_example_at_fault(sandbox_client):
    job = _failed_job(sandbox_client, _with({"messages": [_message("user", "")]}, index=4))

    assert "Example 5" in job.error.message


def test_it_fails_an_example_over_the_training_token_limit(sandbox_client):
    huge = chat_line("Tell me everything.", "word " * 70_000)

    job = _failed_job(sandbox_client, _with(huge))

    assert job.error.code == "invalid_training_file"
    assert "65536-token limit" in job.error.message


@pytest.mark.parametrize("model", ["gpt-5", "gpt-3.5-turbo-0613"])
def test_it_fails_a_base_model_that_is_not_tunable(sandbox_client, model):
    job = _failed_job(sandbox_client, jsonl(sample_lines()), model=model)

    assert job.status == "failed"
    assert (job.error.code, job.error.param) == ("model_not_available", "model")


def test_it_fails_a_method_the_model_does_not_offer(sandbox_client):
    lines = [dpo_line(f"Question {n}?", "Good answer.", "Bad answer.") for n in range(10)]

    job = _failed_job(sandbox_client, jsonl(lines), model="gpt-4o-mini-2024-07-18", method={"type": "dpo"})

    assert (job.error.code, job.error.param) == ("invalid_method", "method")


def test_it_validates_dpo_lines(sandbox_client):
    lines = [dpo_line(f"Question {n}?", "Good answer.", "Bad answer.") for n in range(10)]
    lines[2]["preferred_output"] = []

    job = _failed_job(sandbox_client, jsonl(lines), method={"type": "dpo"})

    assert job.error.code == "invalid_training_file"
    assert "preferred_output" in job.error.message


def test_it_fails_an_invalid_validation_file(sandbox_client):
    training = upload_jsonl(sandbox_client, sample_lines())
    validation = upload_jsonl(sandbox_client, sample_lines(3), name="valid.jsonl")

    job = sandbox_client.fine_tuning.jobs.create(
        model=BASE_MODEL, training_file=training.id, validation_file=validation.id
    )
    job = sandbox_client.fine_tuning.jobs.retrieve(job.id)

    assert (job.error.code, job.error.param) == ("invalid_validation_file", "validation_file")


def test_it_records_the_failure_as_an_error_event(sandbox_client):
    job = _failed_job(sandbox_client, jsonl(sample_lines(2)))

    events = sandbox_client.fine_tuning.jobs.list_events(job.id).data

    assert events[0].level == "error"
    assert "at least 10 examples" in events[0].message


def test_it_refuses_a_job_for_a_file_that_does_not_exist(sandbox_client):
    with pytest.raises(openai.BadRequestError) as caught:
        sandbox_client.fine_tuning.jobs.create(model=BASE_MODEL, training_file="file-missing")

    assert caught.value.body["param"] == "training_file"


def test_it_refuses_a_training_file_uploaded_for_another_purpose(sandbox_client):
    notes = sandbox_client.files.create(file=("notes.md", b"# Notes"), purpose="assistants")

    with pytest.raises(openai.BadRequestError) as caught:
        sandbox_client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=notes.id)

    assert "fine-tune" in caught.value.body["message"]


def test_it_refuses_a_long_suffix_and_too_much_metadata(sandbox_client):
    training = upload_jsonl(sandbox_client, sample_lines())

    with pytest.raises(openai.BadRequestError):
        sandbox_client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training.id, suffix="x" * 65)
    with pytest.raises(openai.BadRequestError):
        metadata = {f"k{n}": "v" for n in range(17)}
        sandbox_client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training.id, metadata=metadata)
