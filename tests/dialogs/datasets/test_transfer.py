# ruff: noqa: F811 -- the fixtures imported from dataset_fixtures are parameters of the tests
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from courses.models import Membership
from dialogs.datasets import edits, lines, transfer
from dialogs.datasets import services as curation
from dialogs.models import Dataset, Example, Transfer
from llm.catalog import get_model
from llm.tokens import count_messages
from tests.conftest import add_member, make_user, stalled
from tests.dialogs.datasets.dataset_fixtures import INSTRUCTIONS, assistant, dataset, demo_rows, fill  # noqa: F401 -- fixtures
from trainingfiles.validation import validate_dataset

pytestmark = pytest.mark.django_db


def _jsonl(rows) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


def _export(client, dataset, format="supervised", split="") -> bytes:
    url = reverse("dialogs:dataset_export", args=[dataset.course.slug, dataset.pk])
    response = client.get(url, {"format": format, "split": split})
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content)


def _upload(client, dataset, content: bytes, name="examples.jsonl"):
    url = reverse("dialogs:dataset_import", args=[dataset.course.slug, dataset.pk])
    return client.post(url, {"file": SimpleUploadedFile(name, content)}, follow=True)


def _confirm(client, dataset, transfer_row):
    url = reverse("dialogs:dataset_import_confirm", args=[dataset.course.slug, dataset.pk, transfer_row.pk])
    return client.post(url, follow=True)


@pytest.fixture
def filled(dataset, curator):
    examples = fill(dataset, demo_rows(12), curator)
    # A rewritten answer (a DPO pair), a draft (never exported) and a hand-set split.
    curation.example_change(
        example=examples[2],
        version=1,
        user=curator,
        change=edits.set_content(3, "Use `enumerate(items)`, it counts."),
    )
    curation.example_change(example=examples[5], version=1, user=curator, change=edits.set_split("validation"))
    dataset.examples.create(messages=[{"role": "user", "content": "A draft"}])
    return dataset


def _assert_follows_the_guide(line: str) -> None:
    """OpenAI's chat fine-tuning format, checked by hand rule by rule (not through validation.py)."""
    row = json.loads(line)
    assert isinstance(row, dict)
    assert set(row) <= {"messages", "tools", "parallel_tool_calls"}
    messages = row["messages"]
    assert isinstance(messages, list) and messages
    calls: set[str] = set()
    for message in messages:
        assert set(message) <= {"role", "content", "name", "weight", "tool_calls", "tool_call_id"}
        assert message["role"] in {"system", "developer", "user", "assistant", "tool"}
        if message["role"] == "assistant" and "tool_calls" in message:
            for call in message["tool_calls"]:
                assert call["type"] == "function" and call["id"] and call["function"]["name"]
                json.loads(call["function"]["arguments"])
                calls.add(call["id"])
        else:
            assert isinstance(message["content"], str) and message["content"].strip()
        if "weight" in message:
            assert message["role"] == "assistant" and message["weight"] in (0, 1)
        if message["role"] == "tool":
            assert message["tool_call_id"] in calls
    assert any(m["role"] == "assistant" and m.get("weight", 1) == 1 for m in messages)
    if any("tool_calls" in m for m in messages):
        declared = {tool["function"]["name"] for tool in row["tools"]}
        assert {c["function"]["name"] for m in messages for c in m.get("tool_calls", [])} <= declared
    assert count_messages(messages) <= 65_536


def test_it_the_export_passes_openais_checks_and_round_trips_unchanged(client, curator, course, filled):
    client.force_login(curator)
    exported = _export(client, filled)
    lines = exported.decode().splitlines()
    assert len(lines) == 12  # the draft stays out
    for line in lines:
        _assert_follows_the_guide(line)
    report = validate_dataset(enumerate(json.loads(line) for line in lines), base_model=get_model("gpt-4.1-mini"))
    assert report.error_count == 0
    assert "original" not in exported.decode()

    copy = curation.dataset_create(course=course, name="Copy", user=curator)
    preview = _upload(client, copy, exported)
    assert "The file holds 12 examples, and they are valid." in preview.content.decode()
    upload = Transfer.objects.get(dataset=copy)
    response = _confirm(client, copy, upload)
    assert "Imported 12 examples." in response.content.decode()
    assert copy.examples.count() == 12
    assert _export(client, copy) == exported


def test_it_exports_each_format_and_split(client, curator, filled):
    client.force_login(curator)
    ready = list(filled.examples.filter(status=Example.Status.READY).order_by("pk"))
    validation = {e.pk for e in ready if lines.split_of(e, filled.validation_percent) == "validation"}
    assert 0 < len(validation) < 12
    for format in ("supervised", "hf_chat"):
        whole = _export(client, filled, format).decode().splitlines()
        train = _export(client, filled, format, "train").decode().splitlines()
        valid = _export(client, filled, format, "validation").decode().splitlines()
        assert len(whole) == 12 and len(valid) == len(validation) and len(train) == 12 - len(validation)
        assert sorted(train + valid) == sorted(whole)
    hf = [json.loads(line) for line in _export(client, filled, "hf_chat").decode().splitlines()]
    assert all("weight" not in m for row in hf for m in row["messages"])
    assert hf[0]["messages"][0] == {"role": "system", "content": INSTRUCTIONS}
    assert hf[0]["messages"][2]["tool_calls"][0]["function"]["arguments"] == {}  # decoded for chat templates
    dpo = [json.loads(line) for line in _export(client, filled, "dpo").decode().splitlines()]
    assert len(dpo) == 1
    assert set(dpo[0]) == {"input", "preferred_output", "non_preferred_output"}
    assert dpo[0]["preferred_output"] == [{"role": "assistant", "content": "Use `enumerate(items)`, it counts."}]
    assert dpo[0]["non_preferred_output"] == [{"role": "assistant", "content": "Use `enumerate(items)`."}]


def test_it_streams_with_a_filename_and_a_content_type(client, curator, filled):
    client.force_login(curator)
    url = reverse("dialogs:dataset_export", args=[filled.course.slug, filled.pk])
    response = client.get(url, {"format": "dpo", "split": "validation"})
    assert response.streaming
    assert response["Content-Type"] == "application/jsonl; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="tutor-examples-dpo-validation.jsonl"'
    assert client.get(url, {"format": "csv"}).status_code == 404


@override_settings(DATASET_BACKGROUND_EXAMPLES=5)
def test_it_a_large_export_runs_in_the_background_with_progress(
    client, curator, filled, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(lines, "PROGRESS_EVERY", 4)
    streamed = b"".join(transfer.export_lines(filled, format="supervised", split="train"))
    client.force_login(curator)
    url = reverse("dialogs:dataset_export", args=[filled.course.slug, filled.pk])
    page = reverse("dialogs:dataset", args=[filled.course.slug, filled.pk])
    assert client.get(url, {"format": "supervised"})["Location"] == page + "#export"
    assert "Prepare" in client.get(page).content.decode()

    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"format": "supervised", "split": "train"})
    assert response.status_code == 302
    progress = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "dialogs_transfer" SET "done"')]
    assert len(progress) >= 3  # started, then every 4 examples read

    export = Transfer.objects.get(dataset=filled, kind=Transfer.Kind.EXPORT)
    assert (export.status, export.done, export.total, export.percent) == ("done", 12, 12, 100)
    polled = client.get(
        reverse("dialogs:dataset_transfer", args=[filled.course.slug, filled.pk, export.pk]),
        headers={"HX-Request": "true"},
    )
    assert "hx-trigger" not in polled.content.decode()  # finished: polling stops
    assert "Download" in polled.content.decode()
    download = client.get(reverse("dialogs:dataset_download", args=[filled.course.slug, filled.pk, export.pk]))
    assert download["Content-Disposition"] == 'attachment; filename="tutor-examples-supervised-train.jsonl"'
    assert b"".join(download.streaming_content) == streamed


def test_it_a_running_transfer_is_polled_every_second(client, curator, dataset):
    Transfer.objects.create(
        kind=Transfer.Kind.EXPORT, dataset=dataset, format="supervised", status="running", done=3, total=12
    )
    client.force_login(curator)
    html = client.get(reverse("dialogs:dataset", args=[dataset.course.slug, dataset.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert '<progress value="3" max="12"' in html and "25%" in html


def test_it_previews_and_imports_a_file(client, curator, dataset):
    client.force_login(curator)
    rows = demo_rows(7)
    rows[0]["messages"][0]["content"] = "<script>alert('x')</script>"
    response = _upload(client, dataset, _jsonl(rows))
    html = response.content.decode()
    assert "The file holds 7 examples, and they are valid." in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html and "<script>alert" not in html
    assert dataset.examples.count() == 0  # nothing before the confirmation

    upload = Transfer.objects.get(dataset=dataset)
    response = _confirm(client, dataset, upload)
    assert "Imported 7 examples." in response.content.decode()
    examples = list(dataset.examples.order_by("pk"))
    assert [e.status for e in examples] == ["ready"] * 7
    assert all(e.token_count > 0 and e.error_count == 0 for e in examples)
    assert examples[1].system_overridden and examples[1].system == "Отвечай по-русски."
    upload.refresh_from_db()
    assert upload.status == "done" and not upload.file  # the upload is not kept after the import
    assert _confirm(client, dataset, upload).status_code == 200 and dataset.examples.count() == 7  # not twice


def test_it_imports_csv(client, curator, dataset):
    client.force_login(curator)
    csv = "question;answer;system\nЧто такое цикл?;Повторение.;Отвечай кратко.\nWhat is a loop?;Repetition.;\n"
    _upload(client, dataset, csv.encode(), name="faq.csv")
    _confirm(client, dataset, Transfer.objects.get(dataset=dataset))
    first, second = dataset.examples.order_by("pk")
    assert first.system == "Отвечай кратко." and first.messages == [
        {"role": "user", "content": "Что такое цикл?"},
        {"role": "assistant", "content": "Повторение."},
    ]
    assert not second.system_overridden


def test_it_a_file_with_one_bad_line_names_it_and_imports_nothing(client, curator, dataset):
    client.force_login(curator)
    content = (
        _jsonl(demo_rows(2)) + b'{"messages": [{"role": "user", "content": "No answer"}]}\n' + _jsonl(demo_rows(1))
    )
    html = _upload(client, dataset, content).content.decode()
    assert "Nothing can be imported from this file." in html
    assert "Line 3: The example has no assistant message to learn from." in html
    assert "Import 3 examples" not in html
    upload = Transfer.objects.get(dataset=dataset)
    _confirm(client, dataset, upload)  # forced anyway
    upload.refresh_from_db()
    assert upload.status == "failed" and "Line 3" in upload.error
    assert dataset.examples.count() == 0


def test_it_an_oversized_or_unknown_file_is_refused_clearly(client, curator, dataset):
    client.force_login(curator)
    with override_settings(DATASET_IMPORT_MAX_BYTES=200):
        html = _upload(client, dataset, _jsonl(demo_rows(3))).content.decode()
    assert "the largest file an import accepts is 200" in html
    html = _upload(client, dataset, b"question,answer\n", name="data.xlsx").content.decode()
    assert "Choose a .jsonl file" in html
    assert not Transfer.objects.exists()


def test_it_preference_pairs_are_not_imported_as_examples(client, curator, dataset):
    client.force_login(curator)
    pair = {
        "input": {"messages": [{"role": "user", "content": "Hi"}]},
        "preferred_output": [{"role": "assistant", "content": "Hello!"}],
        "non_preferred_output": [{"role": "assistant", "content": "What?"}],
    }
    html = _upload(client, dataset, _jsonl([pair])).content.decode()
    assert "a dataset imports chat examples only" in html


@override_settings(DATASET_BACKGROUND_EXAMPLES=5)
def test_it_a_large_import_runs_in_the_background_with_progress(
    client, curator, dataset, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(curation, "PROGRESS_EVERY", 4)
    client.force_login(curator)
    _upload(client, dataset, _jsonl(demo_rows(12)))
    upload = Transfer.objects.get(dataset=dataset)
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        response = _confirm(client, dataset, upload)
    assert response.redirect_chain[-1][0].endswith(f"/transfers/{upload.pk}/")
    progress = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "dialogs_transfer" SET "done"')]
    assert len(progress) >= 3
    upload.refresh_from_db()
    assert (upload.status, upload.done, upload.total, upload.percent) == ("done", 12, 12, 100)
    assert dataset.examples.count() == 12
    polled = client.get(
        reverse("dialogs:dataset_transfer", args=[dataset.course.slug, dataset.pk, upload.pk]),
        headers={"HX-Request": "true"},
    )
    assert polled.headers["HX-Refresh"] == "true"  # the page reloads to show the new examples
    transfer.transfer_run(upload.pk)  # delivered twice: nothing happens twice
    assert dataset.examples.count() == 12


class Killed(BaseException):
    """The worker died here: nothing after this point runs, not even exception handlers."""


@override_settings(DATASET_BACKGROUND_EXAMPLES=5)
def test_it_an_import_whose_worker_is_killed_midway_is_done_whole_by_the_next_delivery(curator, dataset, monkeypatch):
    monkeypatch.setattr(curation, "PROGRESS_EVERY", 2)
    upload = transfer.transfer_upload(
        dataset=dataset, upload=SimpleUploadedFile("mine.jsonl", _jsonl(demo_rows(8))), user=curator
    )
    transfer.transfer_import_confirm(transfer=upload)  # queued for the worker
    progress = transfer._progress

    def killed_at_four(job, done, **fields):
        progress(job, done, **fields)
        if done >= 4:
            raise Killed

    monkeypatch.setattr(transfer, "_progress", killed_at_four)
    with pytest.raises(Killed):
        transfer.transfer_run(upload.pk)
    upload.refresh_from_db()
    assert (upload.status, upload.done, dataset.examples.count()) == ("running", 4, 0)

    monkeypatch.setattr(transfer, "_progress", progress)
    assert transfer.transfers_recover() == 0  # its last sign of life is recent
    Transfer.objects.filter(pk=upload.pk).update(updated_at=stalled())  # time passes
    # The sweep queues the task again (tests run tasks inline), as the ORM broker would deliver
    # it again by itself, and as the Redis broker, which loses it, would not.
    assert transfer.transfers_recover() == 1

    upload.refresh_from_db()
    assert (upload.status, upload.done, upload.total, upload.error) == ("done", 8, 8, "")
    assert dataset.examples.count() == 8
    transfer.transfer_run(upload.pk)  # a late duplicate delivery changes nothing
    assert dataset.examples.count() == 8


# Access ----------------------------------------------------------------------------------------


def _urls(dataset, example, export, upload) -> list[tuple[str, tuple[str, ...]]]:
    slug, pk = dataset.course.slug, dataset.pk
    return [
        (reverse("dialogs:dataset", args=[slug, pk]), ("get",)),
        (reverse("dialogs:dataset_settings", args=[slug, pk]), ("post",)),
        (reverse("dialogs:dataset_redact_all", args=[slug, pk]), ("post",)),
        (reverse("dialogs:dataset_revalidate", args=[slug, pk]), ("post",)),
        (reverse("dialogs:dataset_revalidation", args=[slug, pk]), ("get",)),
        (reverse("dialogs:dataset_split", args=[slug, pk, example.pk]), ("post",)),
        (reverse("dialogs:dataset_redact", args=[slug, pk, example.pk]), ("post",)),
        (reverse("dialogs:dataset_export", args=[slug, pk]) + "?format=supervised&split=", ("get", "post")),
        (reverse("dialogs:dataset_import", args=[slug, pk]), ("post",)),
        (reverse("dialogs:dataset_transfer", args=[slug, pk, upload.pk]), ("get",)),
        (reverse("dialogs:dataset_transfer", args=[slug, pk, export.pk]), ("get",)),
        (reverse("dialogs:dataset_import_confirm", args=[slug, pk, upload.pk]), ("post",)),
        (reverse("dialogs:dataset_download", args=[slug, pk, export.pk]), ("get",)),
    ]


@pytest.fixture
def transfers(dataset, curator, filled):
    client_upload = SimpleUploadedFile("mine.jsonl", _jsonl(demo_rows(2)))
    upload = transfer.transfer_upload(dataset=dataset, upload=client_upload, user=curator)
    export = transfer.transfer_export_start(dataset=dataset, format="supervised", split="", user=curator)
    transfer.transfer_export_run(export)
    return export, upload


@pytest.mark.parametrize("who", ["learner", "other_curator", "stranger"])
def test_it_non_curators_of_the_course_get_404_everywhere(client, request, dataset, transfers, who):
    export, upload = transfers
    client.force_login(request.getfixturevalue(who))
    example = dataset.examples.first()
    data = {"format": "supervised", "split": "", "version": 1, "name": "x", "validation_percent": 10}
    for url, methods in _urls(dataset, example, export, upload):
        for method in ("get", "post"):
            response = getattr(client, method)(url, data if method == "post" else None)
            expected = 404 if method in methods else 405
            assert response.status_code == expected, (who, method, url)
    example.refresh_from_db()
    assert example.version == 1 and Dataset.objects.get(pk=dataset.pk).name == "Tutor examples"


def test_it_a_visitor_is_sent_to_log_in(client, dataset, transfers):
    export, upload = transfers
    for url, methods in _urls(dataset, dataset.examples.first(), export, upload):
        response = getattr(client, methods[0])(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_another_courses_curator_cannot_reach_a_transfer_through_their_own_dataset(
    client, dataset, transfers, other_course, other_curator
):
    export, upload = transfers
    theirs = curation.dataset_create(course=other_course, name="Theirs", user=other_curator)
    client.force_login(other_curator)
    for name, transfer_row in (("dialogs:dataset_download", export), ("dialogs:dataset_transfer", upload)):
        assert client.get(reverse(name, args=[other_course.slug, theirs.pk, transfer_row.pk])).status_code == 404
    confirm = reverse("dialogs:dataset_import_confirm", args=[other_course.slug, theirs.pk, upload.pk])
    assert client.post(confirm).status_code == 404
    assert not theirs.examples.exists()


def test_it_an_upload_waiting_for_confirmation_is_its_uploaders_alone(client, course, dataset, transfers):
    export, upload = transfers
    colleague = make_user("colleague@example.com")
    add_member(colleague, course, Membership.Role.CURATOR)
    client.force_login(colleague)
    slug = course.slug
    assert client.get(reverse("dialogs:dataset_transfer", args=[slug, dataset.pk, upload.pk])).status_code == 404
    assert client.post(reverse("dialogs:dataset_import_confirm", args=[slug, dataset.pk, upload.pk])).status_code == 404
    assert client.get(reverse("dialogs:dataset_download", args=[slug, dataset.pk, export.pk])).status_code == 200


def test_it_the_demo_datasets_export_passes_openais_checks_and_round_trips(client, db):
    from django.core.management import call_command

    from accounts.demo import CURATOR_EMAIL
    from accounts.models import User
    from dialogs.demo import DATASET_NAME
    from dialogs.models import Dataset

    call_command("demo_data")
    demo = Dataset.objects.get(name=DATASET_NAME)
    curator = User.objects.get(email=CURATOR_EMAIL)
    client.force_login(curator)
    exported = _export(client, demo)
    lines = exported.decode().splitlines()
    assert len(lines) == demo.examples.filter(status=Example.Status.READY).count() >= 12
    for line in lines:
        _assert_follows_the_guide(line)
    report = validate_dataset(enumerate(json.loads(line) for line in lines), base_model=get_model(demo.base_model))
    assert report.error_count == 0

    copy = curation.dataset_create(course=demo.course, name="Demo copy", user=curator, assistant=demo.assistant)
    _upload(client, copy, exported)
    _confirm(client, copy, Transfer.objects.get(dataset=copy))
    assert _export(client, copy) == exported
