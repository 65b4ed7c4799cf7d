"""Images in curation: 🎓 copies a question's images into the example, the stored checks count
their tokens, the editor removes and adds them, and exports carry them and import back equal."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from assistants.events import Turn
from core.images import clean_image, from_data_url, to_data_url
from dialogs.chat import images as question_images
from dialogs.chat import services as chat
from dialogs.datasets import edits, lines, revisions, transfer
from dialogs.datasets import services as curation
from dialogs.datasets.report import dataset_check
from dialogs.models import Dataset, DatasetTally, Dialog, Example, Message, MessageImage, Transfer
from llm.catalog import get_model
from tests.dialogs.datasets.test_tallies import _counted_again, _tallies
from tests.fixtures.images import image_bytes
from trainingfiles.validation import validate_example

pytestmark = pytest.mark.django_db


@pytest.fixture
def assistant(course, sandbox_provider):
    return course.assistants.create(
        name="Tutor", instructions="Answer briefly.", provider=sandbox_provider, model="gpt-4.1-mini"
    )


@pytest.fixture
def dataset(assistant, curator) -> Dataset:
    return curation.dataset_for_assistant(assistant=assistant, user=curator)


def ask(dialog: Dialog, question: str, answer: str, pictures: list[bytes] = ()) -> Message:
    stored = question_images.files_store(dialog.course_id, [clean_image(data) for data in pictures])
    _q, a = chat.turn_ask(dialog=dialog, content=question, images=stored)
    chat.answer_record(answer=a, turn=Turn(text=answer), status=Message.Status.COMPLETE)
    return a


@pytest.fixture
def dialog(assistant, learner) -> Dialog:
    dialog = chat.dialog_start(assistant=assistant, source=Dialog.Source.CHAT, user=learner)
    ask(dialog, "What does this chart show?", "Sales by month.", [image_bytes(size=(640, 480))])
    ask(dialog, "Thanks!", "You are welcome.")
    return dialog


@pytest.fixture
def example(dialog, dataset, curator) -> Example:
    return curation.example_from_dialog(dialog=dialog, dataset=dataset, user=curator)


def url(example: Example, name: str, *args) -> str:
    return reverse(f"dialogs:{name}", args=[example.dataset.course.slug, example.dataset_id, example.pk, *args])


def fresh(example: Example) -> Example:
    return Example.objects.get(pk=example.pk)


def png_upload(name: str = "chart.png", **picture) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(**picture), content_type="image/png")


def jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    exif[0x8825] = {2: (55.0, 45.0, 0.0)}  # GPS latitude
    output = io.BytesIO()
    Image.new("RGB", (80, 60), (30, 80, 220)).save(output, "JPEG", exif=exif.tobytes())
    return output.getvalue()


# 🎓 ------------------------------------------------------------------------------------------


def test_it_copies_a_questions_images_into_the_example(dialog, example):
    stored = MessageImage.objects.get(message__dialog=dialog)
    question = example.messages[0]

    assert question["role"] == "user"
    assert question["content"] == [
        {"type": "text", "text": "What does this chart show?"},
        {"type": "image_url", "image_url": {"url": question_images.image_data_url(stored), "detail": "auto"}},
    ]
    assert example.messages[2] == {"role": "user", "content": "Thanks!"}  # no images: plain text as before
    assert example.image_count == 1
    assert str(example) == "What does this chart show?"


def test_it_reads_the_dialogs_images_in_one_query(assistant, learner, dataset):
    dialog = chat.dialog_start(assistant=assistant, source=Dialog.Source.CHAT, user=learner)
    for number in range(3):
        ask(dialog, f"Question {number}", "An answer.", [image_bytes(), image_bytes(colour=(0, 200, 0))])
    with CaptureQueriesContext(connection) as queries:
        messages, _tools = curation.messages_from_dialog(dialog)
    image_queries = [query for query in queries if MessageImage._meta.db_table in query["sql"]]

    assert len(image_queries) == 1
    assert [len(message["content"]) for message in messages if message["role"] == "user"] == [3, 3, 3]


def test_it_keeps_the_images_when_the_model_got_the_question_with_passages(dialog, dataset):
    answer = dialog.messages.filter(role=Message.Role.ASSISTANT).order_by("position").first()
    Message.objects.filter(pk=answer.pk).update(question_sent="Passages: …\n\nWhat does this chart show?")

    messages, _tools = curation.messages_from_dialog(dialog)

    assert messages[0]["content"][0] == {"type": "text", "text": "Passages: …\n\nWhat does this chart show?"}
    assert messages[0]["content"][1]["type"] == "image_url"


def test_it_makes_an_example_of_an_image_alone(assistant, learner, dataset):
    dialog = chat.dialog_start(assistant=assistant, source=Dialog.Source.CHAT, user=learner)
    ask(dialog, "", "A red square.", [image_bytes()])

    example = curation.example_from_dialog(dialog=dialog, dataset=dataset, user=None)

    assert [part["type"] for part in example.messages[0]["content"]] == ["image_url"]
    assert example.error_count == 0


# Stored checks ---------------------------------------------------------------------------------


def test_it_counts_the_images_tokens_as_the_base_model_is_billed(example, dataset):
    row = lines.training_row(example, lines.system_message(example, dataset))
    model = get_model(dataset.base_model)
    direct = validate_example(row, token_limit=model.training_token_limit, image_cost=model.image_cost)
    without = json.loads(json.dumps(row))
    without["messages"][1]["content"] = "What does this chart show?"
    text_only = validate_example(without, token_limit=model.training_token_limit, image_cost=model.image_cost)

    assert example.token_count == direct.total_tokens
    assert example.token_count > text_only.total_tokens + 100  # 640×480 in gpt-4.1-mini's patches
    assert curation.example_report(example, dataset).total_tokens == direct.total_tokens


def test_it_tells_the_dataset_page_that_examples_hold_images(example, dataset):
    curation.example_change(example=example, version=example.version, user=None, change=edits.set_status("ready"))

    check = dataset_check(dataset)

    codes = {issue.code for result in check.checks for issue in result.issues}
    assert "images_skipped_by_content" in codes
    assert DatasetTally.objects.filter(dataset=dataset, measure="image_count", value=1, count=1).exists()


def test_it_finds_and_removes_personal_data_beside_an_image(example):
    example = curation.example_change(
        example=example, version=example.version, user=None, change=edits.set_content(0, "Mail ann@example.com")
    )
    assert curation.has_pii(example)

    example = curation.example_change(example=example, version=example.version, user=None, change=edits.redact())

    assert not curation.has_pii(example)
    assert example.messages[0]["content"][0] == {"type": "text", "text": "Mail [email]"}
    assert example.messages[0]["content"][1]["type"] == "image_url"  # the image stays


# The editor -------------------------------------------------------------------------------------


def test_it_shows_the_images_in_the_editor_without_their_data(client, curator, example):
    client.force_login(curator)
    url_of_image = example.messages[0]["content"][1]["image_url"]["url"]

    page = client.get(url(example, "example")).content.decode()

    assert 'alt="Image 1 of message 1 (640×480)"' in page
    assert 'src="data:image/' in page
    assert url_of_image not in page  # a small copy, not the whole image
    assert "Remove image" in page
    assert page.count('<label for="add-image-') == 2  # on each user message


def test_it_keeps_the_images_when_the_text_is_edited(client, curator, example):
    client.force_login(curator)
    client.post(url(example, "example_content", 0), {"version": example.version, "content": "What is this?"})

    content = fresh(example).messages[0]["content"]

    assert content[0] == {"type": "text", "text": "What is this?"}
    assert content[1]["type"] == "image_url"


def test_it_removes_an_image(client, curator, example):
    client.force_login(curator)

    response = client.post(url(example, "example_image_remove", 0, 1), {"version": example.version})

    assert response.status_code == 302
    changed = fresh(example)
    assert changed.messages[0]["content"] == "What does this chart show?"  # plain text again
    assert changed.version == example.version + 1
    assert changed.image_count == 0
    assert changed.token_count < example.token_count
    assert changed.revisions.order_by("-version").first().summary == "Image removed from message 1"


def test_it_refuses_a_stale_image_removal(client, curator, example):
    client.force_login(curator)
    client.post(url(example, "example_content", 2), {"version": example.version, "content": "Thank you!"})

    response = client.post(url(example, "example_image_remove", 0, 1), {"version": example.version})

    assert response.status_code == 409
    assert fresh(example).image_count == 1


def test_it_refuses_an_image_that_is_not_there(client, curator, example):
    client.force_login(curator)

    response = client.post(url(example, "example_image_remove", 0, 2), {"version": example.version})

    assert response.status_code == 409
    assert fresh(example).version == example.version


def test_it_adds_an_image_cleaned_as_the_chat_cleans_one(client, curator, example):
    client.force_login(curator)
    upload = SimpleUploadedFile("photo.jpg", jpeg_with_exif(), content_type="image/jpeg")

    response = client.post(url(example, "example_image_add", 2), {"version": example.version, "image": upload})

    assert response.status_code == 302
    changed = fresh(example)
    content = changed.messages[2]["content"]
    assert content[0] == {"type": "text", "text": "Thanks!"}
    media_type, data = from_data_url(content[1]["image_url"]["url"])
    assert media_type == "image/jpeg"
    with Image.open(io.BytesIO(data)) as added:
        assert added.size == (80, 60)
        assert not added.getexif()  # no camera, no GPS
    assert changed.image_count == 2
    assert changed.revisions.order_by("-version").first().summary == "Image added to message 3"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a picture at all", "This file is not a PNG, JPEG, WebP or GIF image"),
        (image_bytes()[:60], "damaged or incomplete"),
    ],
)
def test_it_refuses_a_bad_file_and_changes_nothing(client, curator, example, data, message):
    client.force_login(curator)
    upload = SimpleUploadedFile("chart.png", data, content_type="image/png")

    response = client.post(url(example, "example_image_add", 0), {"version": example.version, "image": upload})

    assert response.status_code == 400
    assert message in response.content.decode()
    unchanged = fresh(example)
    assert unchanged.version == example.version
    assert unchanged.messages == example.messages
    assert unchanged.revisions.count() == 1


def test_it_refuses_an_image_too_many(client, curator, example, settings):
    settings.CHAT_IMAGE_MAX_COUNT = 1
    client.force_login(curator)

    response = client.post(url(example, "example_image_add", 0), {"version": example.version, "image": png_upload()})

    assert response.status_code == 400
    assert "at most 1 images" in response.content.decode()
    assert fresh(example).version == example.version


def test_it_refuses_an_image_on_an_answer(client, curator, example):
    client.force_login(curator)

    response = client.post(url(example, "example_image_add", 1), {"version": example.version, "image": png_upload()})

    assert response.status_code == 400
    assert fresh(example).version == example.version


def test_it_refuses_a_stale_image_upload(client, curator, example):
    client.force_login(curator)
    client.post(url(example, "example_image_remove", 0, 1), {"version": example.version})

    response = client.post(url(example, "example_image_add", 0), {"version": example.version, "image": png_upload()})

    assert response.status_code == 409
    assert fresh(example).image_count == 0


def test_it_hides_the_image_actions_from_another_course(client, other_curator, example):
    client.force_login(other_curator)

    removed = client.post(url(example, "example_image_remove", 0, 1), {"version": example.version})
    added = client.post(url(example, "example_image_add", 0), {"version": example.version, "image": png_upload()})

    assert removed.status_code == added.status_code == 404
    assert fresh(example).version == example.version


def test_it_shows_an_image_change_in_the_history_without_its_data(client, curator, example):
    client.force_login(curator)
    client.post(url(example, "example_image_remove", 0, 1), {"version": example.version})

    page = client.get(url(example, "example_revision", example.version + 1)).content.decode()
    changes = revisions.revision_changes(fresh(example).revisions.get(version=example.version + 1))

    assert "[image 640×480]" in page
    assert "base64" not in page
    assert [line.text for line in changes[0].lines if line.kind == "removed"] == ["[image 640×480]"]


def test_it_keeps_the_tallies_right_through_image_edits(client, curator, example):
    client.force_login(curator)
    example = curation.example_change(
        example=example, version=example.version, user=None, change=edits.set_status("ready")
    )
    client.post(url(example, "example_image_add", 0), {"version": example.version, "image": png_upload()})
    client.post(url(example, "example_image_remove", 0, 1), {"version": example.version + 1})
    client.post(url(example, "example_image_add", 2), {"version": example.version + 2, "image": png_upload()})

    kept = _tallies()

    assert fresh(example).version == example.version + 3
    assert kept == _counted_again()
    assert ("image_count", 2) in {(measure, value) for _d, measure, value, _c in kept[0]}


# Export and import -------------------------------------------------------------------------------


def _import(dataset: Dataset, content: bytes, name: str = "images.jsonl") -> Transfer:
    upload = SimpleUploadedFile(name, content, content_type="application/jsonl")
    found = transfer.transfer_upload(dataset=dataset, upload=upload, user=None)
    return transfer.transfer_import_confirm(transfer=found)


def test_it_exports_images_as_data_urls_and_imports_them_back_equal(example, dataset, course, curator):
    example = curation.example_change(
        example=example, version=example.version, user=None, change=edits.set_status("ready")
    )
    exported = b"".join(transfer.export_lines(dataset, format=Transfer.Format.SUPERVISED))
    row = json.loads(exported)
    model = get_model(dataset.base_model)

    assert row["messages"][1]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    report = validate_example(row, token_limit=model.training_token_limit, image_cost=model.image_cost)
    assert not report.errors
    assert report.total_tokens == example.token_count

    other = curation.dataset_create(course=course, name="Copies", user=curator, assistant=dataset.assistant)
    done = _import(other, exported)

    assert done.status == Transfer.Status.DONE
    imported = other.examples.get()
    assert imported.messages == example.messages
    assert imported.token_count == example.token_count
    assert imported.image_count == 1


def _line(url: str) -> bytes:
    messages = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "What is it?"}, {"type": "image_url", "image_url": {"url": url}}],
        },
        {"role": "assistant", "content": "A photo."},
    ]
    return json.dumps({"messages": messages}).encode() + b"\n"


def test_it_strips_the_metadata_of_imported_images(dataset):
    done = _import(dataset, _line(to_data_url(jpeg_with_exif(), "image/jpeg")))

    assert done.status == Transfer.Status.DONE
    url_of_image = dataset.examples.get().messages[0]["content"][1]["image_url"]["url"]
    _media_type, data = from_data_url(url_of_image)
    with Image.open(io.BytesIO(data)) as imported:
        assert not imported.getexif()
        assert imported.size == (80, 60)


def test_it_refuses_an_import_whose_image_is_damaged(dataset):
    damaged = to_data_url(image_bytes(size=(200, 200))[:120], "image/png")  # a header, no pixels

    upload = SimpleUploadedFile("bad.jsonl", _line(damaged))
    result = transfer.transfer_parse(transfer.transfer_upload(dataset=dataset, upload=upload, user=None))

    assert not result.ok
    assert "Example 1, message 1: The image file is damaged or incomplete." in str(result.errors[0])
    assert not dataset.examples.exists()


def test_it_previews_an_import_with_its_images_named_not_dumped(client, curator, dataset):
    client.force_login(curator)
    upload = SimpleUploadedFile("images.jsonl", _line(to_data_url(image_bytes(size=(80, 60)), "image/png")))
    found = transfer.transfer_upload(dataset=dataset, upload=upload, user=curator)

    page = client.get(reverse("dialogs:dataset_transfer", args=[dataset.course.slug, dataset.pk, found.pk]))

    text = page.content.decode()
    assert "What is it?<br>[image 80×60]" in text
    assert "base64" not in text
