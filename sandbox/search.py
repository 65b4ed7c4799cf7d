"""Token-window chunks and BM25 ranking for the sandbox's vector stores (the text comes out of
the files through gradcap's own document reader, `knowledge.documents`)."""

import math
import re
from collections import Counter
from dataclasses import dataclass

from knowledge.terms import STOPWORDS
from llm.tokens import encoding

DEFAULT_CHUNK_TOKENS = 800
DEFAULT_OVERLAP_TOKENS = 400

_WORD = re.compile(r"\w+", re.UNICODE)


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
