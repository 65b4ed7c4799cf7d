"""Text out of uploaded documents, token-window chunks, and BM25 ranking."""

import io
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePath

from llm.tokens import encoding

DEFAULT_CHUNK_TOKENS = 800
DEFAULT_OVERLAP_TOKENS = 400
TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".csv", ".json", ".jsonl")
HTML_SUFFIXES = (".html", ".htm")
SUPPORTED_SUFFIXES = (*TEXT_SUFFIXES, *HTML_SUFFIXES, ".pdf", ".docx")

_WORD = re.compile(r"\w+", re.UNICODE)
# Words that match everything and tell nothing (English and Russian, the languages gradcap ships).
STOPWORDS = frozenset(
    # Written as prose (hence SIM905 is silenced): as a list literal this takes 180 lines.
    "a an and are as at be but by can do does for from has have how i in is it its me my of on or our so that the "  # noqa: SIM905
    "their them then there these this to was we what when where which who why will with you your "
    "и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было вот от меня "
    "еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас нибудь опять уж вам ведь там "
    "потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже "
    "себе под будет ж тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее".split()
)


class UnsupportedFile(Exception):
    pass


class _TextOfHtml(HTMLParser):
    """Visible text of an HTML page: script and style contents are not text."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("script", "style"):
            self._skipping += 1

    def handle_endtag(self, tag) -> None:
        if tag in ("script", "style") and self._skipping:
            self._skipping -= 1
        elif tag in ("p", "div", "li", "br", "tr", "h1", "h2", "h3", "h4", "h5", "h6"):
            self.parts.append("\n")

    def handle_data(self, data) -> None:
        if not self._skipping:
            self.parts.append(data)


def _html_text(raw: str) -> str:
    parser = _TextOfHtml()
    parser.feed(raw)
    parser.close()
    return re.sub(r"[ \t]+", " ", "".join(parser.parts))


def _pdf_text(content: bytes) -> str:
    from pypdf import PdfReader  # imported here: only PDF uploads need it

    reader = PdfReader(io.BytesIO(content))
    return "\n\n".join(page.extract_text() or "" for page in reader.pages)


def _docx_text(content: bytes) -> str:
    import docx  # python-docx, imported here: only Word uploads need it

    return "\n".join(paragraph.text for paragraph in docx.Document(io.BytesIO(content)).paragraphs)


def text_extract(*, filename: str, content: bytes) -> str:
    """The text of an uploaded document, by its file name; UnsupportedFile for other kinds."""
    suffix = PurePath(filename.lower()).suffix
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedFile(f"Files with extension '{suffix or filename}' are not supported for file search.")
    if suffix == ".pdf":
        return _pdf_text(content)
    if suffix == ".docx":
        return _docx_text(content)
    raw = content.decode("utf-8", errors="replace")
    if suffix in HTML_SUFFIXES:
        return _html_text(raw)
    if suffix == ".json":
        try:  # pretty-printed, so that keys and values are separate words
            return json.dumps(json.loads(raw), ensure_ascii=False, indent=1)
        except ValueError:
            return raw
    return raw


def text_chunk(
    text: str, *, max_tokens: int = DEFAULT_CHUNK_TOKENS, overlap: int = DEFAULT_OVERLAP_TOKENS
) -> list[str]:
    """Overlapping windows of `max_tokens` tokens, as OpenAI's static chunking strategy cuts them."""
    tokens = encoding().encode(text, disallowed_special=())
    if not tokens:
        return []
    step = max(1, max_tokens - overlap)
    chunks = []
    for start in range(0, len(tokens), step):
        chunk = encoding().decode(tokens[start : start + max_tokens]).strip()
        if chunk:
            chunks.append(chunk)
        if start + max_tokens >= len(tokens):
            break
    return chunks


def terms(text: str) -> list[str]:
    """Lower-cased words without stopwords: what BM25 compares."""
    return [word for word in _WORD.findall(text.lower()) if word not in STOPWORDS]


@dataclass(frozen=True)
class Hit:
    index: int  # position in the ranked collection
    score: float


def bm25_rank(query: str, documents: list[str], *, k1: float = 1.5, b: float = 0.75) -> list[Hit]:
    """Documents that share a term with the query, best first (Okapi BM25)."""
    query_terms = set(terms(query))
    if not query_terms or not documents:
        return []
    bags = [Counter(terms(document)) for document in documents]
    average_length = sum(sum(bag.values()) for bag in bags) / len(bags) or 1
    frequency = {term: sum(1 for bag in bags if term in bag) for term in query_terms}
    hits = []
    for index, bag in enumerate(bags):
        length = sum(bag.values())
        score = 0.0
        for term in query_terms:
            count = bag.get(term, 0)
            if not count:
                continue
            idf = math.log(1 + (len(bags) - frequency[term] + 0.5) / (frequency[term] + 0.5))
            score += idf * count * (k1 + 1) / (count + k1 * (1 - b + b * length / average_length))
        if score > 0:
            hits.append(Hit(index=index, score=score))
    return sorted(hits, key=lambda hit: (-hit.score, hit.index))


def score_normalize(score: float) -> float:
    """BM25 scores are unbounded; the API shows scores between 0 and 1."""
    return round(1 - math.exp(-score / 4), 4)


def best_passage(text: str, query: str, *, max_words: int = 60) -> str:
    """The sentence(s) of `text` that share most words with `query`: what a model would quote."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n{2,}", text) if s.strip()]
    if not sentences:
        return text.strip()
    query_terms = set(terms(query))
    best = max(range(len(sentences)), key=lambda i: (len(query_terms & set(terms(sentences[i]))), -i))
    passage = sentences[best]
    if best + 1 < len(sentences) and len((passage + " " + sentences[best + 1]).split()) <= max_words:
        passage += " " + sentences[best + 1]
    words = passage.split()
    return " ".join(words[:max_words]) + (" …" if len(words) > max_words else "")
