"""Images in the history reach the model on both wire APIs (the sandbox says what it saw); a model
that cannot see images is refused before anything is sent."""

from assistants.engine import chat_stream, model_sees_images
from assistants.events import IMAGES_NOT_SEEN, Completed, Failed
from core.images import clean_image
from sandbox.models import Response
from tests.fixtures.images import image_bytes, image_data_url
from tests.fixtures.servers import run_async


def _events(assistant, history, **kwargs) -> list:
    async def collect():
        return [e async for e in chat_stream(assistant=assistant, history=history, **kwargs)]

    return run_async(collect)


def test_it_sends_the_images_of_a_question(live_assistant):
    photo = clean_image(image_bytes("JPEG", size=(640, 480)))
    history = [
        {
            "role": "user",
            "content": "What is this?",
            "images": [{"media_type": photo.media_type, "data": photo.data}],
        }
    ]

    done = _events(live_assistant, history)[-1]

    assert isinstance(done, Completed), done
    assert done.turn.text.endswith("I see a 640×480 image, mostly red.")


def test_it_sends_images_given_as_data_urls_and_without_text(live_assistant):
    history = [
        {"role": "user", "content": "Hello there"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "", "images": [{"media_type": "image/png", "data": image_data_url((8, 8))}]},
    ]

    done = _events(live_assistant, history)[-1]

    assert isinstance(done, Completed), done
    assert "I see a 8×8 image, mostly red." in done.turn.text


def test_it_refuses_images_for_a_model_that_cannot_see_them_before_sending(live_assistant):
    history = [{"role": "user", "content": "And this?", "images": [{"media_type": "image/png", "data": b"\x89PNG"}]}]
    responses_before = Response.objects.count()

    events = _events(live_assistant, history, model="our-text-only-model")

    assert len(events) == 1 and isinstance(events[0], Failed)
    assert events[0].code == IMAGES_NOT_SEEN
    assert "cannot see images" in events[0].message and "our-text-only-model" in events[0].message
    assert events[0].turn.response_ids == [] and Response.objects.count() == responses_before


def test_it_takes_the_callers_word_for_models_the_catalog_does_not_know():
    assert model_sees_images("gpt-4.1-mini") is True
    assert model_sees_images("qwen2.5-vl-7b") is False
    assert model_sees_images("qwen2.5-vl-7b", sees_images=True) is True
    assert model_sees_images("gpt-4.1-mini", sees_images=False) is False
