import io

import docx
import openai
import pytest

LOOPS = b"A for loop repeats a block for every item of a sequence. A while loop repeats while a condition holds."
EXAMS = b"The exam lasts two hours. Calculators are allowed in the exam."


def _upload(client, name: str, content: bytes):
    return client.files.create(file=(name, content), purpose="assistants")


def _minimal_pdf(text: str) -> bytes:
    """A one-page PDF with `text` in Helvetica, built by hand (pypdf reads, it does not write text)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    pdf, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return pdf + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def _docx(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_it_creates_a_store_with_files(sandbox_client):
    loops = _upload(sandbox_client, "loops.md", LOOPS)

    store = sandbox_client.vector_stores.create(name="Course", file_ids=[loops.id], metadata={"course": "py"})

    assert store.id.startswith("vs_")
    assert (store.status, store.file_counts.completed, store.file_counts.total) == ("completed", 1, 1)
    assert store.usage_bytes > 0
    assert sandbox_client.vector_stores.retrieve(store.id).metadata == {"course": "py"}


def test_it_lists_updates_and_deletes_stores(sandbox_client):
    first = sandbox_client.vector_stores.create(name="First")
    second = sandbox_client.vector_stores.create(name="Second")

    listed = [store.id for store in sandbox_client.vector_stores.list().data]
    renamed = sandbox_client.vector_stores.update(first.id, name="Renamed")
    deleted = sandbox_client.vector_stores.delete(second.id)

    assert listed == [second.id, first.id]
    assert renamed.name == "Renamed"
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        sandbox_client.vector_stores.retrieve(second.id)


def test_it_adds_lists_retrieves_and_removes_store_files(sandbox_client):
    store = sandbox_client.vector_stores.create(name="Course")
    loops = _upload(sandbox_client, "loops.md", LOOPS)

    added = sandbox_client.vector_stores.files.create(
        vector_store_id=store.id, file_id=loops.id, attributes={"week": 2}
    )
    listed = sandbox_client.vector_stores.files.list(vector_store_id=store.id).data
    retrieved = sandbox_client.vector_stores.files.retrieve(file_id=loops.id, vector_store_id=store.id)
    removed = sandbox_client.vector_stores.files.delete(file_id=loops.id, vector_store_id=store.id)

    assert (added.id, added.status, added.vector_store_id) == (loops.id, "completed", store.id)
    assert [f.id for f in listed] == [loops.id]
    assert retrieved.attributes == {"week": 2}
    assert removed.deleted is True
    assert sandbox_client.vector_stores.files.list(vector_store_id=store.id).data == []


def test_it_adds_files_in_a_batch(sandbox_client):
    store = sandbox_client.vector_stores.create(name="Course")
    ids = [_upload(sandbox_client, "loops.md", LOOPS).id, _upload(sandbox_client, "exams.txt", EXAMS).id]

    batch = sandbox_client.vector_stores.file_batches.create_and_poll(vector_store_id=store.id, file_ids=ids)
    files = sandbox_client.vector_stores.file_batches.list_files(batch_id=batch.id, vector_store_id=store.id).data

    assert (batch.status, batch.file_counts.completed) == ("completed", 2)
    assert sorted(f.id for f in files) == sorted(ids)


def test_it_ranks_search_results_with_bm25(sandbox_client):
    loops, exams = _upload(sandbox_client, "loops.md", LOOPS), _upload(sandbox_client, "exams.txt", EXAMS)
    store = sandbox_client.vector_stores.create(name="Course", file_ids=[loops.id, exams.id])

    results = sandbox_client.vector_stores.search(store.id, query="Are calculators allowed in the exam?").data

    assert [r.filename for r in results] == ["exams.txt"]
    assert results[0].content[0].text.startswith("The exam lasts two hours.")
    assert 0 < results[0].score <= 1


def test_it_limits_search_results(sandbox_client):
    files = [_upload(sandbox_client, f"loop{n}.txt", LOOPS).id for n in range(3)]
    store = sandbox_client.vector_stores.create(name="Loops", file_ids=files)

    assert len(sandbox_client.vector_stores.search(store.id, query="while loop", max_num_results=2).data) == 2


def test_it_chunks_long_text_with_a_static_strategy(sandbox_client):
    text = " ".join(f"Sentence {n} talks about topic{n}." for n in range(300)).encode()
    long = _upload(sandbox_client, "long.txt", text)
    store = sandbox_client.vector_stores.create(
        name="Long",
        file_ids=[long.id],
        chunking_strategy={"type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 50}},
    )

    result = sandbox_client.vector_stores.search(store.id, query="topic250").data[0]

    assert "topic250" in result.content[0].text
    assert len(result.content[0].text) < len(text) / 5


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.txt", b"Photosynthesis happens in chloroplasts."),
        ("notes.md", b"# Biology\n\nPhotosynthesis happens in chloroplasts."),
        ("notes.csv", b"topic,place\nphotosynthesis,chloroplasts\n"),
        ("notes.json", b'{"photosynthesis": "chloroplasts"}'),
        ("notes.html", b"<html><script>var chloroplasts = 0;</script><p>Photosynthesis: chloroplasts</p></html>"),
        ("notes.pdf", _minimal_pdf("Photosynthesis happens in chloroplasts.")),
        ("notes.docx", _docx("Photosynthesis happens in chloroplasts.")),
    ],
)
def test_it_reads_text_out_of_documents(sandbox_client, name, content):
    store = sandbox_client.vector_stores.create(name="Docs", file_ids=[_upload(sandbox_client, name, content).id])

    results = sandbox_client.vector_stores.search(store.id, query="photosynthesis").data

    assert results[0].filename == name
    assert "chloroplasts" in results[0].content[0].text.lower()
    assert "var chloroplasts" not in results[0].content[0].text  # scripts are not text


def test_it_marks_an_unsupported_file_failed(sandbox_client):
    image = _upload(sandbox_client, "photo.png", b"\x89PNG\r\n")

    store = sandbox_client.vector_stores.create(name="Images", file_ids=[image.id])
    store_file = sandbox_client.vector_stores.files.retrieve(file_id=image.id, vector_store_id=store.id)

    assert store.file_counts.failed == 1
    assert (store_file.status, store_file.last_error.code) == ("failed", "unsupported_file")
