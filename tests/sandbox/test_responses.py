import openai
import pytest

from tests.fixtures.sandbox import BASE_MODEL, sample_lines, upload_jsonl

SYLLABUS = (
    b"# Syllabus\n\nThe course has twelve weeks. Loops are taught in week two.\n\n"
    b"The final exam takes place on the first Monday of June in room 101."
)
RULES = b"Homework is due every Friday at noon. Late homework loses ten percent per day."


@pytest.fixture
def knowledge(sandbox_client):
    """A vector store with two knowledge files."""
    syllabus = sandbox_client.files.create(file=("syllabus.md", SYLLABUS), purpose="assistants")
    rules = sandbox_client.files.create(file=("rules.txt", RULES), purpose="assistants")
    return sandbox_client.vector_stores.create(name="Course", file_ids=[syllabus.id, rules.id])


def _file_search(store) -> list[dict]:
    return [{"type": "file_search", "vector_store_ids": [store.id]}]


def test_it_answers_plainly_that_it_is_the_sandbox(sandbox_client):
    response = sandbox_client.responses.create(model="gpt-4.1-mini", input="Write me a poem.")

    assert response.status == "completed"
    assert "sandbox" in response.output_text
    assert response.output[0].type == "message"


@pytest.mark.smoke
def test_it_quotes_the_best_passage_and_cites_its_file(sandbox_client, knowledge):
    response = sandbox_client.responses.create(
        model="gpt-4.1-mini", input="When is the final exam?", tools=_file_search(knowledge)
    )

    message = response.output[-1]
    text = message.content[0]
    assert response.output[0].type == "file_search_call"
    assert response.output[0].queries == ["When is the final exam?"]
    assert "first Monday of June" in text.text
    citation = text.annotations[0]
    assert (citation.type, citation.filename) == ("file_citation", "syllabus.md")
    assert citation.index <= len(text.text)


def test_it_returns_search_results_when_asked(sandbox_client, knowledge):
    response = sandbox_client.responses.create(
        model="gpt-4.1-mini",
        input="When is homework due?",
        tools=_file_search(knowledge),
        include=["file_search_call.results"],
    )

    results = response.output[0].results
    assert results[0].filename == "rules.txt"
    assert 0 < results[0].score <= 1


def test_it_says_it_found_nothing_without_hits(sandbox_client, knowledge):
    response = sandbox_client.responses.create(
        model="gpt-4.1-mini", input="Who painted the Mona Lisa?", tools=_file_search(knowledge)
    )

    assert "found nothing" in response.output_text
    assert "sandbox" in response.output_text
    assert response.output[-1].content[0].annotations == []


def test_it_answers_as_a_tuned_model_from_the_nearest_example(sandbox_client):
    training = upload_jsonl(sandbox_client, sample_lines())
    job = sandbox_client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training.id)
    tuned = sandbox_client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model

    response = sandbox_client.responses.create(model=tuned, input="what are classes for", instructions="Be brief.")

    assert response.output_text == "Classes are taught in week 4."
    assert response.model == tuned
    assert response.instructions == "Be brief."


def test_it_counts_usage_with_tiktoken(sandbox_client):
    short = sandbox_client.responses.create(model="gpt-4.1-mini", input="Hi")
    long = sandbox_client.responses.create(model="gpt-4.1-mini", input="Hi " * 200)

    assert short.usage.input_tokens > 0
    assert long.usage.input_tokens >= short.usage.input_tokens + 199
    assert short.usage.total_tokens == short.usage.input_tokens + short.usage.output_tokens


def test_it_accepts_input_items(sandbox_client, knowledge):
    response = sandbox_client.responses.create(
        model="gpt-4.1-mini",
        input=[
            {"role": "user", "content": "Hello"},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "When is homework due?"}]},
        ],
        tools=_file_search(knowledge),
    )

    assert "Friday at noon" in response.output_text


def test_it_continues_from_a_previous_response(sandbox_client, knowledge):
    first = sandbox_client.responses.create(model="gpt-4.1-mini", input="When is homework due?")

    second = sandbox_client.responses.create(
        model="gpt-4.1-mini", previous_response_id=first.id, input="And the exam?", tools=_file_search(knowledge)
    )

    assert second.previous_response_id == first.id
    assert second.usage.input_tokens > first.usage.input_tokens  # the earlier turn is part of the context
    assert "exam" in second.output_text


def test_it_retrieves_a_stored_response(sandbox_client):
    created = sandbox_client.responses.create(model="gpt-4.1-mini", input="Hi")

    retrieved = sandbox_client.responses.retrieve(created.id)

    assert (retrieved.id, retrieved.output_text) == (created.id, created.output_text)


def test_it_answers_404_for_unknown_responses_and_models(sandbox_client):
    with pytest.raises(openai.NotFoundError):
        sandbox_client.responses.retrieve("resp_nope")
    with pytest.raises(openai.NotFoundError) as caught:
        sandbox_client.responses.create(model="ft:gpt-4.1-mini-2025-04-14:sandbox::nothing", input="Hi")
    assert caught.value.body["code"] == "model_not_found"


def test_it_refuses_conversation_and_previous_response_together(sandbox_client):
    first = sandbox_client.responses.create(model="gpt-4.1-mini", input="Hi")
    conversation = sandbox_client.conversations.create()

    with pytest.raises(openai.BadRequestError) as caught:
        sandbox_client.responses.create(
            model="gpt-4.1-mini", input="Hi", previous_response_id=first.id, conversation=conversation.id
        )

    assert caught.value.body["code"] == "mutually_exclusive_parameters"


def test_it_answers_404_for_an_unknown_vector_store_in_tools(sandbox_client):
    with pytest.raises(openai.NotFoundError):
        sandbox_client.responses.create(
            model="gpt-4.1-mini", input="Hi", tools=[{"type": "file_search", "vector_store_ids": ["vs_nope"]}]
        )
