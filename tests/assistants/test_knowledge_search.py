"""gradcap's own knowledge search: files become passages in our database, found in Russian and
English whatever the word forms, offered to the model as `search_knowledge` (or sent with the
question), and cited — on both wire APIs, through the real SDK against the sandbox."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from assistants import knowledge
from assistants.engine import chat_stream
from assistants.events import CitationAdded, Completed, ToolCalled
from assistants.models import Assistant, KnowledgeFile, Passage
from assistants.passages import file_index, passages_cited, passages_search
from assistants.services import assistant_create
from llm.models import Provider
from tests.fixtures.servers import run_async

LOOPS = """# Loops

A for loop walks over the items of a list, one by one.

## While loops

A while loop repeats its body as long as its condition stays true; break leaves it early.
"""
RUSSIAN = """# Функции

Функция возвращает значение оператором return. Без return функция возвращает None.

# Исключения

Исключение перехватывают блоком try и except; блок finally выполняется всегда.
"""


def _upload(assistant: Assistant, name: str, text: str) -> KnowledgeFile:
    return knowledge.knowledge_file_add(assistant=assistant, upload=SimpleUploadedFile(name, text.encode()), user=None)


def _events(assistant: Assistant, question: str) -> list:
    async def collect():
        history = [{"role": "user", "content": question}]
        return [e async for e in chat_stream(assistant=assistant, history=history)]

    return run_async(collect)


def _reloaded(assistant: Assistant) -> Assistant:
    return Assistant.objects.select_related("provider", "course").get(pk=assistant.pk)


@pytest.fixture
def local_assistant(course, curator) -> Assistant:
    """An assistant on a model server without vector stores: gradcap's search is its only one."""
    provider = Provider.objects.create(
        name="Model server", kind=Provider.Kind.OPENAI_COMPATIBLE, base_url="http://x/v1"
    )
    return assistant_create(course=course, name="Local tutor", provider=provider, model="m", user=curator)


@pytest.fixture(params=Provider.WireApi.values)
def served_assistant(request, asgi_server, course, curator) -> Assistant:
    provider = Provider.objects.create(
        name=f"Sandbox ({request.param})",
        kind=Provider.Kind.SANDBOX,
        base_url=f"{asgi_server.url}/sandbox/v1/",
        wire_api=request.param,
        timeout_seconds=10,
        max_retries=0,
    )
    assistant = assistant_create(
        course=course, name="Tutor", provider=provider, model="gpt-4.1-mini-2025-04-14", user=curator
    )
    assistant.knowledge_search = Assistant.KnowledgeSearch.TOOL  # on Responses the sandbox has hosted search too
    assistant.save()
    _upload(assistant, "loops.md", LOOPS)
    _upload(assistant, "functions-ru.md", RUSSIAN)
    return _reloaded(assistant)


def test_it_an_uploaded_file_is_indexed_at_once_with_its_places(local_assistant):
    uploaded = _upload(local_assistant, "loops.md", LOOPS)
    uploaded.refresh_from_db()
    assert uploaded.status == KnowledgeFile.Status.READY  # nothing to push: the server has no vector stores
    assert uploaded.provider_file_id == ""
    assert uploaded.passage_count == 2 and uploaded.index_progress == 100 and uploaded.indexed_at is not None
    assert list(Passage.objects.filter(knowledge_file=uploaded).values_list("place", flat=True)) == [
        "Loops",
        "While loops",
    ]
    assert _reloaded(local_assistant).has_knowledge


@pytest.mark.parametrize(
    ("question", "place"),
    [
        ("How do I loop over a list?", "Loops"),  # "loop" finds "loops"
        ("repeating while a condition is true", "While loops"),  # "repeating" finds "repeats"
        ("что возвращают функции?", "Функции"),  # "функции", "возвращают" find "функция", "возвращает"
        ("как перехватить исключения", "Исключения"),  # "перехватить" finds "перехватывают"
        ("блоки finally", "Исключения"),
    ],
)
def test_it_finds_passages_in_other_word_forms(local_assistant, question, place):
    _upload(local_assistant, "loops.md", LOOPS)
    _upload(local_assistant, "functions-ru.md", RUSSIAN)
    hits = passages_search(assistant_id=local_assistant.pk, query=question)
    assert hits and hits[0].place == place
    assert hits[0].score >= hits[-1].score


def test_it_searches_only_the_assistants_own_files(local_assistant, course, curator):
    other = assistant_create(course=course, name="Other", provider=local_assistant.provider, model="m", user=curator)
    _upload(other, "loops.md", LOOPS)
    assert passages_search(assistant_id=local_assistant.pk, query="while loop") == []


def test_it_a_deleted_file_is_never_found_again(local_assistant, django_capture_on_commit_callbacks):
    uploaded = _upload(local_assistant, "loops.md", LOOPS)
    with django_capture_on_commit_callbacks(execute=True):
        knowledge.knowledge_file_delete(knowledge_file=uploaded)
    assert passages_search(assistant_id=local_assistant.pk, query="while loop") == []
    assert not KnowledgeFile.objects.filter(pk=uploaded.pk).exists()
    assert not _reloaded(local_assistant).has_knowledge


def test_it_a_file_uploaded_again_replaces_the_old_one(local_assistant):
    old = _upload(local_assistant, "loops.md", LOOPS)
    _upload(local_assistant, "loops.md", "# Loops\n\nLoops are explained in the next lesson.")
    old.refresh_from_db()
    assert old.status == KnowledgeFile.Status.DELETING
    hits = passages_search(assistant_id=local_assistant.pk, query="while loop condition")
    assert [hit.text for hit in hits] == ["Loops\n\nLoops are explained in the next lesson."]


def test_it_a_large_file_is_indexed_by_the_worker_with_progress(local_assistant, settings):
    settings.KNOWLEDGE_INLINE_INDEX_BYTES = 1000
    paragraph = "Lists keep items in order. " * 20  # 102 words a part: one passage each
    uploaded = _upload(local_assistant, "big.txt", "\n\n".join(f"Part {i}. {paragraph}" for i in range(450)))
    uploaded.refresh_from_db()
    assert uploaded.status == KnowledgeFile.Status.PENDING and uploaded.indexed_at is None
    assert passages_search(assistant_id=local_assistant.pk, query="lists") == []  # not searchable half-done
    seen = []
    file_index(knowledge_file=uploaded, on_progress=seen.append)
    assert seen == sorted(seen) and len(seen) > 1 and seen[-1] == 100 and seen[0] < 100
    knowledge.knowledge_file_push(knowledge_file_id=uploaded.pk)  # the worker's task: indexed, nothing to push
    uploaded.refresh_from_db()
    assert uploaded.status == KnowledgeFile.Status.READY and uploaded.passage_count == 450
    assert passages_search(assistant_id=local_assistant.pk, query="lists")


def test_it_a_file_that_cannot_be_read_fails_with_the_reason(local_assistant):
    uploaded = knowledge.knowledge_file_add(
        assistant=local_assistant, upload=SimpleUploadedFile("broken.pdf", b"%PDF-1.4 not really"), user=None
    )
    uploaded.refresh_from_db()
    assert uploaded.status == KnowledgeFile.Status.FAILED
    assert "could not be read" in uploaded.error
    assert not Passage.objects.filter(knowledge_file=uploaded).exists()


def test_it_the_answer_cites_the_passages_it_marks_or_else_the_one_it_quotes():
    passages = [
        {"n": 1, "passage_id": 10, "file_id": 1, "filename": "a.md", "place": "", "text": "Loops repeat code."},
        {"n": 2, "passage_id": 11, "file_id": 2, "filename": "b.md", "place": "", "text": "A while loop repeats "
         "its body as long as its condition stays true."},
    ]  # fmt: skip
    marked = passages_cited("While loops repeat [2].", passages)
    assert [(c["number"], c["filename"], c["marked"]) for c in marked] == [(2, "b.md", True)]
    quoted = passages_cited("It repeats its body as long as the condition stays true.", passages)
    assert [(c["number"], c["marked"]) for c in quoted] == [(2, False)]
    assert passages_cited("I do not know.", passages) == []


def test_it_the_model_searches_and_cites_the_right_file(served_assistant):
    events = _events(served_assistant, "How does a while loop work?")
    done = events[-1]
    assert isinstance(done, Completed), done
    called = [e for e in events if isinstance(e, ToolCalled)]
    assert [c.name for c in called] == ["search_knowledge"]
    assert called[0].output["results"][0]["file"] == "loops.md"
    citations = [e for e in events if isinstance(e, CitationAdded)]
    assert [c.filename for c in citations] == ["loops.md"]
    assert citations[0].passage_id and "while loop" in citations[0].quote
    assert f"[{citations[0].number}]" in done.turn.text and "condition" in done.turn.text
    assert done.turn.search_results[0]["query"] == "How does a while loop work?"
    assert done.turn.search_results[0]["filename"] == "loops.md"


def test_it_a_russian_question_finds_the_russian_lesson(served_assistant):
    done = _events(served_assistant, "Что делает блок finally?")[-1]
    assert isinstance(done, Completed)
    assert [c["filename"] for c in done.turn.citations] == ["functions-ru.md"]
    assert "finally" in done.turn.text


def test_it_in_context_mode_the_passages_go_with_the_question(served_assistant):
    served_assistant.knowledge_search = Assistant.KnowledgeSearch.CONTEXT
    events = _events(served_assistant, "How does a while loop work?")
    done = events[-1]
    assert isinstance(done, Completed)
    assert not [e for e in events if isinstance(e, ToolCalled)]  # no tool: the passages were sent
    assert "] loops.md — While loops\nWhile loops\nA while loop repeats" in done.turn.question_sent
    assert done.turn.question_sent.endswith("Question: How does a while loop work?")
    assert [c["filename"] for c in done.turn.citations] == ["loops.md"]
    assert "repeats its body" in done.turn.text  # the sandbox read the passage it was sent


def test_it_a_deleted_file_is_never_cited_again(served_assistant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        knowledge.knowledge_file_delete(knowledge_file=served_assistant.knowledge_files.get(name="loops.md"))
    done = _events(_reloaded(served_assistant), "How does a while loop work?")[-1]
    assert isinstance(done, Completed)
    assert all(c["filename"] != "loops.md" for c in done.turn.citations)
    assert "loops.md" not in done.turn.text


def test_it_without_knowledge_files_no_search_is_offered(local_assistant):
    local_assistant.provider.base_url = "http://127.0.0.1:9/v1"
    assistant = _reloaded(local_assistant)
    assert assistant.knowledge_mode == Assistant.KnowledgeSearch.TOOL and not assistant.has_knowledge


def test_it_a_rare_word_outranks_a_common_one(local_assistant):
    common = "\n\n".join(f"# Ошибка {i}\n\nОшибка, ошибка и снова ошибка в строке {i}." for i in range(12))
    _upload(local_assistant, "errors.md", common)
    _upload(local_assistant, "recursion.md", "# Рекурсия\n\nОшибка RecursionError: превышена глубина рекурсии.")
    hits = passages_search(assistant_id=local_assistant.pk, query="ошибка глубины рекурсии")
    assert hits[0].filename == "recursion.md"


def test_it_the_word_statistics_follow_the_files(local_assistant, settings):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's FTS5 keeps its own statistics")
    from assistants.models import PassageLexeme
    from assistants.passages import index_statistics_refresh

    def statistics() -> dict[str, int]:
        return dict(PassageLexeme.objects.filter(assistant=local_assistant).values_list("lexeme", "ndoc"))

    loops = _upload(local_assistant, "loops.md", LOOPS)
    _upload(local_assistant, "functions-ru.md", RUSSIAN)
    kept = statistics()
    assert kept[""] == 4 and kept["loop"] == 2 and kept["функц"] == 1
    index_statistics_refresh(local_assistant.pk)
    assert statistics() == kept  # the changes add up to a recount
    knowledge.knowledge_file_delete(knowledge_file=loops)
    assert statistics()[""] == 2 and "loop" not in statistics()
    index_statistics_refresh(local_assistant.pk)
    assert statistics()[""] == 2 and "loop" not in statistics()

    # A worker killed while indexing leaves passages that were never counted: indexing again counts once.
    settings.KNOWLEDGE_INLINE_INDEX_BYTES = 10
    big = _upload(local_assistant, "big.md", LOOPS)
    Passage.objects.create(knowledge_file=big, assistant=local_assistant, position=0, text="A for loop", terms="loop")
    file_index(knowledge_file=big)  # the task again, after the worker died with one batch written
    counted = statistics()
    index_statistics_refresh(local_assistant.pk)
    assert counted == statistics() and counted[""] == 4
