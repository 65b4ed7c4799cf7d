"""gradcap's own knowledge index: knowledge files as passages in our database, searched with the
database's full-text search (SQLite FTS5 over Snowball stems, PostgreSQL's `russian`
configuration, which stems English words too). It works for every model and provider; the
engine offers it as the `search_knowledge` tool or sends its best passages with the question.

A file's passages are searchable once it is indexed (`indexed_at`); deleting a file removes its
passages in the same transaction, so it is never cited again.
"""

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from knowledge.documents import document_sections, passages_split
from knowledge.terms import terms

from .models import Assistant, KnowledgeFile, Passage

SEARCH_RESULTS = 5
INDEX_BATCH = 200
QUOTE_CHARS = 300
_MARKER = re.compile(r"\[(\d{1,2})\]")


@dataclass(frozen=True)
class PassageHit:
    passage_id: int
    file_id: int
    filename: str
    place: str
    text: str
    score: float


# Indexing ----------------------------------------------------------------------------------


def file_index(*, knowledge_file: KnowledgeFile, on_progress: Callable[[int], None] | None = None) -> int:
    """Cut the file into passages and index them, replacing what was indexed before.

    Raises knowledge.documents.UnsupportedFile (or the reader's own error) for a file that cannot be
    read; nothing is changed then. Inside a caller's transaction everything commits with it; the
    worker (`on_progress` given) writes in batches and reports the share done, and the passages
    become searchable with the last batch.
    """
    with knowledge_file.file.open("rb") as handle:
        pieces = passages_split(document_sections(filename=knowledge_file.name, content=handle.read()))
    with transaction.atomic():
        _passages_remove(knowledge_file)
    rows = [
        Passage(
            knowledge_file=knowledge_file,
            assistant_id=knowledge_file.assistant_id,
            position=position,
            place=piece.place[:200],
            text=piece.text,
            terms=" ".join(terms(piece.text)),
        )
        for position, piece in enumerate(pieces)
    ]
    for start in range(0, len(rows), INDEX_BATCH):
        with transaction.atomic():
            Passage.objects.bulk_create(rows[start : start + INDEX_BATCH])
            done = min(len(rows), start + INDEX_BATCH)
            last = done == len(rows)
            KnowledgeFile.objects.filter(pk=knowledge_file.pk).update(
                passage_count=done,
                index_progress=100 if last else done * 100 // len(rows),
                indexed_at=timezone.now() if last else None,
                updated_at=timezone.now(),
            )
            if last:  # searchable from now on: its words count in the statistics from now on
                _statistics_change(knowledge_file, +1)
        if on_progress is not None:
            on_progress(done * 100 // len(rows))
    if not rows:
        KnowledgeFile.objects.filter(pk=knowledge_file.pk).update(index_progress=100, indexed_at=timezone.now())
    knowledge_file.refresh_from_db(fields=["passage_count", "index_progress", "indexed_at"])
    assistant_knowledge_recount(knowledge_file.assistant_id)
    return len(rows)


def file_unindex(*, knowledge_file: KnowledgeFile) -> None:
    """Take the file out of search now (in the caller's transaction)."""
    _passages_remove(knowledge_file)
    assistant_knowledge_recount(knowledge_file.assistant_id)


def _passages_remove(knowledge_file: KnowledgeFile) -> None:
    """The file's passages go, and with them its words from the statistics, if they were counted
    (a file the worker was killed while indexing has passages that never were)."""
    indexed = KnowledgeFile.objects.filter(pk=knowledge_file.pk, indexed_at__isnull=False).exists()
    if indexed:
        _statistics_change(knowledge_file, -1)
    Passage.objects.filter(knowledge_file=knowledge_file).delete()
    KnowledgeFile.objects.filter(pk=knowledge_file.pk).update(indexed_at=None, passage_count=0, index_progress=0)


def assistant_knowledge_recount(assistant_id: int) -> None:
    """`Assistant.has_knowledge`: whether any of its files is searchable."""
    searchable = _searchable(Passage.objects.filter(assistant_id=OuterRef("pk")))
    Assistant.objects.filter(pk=assistant_id).update(has_knowledge=Exists(searchable))


def searchable_passages():
    """Passages of files that are indexed and not being deleted: what search finds and citations show."""
    return _searchable(Passage.objects.all())


def _searchable(passages):
    return passages.filter(knowledge_file__indexed_at__isnull=False).exclude(
        knowledge_file__status=KnowledgeFile.Status.DELETING
    )


# Searching ---------------------------------------------------------------------------------


def passages_search(*, assistant_id: int, query: str, limit: int = SEARCH_RESULTS) -> list[PassageHit]:
    """The assistant's passages that best answer `query`, best first, with their scores."""
    rank = _ranked_sqlite if connection.vendor == "sqlite" else _ranked_postgresql
    ranked = rank(assistant_id, query, limit)  # of searchable files only
    if not ranked:
        return []
    passages = Passage.objects.select_related("knowledge_file").in_bulk([pk for pk, _score in ranked])
    return [
        PassageHit(
            passage_id=pk,
            file_id=passages[pk].knowledge_file_id,
            filename=passages[pk].knowledge_file.name,
            place=passages[pk].place,
            text=passages[pk].text,
            score=round(score, 4),
        )
        for pk, score in ranked
        if pk in passages
    ]


# FTS5 filters by the assistant itself (a column of the index that weighs nothing in bm25) and
# ranks every match; the few best are then checked against their files (indexed, not deleting).
_SQLITE_SEARCH = """
    SELECT p.id, -r.rank AS score
    FROM (
        SELECT rowid, rank FROM assistants_passage_fts WHERE assistants_passage_fts MATCH %s ORDER BY rank LIMIT %s
    ) r
    JOIN assistants_passage p ON p.id = r.rowid
    JOIN assistants_knowledgefile f ON f.id = p.knowledge_file_id
    WHERE f.indexed_at IS NOT NULL AND f.status != 'deleting'
    ORDER BY r.rank LIMIT %s
"""


def _ranked_sqlite(assistant_id: int, query: str, limit: int) -> list[tuple[int, float]]:
    stems = list(dict.fromkeys(terms(query)))
    if not stems:
        return []
    # Stems are \w+ words and the id a number: nothing to escape.
    match = f'assistant_id : "{int(assistant_id)}" AND terms : (' + " OR ".join(f'"{stem}"' for stem in stems) + ")"
    with connection.cursor() as cursor:
        cursor.execute(_SQLITE_SEARCH, [match, limit * 4 + 20, limit])
        return [(pk, score) for pk, score in cursor.fetchall()]


# PostgreSQL's ts_rank knows no inverse document frequency: a word in every passage would count as
# much as the one word that matters. gradcap keeps each assistant's document frequencies
# (PassageLexeme, from ts_stat, changed as files are indexed and deleted) and ranks
# as BM25 does: the sum over the question's words of idf × ts_rank for that word alone (which grows
# with the word's count and shrinks with the passage's length). Candidates are the passages with
# one of the question's rarer words (in at most COMMON_SHARE of the passages), through the GIN
# index; the common words still add to their scores.
COMMON_SHARE = 0.05
LEXEME_LOCK = 0x6C6578  # advisory lock class of the changes to the frequencies ("lex")


_FILE_FREQUENCIES = """
    SELECT word, ndoc FROM ts_stat(%s)
    UNION ALL SELECT '', count(*) FROM assistants_passage WHERE knowledge_file_id = %s
"""
_STATISTICS_ADD = f"""
    INSERT INTO assistants_passagelexeme (assistant_id, lexeme, ndoc)
    SELECT %s, word, ndoc FROM ({_FILE_FREQUENCIES}) file
    ON CONFLICT (assistant_id, lexeme) DO UPDATE SET ndoc = assistants_passagelexeme.ndoc + EXCLUDED.ndoc
"""  # noqa: S608 -- made of constants
_STATISTICS_SUBTRACT = f"""
    UPDATE assistants_passagelexeme SET ndoc = assistants_passagelexeme.ndoc - file.ndoc
    FROM ({_FILE_FREQUENCIES}) file (word, ndoc)
    WHERE assistant_id = %s AND lexeme = file.word
"""  # noqa: S608 -- made of constants


def _statistics_change(knowledge_file: KnowledgeFile, sign: int) -> None:
    """PostgreSQL: add (+1) or take away (-1) the file's passages in the assistant's document
    frequencies, in the caller's transaction: a cost that grows with the file, not the assistant.
    Changes of one assistant's frequencies take turns (an advisory lock until the commit)."""
    if connection.vendor != "postgresql":
        return
    file_id, assistant_id = int(knowledge_file.pk), int(knowledge_file.assistant_id)
    passages = f"SELECT search FROM assistants_passage WHERE knowledge_file_id = {file_id}"  # noqa: S608 -- an int
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LEXEME_LOCK, assistant_id])
        if sign > 0:
            cursor.execute(_STATISTICS_ADD, [assistant_id, passages, file_id])
        else:
            cursor.execute(_STATISTICS_SUBTRACT, [passages, file_id, assistant_id])
            cursor.execute("DELETE FROM assistants_passagelexeme WHERE assistant_id = %s AND ndoc <= 0", [assistant_id])


def index_statistics_refresh(assistant_id: int) -> None:
    """PostgreSQL: recount the assistant's document frequencies from scratch (after passages were
    written without file_index, as the benchmark does; SQLite's FTS5 keeps its own)."""
    if connection.vendor != "postgresql":
        return
    assistant_id = int(assistant_id)  # ts_stat takes its query as text
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LEXEME_LOCK, assistant_id])
        cursor.execute("DELETE FROM assistants_passagelexeme WHERE assistant_id = %s", [assistant_id])
        cursor.execute(
            "INSERT INTO assistants_passagelexeme (assistant_id, lexeme, ndoc) "
            "SELECT %s, word, ndoc FROM ts_stat(%s) "
            "UNION ALL SELECT %s, '', count(*) FROM assistants_passage WHERE assistant_id = %s",
            [
                assistant_id,
                f"SELECT search FROM assistants_passage WHERE assistant_id = {assistant_id}",  # noqa: S608 -- an int
                assistant_id,
                assistant_id,
            ],
        )


_POSTGRESQL_FREQUENCIES = """
    SELECT lexeme, ndoc FROM assistants_passagelexeme
    WHERE assistant_id = %s AND (lexeme = '' OR lexeme = ANY(tsvector_to_array(to_tsvector('russian', %s))))
"""
_POSTGRESQL_SEARCH = """
    WITH candidates AS MATERIALIZED (
        SELECT p.id, p.search
        FROM assistants_passage p
        JOIN assistants_knowledgefile f ON f.id = p.knowledge_file_id
        WHERE p.search @@ %s::tsquery AND p.assistant_id = %s AND f.indexed_at IS NOT NULL AND f.status != 'deleting'
        ORDER BY ts_rank(p.search, %s::tsquery, 1) DESC LIMIT {shortlist}
    )
    SELECT id, {score} AS score FROM candidates p ORDER BY score DESC, id LIMIT %s
"""
SHORTLIST = 100  # passages scored in full: the best by the rare words alone


def _lexeme_query(lexeme: str) -> str:
    """A tsquery that matches the lexeme as it is (quoted: no parsing, no stemming again)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _ranked_postgresql(assistant_id: int, query: str, limit: int) -> list[tuple[int, float]]:
    with connection.cursor() as cursor:
        cursor.execute(_POSTGRESQL_FREQUENCIES, [assistant_id, query])
        frequencies = dict(cursor.fetchall())
        total = frequencies.pop("", 0)
        if not frequencies or not total:
            return []
        idf = {lexeme: math.log(1 + (total - df + 0.5) / (df + 0.5)) for lexeme, df in frequencies.items()}
        lexemes = sorted(idf, key=lambda lexeme: (-idf[lexeme], lexeme))
        rare = [lexeme for lexeme in lexemes if frequencies[lexeme] <= total * COMMON_SHARE] or lexemes[:2]
        score = " + ".join(["%s * ts_rank(p.search, %s::tsquery, 1)"] * len(lexemes))
        rare_query = " | ".join(map(_lexeme_query, rare))
        arguments: list = [rare_query, assistant_id, rare_query]
        arguments += [value for lexeme in lexemes for value in (idf[lexeme], _lexeme_query(lexeme))]
        arguments.append(limit)
        cursor.execute(_POSTGRESQL_SEARCH.format(score=score, shortlist=SHORTLIST), arguments)
        return [(pk, score) for pk, score in cursor.fetchall()]


# Citations ---------------------------------------------------------------------------------


def passages_cited(text: str, passages: list[dict]) -> list[dict]:
    """The passages an answer used, as citations: those it marks with their number ("[2]"), or,
    when it marks none, the one passage it clearly quotes (most shared words, a quarter of the
    answer's). `passages` are the numbered results the model was given (`n`, `passage_id`, ...)."""
    by_number = {p["n"]: p for p in passages}
    citations: list[dict] = []
    for match in _MARKER.finditer(text):
        passage = by_number.get(int(match.group(1)))
        if passage is not None:
            citations.append(_citation(passage, index=match.end(), marked=True))
    if citations or not passages or not text.strip():
        return citations
    answer = set(terms(text))
    if not answer:
        return []
    shared = [(len(answer & set(terms(p["text"]))), -p["n"], p) for p in passages]
    count, _n, best = max(shared, key=lambda s: (s[0], s[1]))
    if count >= 3 and count * 4 >= len(answer):
        return [_citation(best, index=len(text), marked=False)]
    return []


def _citation(passage: dict, *, index: int, marked: bool) -> dict:
    return {
        "number": passage["n"],
        "file_id": str(passage["file_id"]),
        "filename": passage["filename"],
        "index": index,
        "passage_id": passage["passage_id"],
        "place": passage.get("place", ""),
        "quote": _quote(passage["text"]),
        "marked": marked,
    }


def _quote(text: str) -> str:
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


def hosted_citations_link(*, assistant_id: int, citations: list[dict], search_results: list[dict]) -> list[dict]:
    """The provider's file_search citations name its file ids: link each to the passage of our
    copy of the file that shares most words with what the provider retrieved from it."""
    if not citations:
        return citations
    files = dict(
        KnowledgeFile.objects.filter(
            assistant_id=assistant_id, provider_file_id__in={c.get("file_id") for c in citations}
        ).values_list("provider_file_id", "pk")
    )
    linked = []
    for citation in citations:
        file_pk = files.get(citation.get("file_id"))
        if file_pk is None or citation.get("passage_id"):
            linked.append(citation)
            continue
        retrieved = " ".join(r.get("text", "") for r in search_results if r.get("file_id") == citation["file_id"])
        wanted = set(terms(retrieved))
        candidates = _searchable(Passage.objects.filter(knowledge_file_id=file_pk))
        best = max(
            candidates.only("pk", "terms", "place", "text", "position"),
            key=lambda p: (len(wanted & set(p.terms.split())), -p.position),
            default=None,
        )
        if best is not None:
            citation = {**citation, "passage_id": best.pk, "place": best.place, "quote": _quote(best.text)}
        linked.append(citation)
    return linked
