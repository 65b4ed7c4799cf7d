"""The sandbox's models see images: data URLs in Responses `input_image` and Chat Completions
`image_url` parts reach the answer; what they cannot see gets OpenAI's 400s."""

import openai
import pytest

from tests.fixtures.images import image_data_url
from tests.fixtures.sandbox import BASE_MODEL, jsonl, sample_lines


def _responses_input(url: str, text: str = "What is in this picture?") -> list[dict]:
    return [
        {
            "role": "user",
            "content": [{"type": "input_text", "text": text}, {"type": "input_image", "image_url": url}],
        }
    ]


def _chat_messages(url: str, text: str = "What is in this picture?") -> list[dict]:
    return [
        {
            "role": "user",
            "content": [{"type": "text", "text": text}, {"type": "image_url", "image_url": {"url": url}}],
        }
    ]


def test_it_sees_an_image_on_the_responses_api(sandbox_client):
    response = sandbox_client.responses.create(model="gpt-4.1-mini", input=_responses_input(image_data_url((640, 480))))

    assert "I see a 640×480 image, mostly red." in response.output_text
    assert "sandbox" in response.output_text  # the text answer is still the base model's


def test_it_sees_an_image_in_chat_completions(sandbox_client):
    completion = sandbox_client.chat.completions.create(
        model="gpt-4.1-mini", messages=_chat_messages(image_data_url((30, 90), (20, 60, 210)))
    )

    assert completion.choices[0].message.content.endswith("I see a 30×90 image, mostly blue.")


def test_it_sees_every_image_of_the_question(sandbox_client):
    content = [
        {"type": "input_image", "image_url": image_data_url((10, 10))},
        {"type": "input_image", "image_url": image_data_url((20, 20), (40, 170, 60)), "detail": "low"},
    ]
    response = sandbox_client.responses.create(model="gpt-4.1-mini", input=[{"role": "user", "content": content}])

    assert "I see a 10×10 image, mostly red and a 20×20 image, mostly green." in response.output_text


def test_it_bills_images_as_input_tokens(sandbox_client):
    text_only = sandbox_client.responses.create(model="gpt-4o", input="What is in this picture?")
    with_image = sandbox_client.responses.create(model="gpt-4o", input=_responses_input(image_data_url((1024, 1024))))

    assert with_image.usage.input_tokens - text_only.usage.input_tokens == 765  # 85 + 4 tiles × 170


def test_it_answers_an_image_it_cannot_download_with_a_400(sandbox_client):
    with pytest.raises(openai.BadRequestError) as responses_error:
        sandbox_client.responses.create(model="gpt-4.1-mini", input=_responses_input("https://example.com/cat.png"))
    with pytest.raises(openai.BadRequestError) as chat_error:
        sandbox_client.chat.completions.create(
            model="gpt-4.1-mini", messages=_chat_messages("https://example.com/cat.png")
        )

    for error in (responses_error.value, chat_error.value):
        assert error.code == "invalid_image_url"
        assert "Error while downloading https://example.com/cat.png" in error.message


def test_it_refuses_what_is_not_an_image(sandbox_client):
    not_an_image = "data:image/png;base64,SGVsbG8sIHdvcmxkIQ=="  # "Hello, world!"

    with pytest.raises(openai.BadRequestError) as error:
        sandbox_client.responses.create(model="gpt-4.1-mini", input=_responses_input(not_an_image))

    assert error.value.code == "invalid_image_format"


def test_it_keeps_text_answers_as_they_were(sandbox_client):
    completion = sandbox_client.chat.completions.create(
        model="gpt-4.1-mini", messages=[{"role": "user", "content": "Hi"}]
    )

    assert "I see" not in completion.choices[0].message.content


def _image_lines(image_part_role: str = "user") -> bytes:
    lines = sample_lines()
    for line in lines[:3]:
        picture = {"type": "image_url", "image_url": {"url": image_data_url((512, 512)), "detail": "high"}}
        message = next(m for m in line["messages"] if m["role"] == image_part_role)
        message["content"] = [{"type": "text", "text": message["content"]}, picture]
    return jsonl(lines)


def _job(client, content: bytes, model: str):
    training = client.files.create(file=("train.jsonl", content), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model=model, training_file=training.id)
    return client.fine_tuning.jobs.retrieve(job.id)


def test_it_fine_tunes_a_vision_model_on_image_examples(sandbox_client):
    job = _job(sandbox_client, _image_lines(), "gpt-4o-2024-08-06")

    assert job.status == "succeeded", job.error
    assert job.trained_tokens > 3 * (85 + 170) * job.hyperparameters.n_epochs  # the images were counted


@pytest.mark.parametrize(
    ("content", "model", "wording"),
    [
        (_image_lines("assistant"), "gpt-4o-2024-08-06", "only allowed in user messages"),
        (_image_lines(), BASE_MODEL, "cannot be fine-tuned on images"),
    ],
)
def test_it_fails_image_examples_openai_would_refuse(sandbox_client, content, model, wording):
    job = _job(sandbox_client, content, model)

    assert job.status == "failed"
    assert wording in job.error.message
