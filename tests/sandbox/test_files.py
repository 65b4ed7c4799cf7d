import openai
import pytest

from tests.fixtures.sandbox import jsonl, sample_lines


@pytest.mark.parametrize(
    ("purpose", "name"), [("fine-tune", "train.jsonl"), ("assistants", "notes.md"), ("user_data", "data.csv")]
)
def test_it_stores_an_upload(sandbox_client, purpose, name):
    created = sandbox_client.files.create(file=(name, b"content\n"), purpose=purpose)

    assert created.id.startswith("file-")
    assert (created.filename, created.purpose, created.bytes, created.status) == (name, purpose, 8, "processed")


def test_it_retrieves_a_file_and_its_content(sandbox_client):
    content = jsonl(sample_lines())
    created = sandbox_client.files.create(file=("train.jsonl", content), purpose="fine-tune")

    assert sandbox_client.files.retrieve(created.id).filename == "train.jsonl"
    assert sandbox_client.files.content(created.id).content == content


def test_it_lists_files_by_purpose_newest_first(sandbox_client):
    first = sandbox_client.files.create(file=("a.md", b"a"), purpose="assistants")
    second = sandbox_client.files.create(file=("b.md", b"b"), purpose="assistants")
    sandbox_client.files.create(file=("c.jsonl", b"{}"), purpose="fine-tune")

    listed = [file.id for file in sandbox_client.files.list(purpose="assistants")]

    assert listed == [second.id, first.id]


def test_it_pages_through_files(sandbox_client):
    created = [sandbox_client.files.create(file=(f"{n}.md", b"x"), purpose="assistants").id for n in range(5)]

    first_page = sandbox_client.files.list(limit=2)
    everything = [file.id for file in sandbox_client.files.list(limit=2)]  # the SDK follows the cursor

    assert first_page.has_more is True
    assert everything == list(reversed(created))


def test_it_deletes_a_file(sandbox_client):
    created = sandbox_client.files.create(file=("a.md", b"a"), purpose="assistants")

    deleted = sandbox_client.files.delete(created.id)

    assert (deleted.id, deleted.deleted) == (created.id, True)
    with pytest.raises(openai.NotFoundError):
        sandbox_client.files.retrieve(created.id)


def test_it_refuses_an_unknown_purpose(sandbox_client):
    with pytest.raises(openai.BadRequestError) as caught:
        sandbox_client.files.create(file=("a.md", b"a"), purpose="vision")

    assert caught.value.body["param"] == "purpose"


def test_it_refuses_a_fine_tuning_file_that_is_not_jsonl(sandbox_client):
    with pytest.raises(openai.BadRequestError) as caught:
        sandbox_client.files.create(file=("train.csv", b"a,b"), purpose="fine-tune")

    assert caught.value.body["code"] == "invalid_file_format"
