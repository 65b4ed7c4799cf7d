"""A learner's question with images: checked by content, stored privately without metadata, sent to
the model, shown as thumbnails to those who may read the dialog and to nobody else."""

import io

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from dialogs.chat.images import history_images
from dialogs.chat.services import history_before
from dialogs.models import Dialog, Message, MessageImage, chat_images_storage
from tests.conftest import add_member, make_user
from tests.fixtures.images import image_bytes, png_declaring

from .test_stream import _events, _http, _stream_url

JSON = {"HTTP_ACCEPT": "application/json"}


def _upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def _ask(client, course, content="What is on this picture?", images=(), dialog: Dialog | None = None):
    url = f"/c/{course.slug}/chat/{dialog.pk}/ask/" if dialog else f"/c/{course.slug}/chat/ask/"
    return client.post(url, {"content": content, "images": list(images)}, **JSON)


def _stored_files() -> list[str]:
    storage = chat_images_storage()
    folders, files = storage.listdir("")
    for folder in folders:
        files += [f"{folder}/{name}" for name in storage.listdir(folder)[1]]
    return files


def _photo_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825).update({1: "N", 2: (55.0, 45.0, 21.0), 3: "E", 4: (37.0, 37.0, 4.0)})
    return image_bytes("JPEG", size=(640, 480), exif=exif.tobytes())


def test_it_stores_a_questions_image_cleaned_with_a_thumbnail(client, course, learner, tutor):
    client.force_login(learner)

    response = _ask(client, course, images=[_upload(_photo_with_gps())])

    assert response.status_code == 200, response.content
    question = Message.objects.get(role="user")
    image = question.images.get()
    assert (question.image_count, image.media_type, image.width, image.height) == (1, "image/jpeg", 640, 480)
    stored = image.read()
    assert b"PhoneMaker" not in stored and not Image.open(io.BytesIO(stored)).getexif()
    assert image.size == len(stored)
    with chat_images_storage().open(image.thumbnail.name) as thumbnail:
        assert max(Image.open(thumbnail).size) == 320
    assert image.file.name.startswith(f"{course.pk}/")
    assert f"/dialogs/{question.dialog_id}/images/{image.pk}/thumbnail/" in response.json()["html"]


def test_it_takes_images_alone_as_a_question(client, course, learner, tutor):
    client.force_login(learner)

    response = _ask(client, course, content="", images=[_upload(image_bytes("PNG"), "a.png", "image/png")])

    assert response.status_code == 200, response.content
    dialog = Dialog.objects.get()
    assert dialog.title == "Image"
    assert dialog.messages.get(role="user").image_count == 1


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (_upload(b"just some text, not a picture", "notes.png", "image/png"), "is not a PNG, JPEG, WebP or GIF"),
        (_upload(image_bytes("PNG", size=(300, 300))[:200], "cut.png", "image/png"), "damaged or incomplete"),
        (_upload(png_declaring(20_000, 20_000), "bomb.png", "image/png"), "too many pixels"),
        (_upload(b"", "empty.png", "image/png"), "empty"),
    ],
    ids=["not-an-image", "truncated", "bomb", "empty"],
)
def test_it_refuses_a_bad_image_and_stores_nothing(client, course, learner, tutor, upload, message):
    client.force_login(learner)

    response = _ask(client, course, images=[upload])

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert message in error and upload.name in error
    assert not Dialog.objects.exists() and not MessageImage.objects.exists() and _stored_files() == []


def test_it_refuses_an_image_too_large_and_too_many_images(client, course, learner, tutor, settings):
    settings.CHAT_IMAGE_MAX_BYTES = 2000
    settings.CHAT_IMAGE_MAX_COUNT = 2
    client.force_login(learner)

    large = _ask(client, course, images=[_upload(image_bytes("PNG", size=(200, 200), colour=(1, 2, 3)) + b"x" * 3000)])
    small = [_upload(image_bytes("PNG", size=(4, 4)), f"{n}.png", "image/png") for n in range(3)]
    many = _ask(client, course, images=small)

    assert large.status_code == many.status_code == 400
    assert "images may be at most 2.0" in large.json()["errors"][0]
    assert "at most 2" in many.json()["errors"][0]
    assert not Dialog.objects.exists() and _stored_files() == []


def test_it_says_before_sending_that_the_model_cannot_see_images(client, course, learner, tutor):
    type(tutor).objects.filter(pk=tutor.pk).update(model="our-text-only-model")
    client.force_login(learner)

    response = _ask(client, course, images=[_upload(image_bytes("JPEG"))])

    assert response.status_code == 400
    assert "cannot see images" in response.json()["errors"][0]
    assert not Dialog.objects.exists() and _stored_files() == []


def test_it_says_before_recording_that_a_dialog_with_images_cannot_go_on_with_a_blind_model(
    client, course, learner, tutor
):
    client.force_login(learner)
    _ask(client, course, images=[_upload(image_bytes("JPEG"))])
    dialog = Dialog.objects.get()
    question = dialog.messages.get(role="user")
    type(tutor).objects.filter(pk=tutor.pk).update(model="our-text-only-model")

    asked = _ask(client, course, content="And the colour?", dialog=dialog)
    edited = client.post(
        f"/c/{course.slug}/chat/{dialog.pk}/messages/{question.pk}/edit/", {"content": "What now?"}, **JSON
    )

    for response in (asked, edited):
        assert response.status_code == 400
        assert "This dialog holds images" in response.json()["errors"][0]
    assert dialog.messages.count() == 2


def test_it_stores_nothing_when_the_storage_cannot_write(client, course, learner, tutor, settings, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the storage wants a folder")
    settings.STORAGES = {
        **settings.STORAGES,
        "chat_images": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": blocker}},
    }
    assert isinstance(chat_images_storage(), FileSystemStorage)
    client.force_login(learner)

    response = _ask(client, course, images=[_upload(image_bytes("JPEG"))])

    assert response.status_code == 503
    assert "could not be stored" in response.json()["errors"][0]
    assert not Dialog.objects.exists() and not MessageImage.objects.exists()


def test_it_serves_the_image_only_to_who_may_read_the_dialog(client, course, other_course, learner, curator, tutor):
    client.force_login(learner)
    _ask(client, course, images=[_upload(image_bytes("PNG", size=(500, 100)), "wide.png", "image/png")])
    image = MessageImage.objects.get()
    url = f"/c/{course.slug}/dialogs/{image.message.dialog_id}/images/{image.pk}/"
    classmate = make_user("classmate@example.com")
    add_member(classmate, course, "learner")
    stranger = make_user("stranger@example.com")
    add_member(stranger, other_course, "curator")

    mine = client.get(url)
    assert mine.status_code == 200 and mine["Content-Type"] == "image/png"
    assert b"".join(mine.streaming_content) == image.read()
    assert "private" in mine["Cache-Control"]
    client.force_login(curator)
    assert client.get(url).status_code == 200
    assert client.get(f"{url}thumbnail/").status_code == 200
    for outsider in (classmate, stranger):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
        assert client.get(f"{url}thumbnail/").status_code == 404
    client.force_login(stranger)
    assert client.get(f"/c/{other_course.slug}/dialogs/{image.message.dialog_id}/images/{image.pk}/").status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_it_keeps_the_images_of_an_edited_question_and_deletes_files_with_the_last_row(
    client, course, learner, tutor, django_capture_on_commit_callbacks
):
    client.force_login(learner)
    _ask(client, course, images=[_upload(image_bytes("JPEG"))])
    question = Message.objects.get(role="user")

    client.post(
        f"/c/{course.slug}/chat/{question.dialog_id}/messages/{question.pk}/edit/", {"content": "And now?"}, **JSON
    )

    edited = Message.objects.get(role="user", replaced_at__isnull=True)
    assert edited.pk != question.pk and edited.image_count == 1
    assert edited.images.get().file.name == question.images.get().file.name
    assert len(_stored_files()) == 2  # the image and its thumbnail, once
    with django_capture_on_commit_callbacks(execute=True):
        Dialog.objects.get().delete()
    assert not MessageImage.objects.exists() and _stored_files() == []


def test_it_gives_the_model_the_images_of_earlier_questions(client, course, learner, tutor):
    client.force_login(learner)
    _ask(client, course, images=[_upload(image_bytes("JPEG", size=(64, 48)))])
    dialog = Dialog.objects.get()
    Message.objects.filter(role="assistant").update(status="complete", content="A red picture.")
    _ask(client, course, content="And the colour again?", dialog=dialog)
    answer = Message.objects.get(role="assistant", status="pending")

    history = history_images(history_before(answer))

    assert [item["role"] for item in history] == ["user", "assistant", "user"]
    (image,) = history[0]["images"]
    assert image["media_type"] == "image/jpeg" and image["data"] == MessageImage.objects.get().read()
    assert "images" not in history[2] and "image_ids" not in history[0]


@pytest.mark.smoke
def test_it_streams_an_answer_that_saw_the_image(client, course, learner, served_tutor, asgi_server):
    client.force_login(learner)
    _ask(client, course, images=[_upload(_photo_with_gps())])
    answer = Message.objects.get(role="assistant", status="pending")

    with _http(asgi_server, client) as http, http.stream("GET", _stream_url(answer)) as response:
        events = _events(response)

    text = "".join(data["text"] for name, data in events if name == "delta")
    assert "I see a 640×480 image, mostly red." in text
    answer.refresh_from_db()
    assert answer.status == "complete" and "I see a 640×480 image" in answer.content
