"""Images in the integration API, over a real ASGI server: they reach the model (the sandbox says
what it saw), are kept cleaned of their metadata, and anything refused leaves nothing behind."""

import base64
import io
import random

import httpx2
import pytest
from PIL import Image

from assistants.models import Assistant
from assistants.services import api_key_create
from dialogs.models import Dialog, Message, MessageImage, chat_images_storage
from sandbox.models import Response
from tests.fixtures.images import image_bytes, image_data_url, png_declaring

RED_640 = "I see a 640×480 image, mostly red."


@pytest.fixture
def key(served_tutor, curator) -> str:
    return api_key_create(assistant=served_tutor, name="bot", user=curator)[1]


@pytest.fixture
def http(asgi_server):
    with httpx2.Client(base_url=asgi_server.url, timeout=10) as client:
        yield client


@pytest.fixture
def post(http, served_tutor, key):
    def send(body: dict) -> httpx2.Response:
        url = f"/api/v1/assistants/{served_tutor.pk}/messages"
        return http.post(url, json=body, headers={"Authorization": f"Bearer {key}"})

    return send


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _stored_files() -> list[str]:
    storage = chat_images_storage()
    folders, files = storage.listdir("")
    return files + [f"{folder}/{name}" for folder in folders for name in storage.listdir(folder)[1]]


def _assert_nothing_stored() -> None:
    assert (Dialog.objects.count(), Message.objects.count(), MessageImage.objects.count()) == (0, 0, 0)
    assert _stored_files() == []


def test_it_shows_the_model_an_image_sent_as_a_data_url(post):
    response = post({"message": "What is this?", "images": [{"url": image_data_url(size=(640, 480))}]})

    assert response.status_code == 200, response.json()
    assert response.json()["reply"].endswith(RED_640)
    question = Message.objects.get(role="user")
    assert (question.content, question.image_count) == ("What is this?", 1)
    assert len(_stored_files()) == 2  # the image and its thumbnail


def test_it_shows_the_model_an_image_sent_as_base64(post):
    photo = image_bytes("JPEG", size=(640, 480))
    # The declared media type is wrong on purpose: the content decides.
    response = post({"message": "And this?", "images": [{"data": _base64(photo), "media_type": "image/gif"}]})

    assert response.status_code == 200, response.json()
    assert response.json()["reply"].endswith(RED_640)
    assert MessageImage.objects.get().media_type == "image/jpeg"


def test_it_takes_an_image_larger_than_djangos_body_limit_and_refuses_a_body_over_its_own(post, settings):
    noise = Image.frombytes("RGB", (1000, 1000), random.Random(7).randbytes(3_000_000))
    output = io.BytesIO()
    noise.save(output, "PNG")
    assert len(output.getvalue()) * 4 // 3 > settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    taken = post({"message": "Look", "images": [{"data": _base64(output.getvalue())}]})
    settings.CHAT_IMAGE_MAX_COUNT = 1
    settings.CHAT_IMAGE_MAX_BYTES = 1_000_000
    refused = post({"message": "Look", "images": [{"data": _base64(output.getvalue())}]})

    assert taken.status_code == 200, taken.text
    assert "I see a 1000×1000 image" in taken.json()["reply"]
    assert refused.status_code == 413 and refused.json()["error"]["type"] == "request_too_large"
    assert Dialog.objects.count() == 1


def test_it_keeps_the_image_without_its_exif_and_gps(post):
    exif = Image.Exif()
    exif[0x010F] = "SnoopCam"  # Make
    exif[0x8825] = {1: "N", 2: (55.0, 45.0, 0.0)}  # GPS: latitude
    photo = image_bytes("JPEG", size=(64, 48), exif=exif.tobytes())
    assert Image.open(io.BytesIO(photo)).getexif()  # the upload has them

    assert post({"message": "Where am I?", "images": [{"data": _base64(photo)}]}).status_code == 200

    kept = Image.open(io.BytesIO(MessageImage.objects.get().read()))
    assert not kept.getexif() and "exif" not in kept.info
    assert b"SnoopCam" not in MessageImage.objects.get().read()


def test_it_takes_images_alone(post):
    response = post({"message": "", "images": [{"url": image_data_url(size=(640, 480))}]})

    assert response.status_code == 200, response.json()
    assert response.json()["reply"].endswith(RED_640)
    assert Message.objects.get(role="user").content == ""

    without_message = post({"images": [{"url": image_data_url(size=(8, 8))}]})
    assert without_message.status_code == 200
    assert without_message.json()["reply"].endswith("I see a 8×8 image, mostly red.")


def test_it_refuses_an_empty_message_without_images(post):
    response = post({"message": "  ", "images": []})

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request"
    _assert_nothing_stored()


def test_it_keeps_earlier_images_in_a_later_turns_history(post):
    first = post({"message": "Look", "images": [{"url": image_data_url(size=(640, 480))}]}).json()

    later = post({"message": "What colour was it?", "conversation_id": first["conversation_id"]})

    assert later.status_code == 200
    assert "I see" not in later.json()["reply"]  # the sandbox describes the newest question's images only
    sent = Response.objects.first().context  # what the provider was given for the later turn
    earlier = next(item for item in sent if item.get("role") == "user" and "Look" in str(item["content"]))
    assert [part["type"] for part in earlier["content"]].count("input_image") == 1


def test_it_refuses_more_images_than_allowed(post, settings):
    settings.CHAT_IMAGE_MAX_COUNT = 2
    response = post({"message": "Three", "images": [{"url": image_data_url()}] * 3})

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "too_many_images"
    assert "at most 2 images" in response.json()["error"]["message"]
    _assert_nothing_stored()


@pytest.mark.parametrize("form", ["url", "data"])
def test_it_refuses_a_too_large_image_before_decoding_it(post, settings, form):
    settings.CHAT_IMAGE_MAX_BYTES = 1000
    big = image_bytes("PNG", size=(400, 400), colour=(1, 2, 3), compress_level=0)
    item = {"url": f"data:image/png;base64,{_base64(big)}"} if form == "url" else {"data": _base64(big)}

    response = post({"message": "Big", "images": [item]})

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "image_too_large"
    _assert_nothing_stored()


@pytest.mark.parametrize(
    ("item", "detail"),
    [
        ({"data": _base64(b"I am text, not a picture.")}, "not_an_image"),
        ({"url": f"data:image/png;base64,{_base64(b'I am text, not a picture.')}"}, "not_an_image"),
        ({"data": _base64(image_bytes("PNG", size=(64, 48))[:60])}, "corrupt"),
        ({"data": _base64(png_declaring(20_000, 20_000))}, "too_many_pixels"),
        ({"data": "this is *not* base64 !"}, "not_base64"),
        ({"url": "data:image/png;base64,%%%not-base64%%%"}, "bad_data_url"),
        ({"url": "ftp://example.com/cat.png"}, "bad_data_url"),
        ({"data": 42}, "not_base64"),
        ({"url": image_data_url(), "data": _base64(image_bytes())}, "either 'url'"),
        ("data:image/png;base64,AAAA", "either 'url'"),
    ],
)
def test_it_refuses_what_is_not_a_clean_image(post, item, detail):
    response = post({"message": "Look", "images": [item]})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_image"
    assert detail in error["message"] and "images[0]" in error["message"]
    _assert_nothing_stored()


def test_it_refuses_an_image_list_that_is_not_a_list(post):
    response = post({"message": "Look", "images": {"url": image_data_url()}})

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request"
    _assert_nothing_stored()


@pytest.mark.parametrize("url", ["https://example.com/cat.png", "HTTP://127.0.0.1:8000/admin/"])
def test_it_does_not_fetch_images_from_the_web(post, url):
    response = post({"message": "Look", "images": [{"url": url}]})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "image_url_not_supported"
    assert "does not fetch images" in error["message"]
    _assert_nothing_stored()


def test_it_refuses_images_for_a_model_that_cannot_see_them(post, served_tutor):
    Assistant.objects.filter(pk=served_tutor.pk).update(model="our-text-only-model")
    responses_before = Response.objects.count()

    response = post({"message": "Look", "images": [{"url": image_data_url()}]})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "images_not_seen"
    assert "our-text-only-model" in error["message"] and "cannot see images" in error["message"]
    _assert_nothing_stored()
    assert Response.objects.count() == responses_before


def test_it_refuses_images_in_a_conversation_whose_model_went_blind(post, served_tutor):
    first = post({"message": "Hello"}).json()
    Assistant.objects.filter(pk=served_tutor.pk).update(model="our-text-only-model")

    response = post(
        {"message": "Look", "conversation_id": first["conversation_id"], "images": [{"url": image_data_url()}]}
    )

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "images_not_seen"
    assert Message.objects.count() == 2 and MessageImage.objects.count() == 0
    assert _stored_files() == []


def test_it_refuses_a_text_question_in_a_conversation_with_images_once_the_model_went_blind(post, served_tutor):
    first = post({"message": "Look", "images": [{"url": image_data_url()}]}).json()
    Assistant.objects.filter(pk=served_tutor.pk).update(model="our-text-only-model")
    responses_before = Response.objects.count()

    response = post({"message": "And now?", "conversation_id": first["conversation_id"]})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "images_not_seen" and "This dialog holds images" in error["message"]
    assert Message.objects.count() == 2 and Response.objects.count() == responses_before


def test_it_speaks_english_whatever_the_client_accepts(http, served_tutor, key):
    response = http.post(
        f"/api/v1/assistants/{served_tutor.pk}/messages",
        json={"message": "Look", "images": [{"data": _base64(b"plain text")}]},
        headers={"Authorization": f"Bearer {key}", "Accept-Language": "ru"},
    )

    assert response.status_code == 400
    assert "not a PNG, JPEG, WebP or GIF" in response.json()["error"]["message"]


def test_it_describes_images_in_openapi(http):
    spec = http.get("/api/v1/openapi.json").json()
    body = spec["paths"]["/api/v1/assistants/{assistant_id}/messages"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]

    assert schema["properties"]["images"]["type"] == "array"
    assert set(schema["properties"]["images"]["items"]["properties"]) >= {"url", "data"}
    assert "message" not in schema.get("required", [])
