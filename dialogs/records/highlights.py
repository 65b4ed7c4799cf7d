"""Why a dialog matched a search: a short excerpt of the matching message, its words marked.

An excerpt is a list of parts, each plain text or a match; the template marks the matches and
escapes every part, so a message's own HTML never reaches the page. The words are found as the
search finds them: on PostgreSQL each search word is the start of a word ("цикл" marks
"циклы"), on SQLite the whole search text anywhere, ignoring case.
"""

import re
from dataclasses import dataclass

SEARCH_WORDS = 8
EXCERPT_CHARS = 180  # about two lines of the dialogs table's first column
CONTEXT_CHARS = 50  # shown before the first match


@dataclass(frozen=True)
class Part:
    text: str
    mark: bool = False


def search_words(text: str) -> list[str]:
    """The words a full-text search looks for: word characters only, lower-cased, at most eight."""
    return re.findall(r"\w+", text.lower())[:SEARCH_WORDS]


def has_word_starts(content: str, words: list[str]) -> bool:
    """Whether every word starts a word of `content`, ignoring case (what the tsquery asks)."""
    return all(re.search(r"(?<!\w)" + re.escape(word), content, re.IGNORECASE) for word in words)


def match_pattern(text: str, *, prefixes: bool) -> re.Pattern | None:
    if prefixes:
        words = search_words(text)
        if not words:
            return None
        return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")\w*", re.IGNORECASE)
    text = text.strip()
    return re.compile(re.escape(text), re.IGNORECASE) if text else None


def excerpt(content: str, text: str, *, prefixes: bool) -> list[Part]:
    """The part of `content` around its first match, matches marked, cut at word boundaries."""
    content = " ".join(content.split())  # line breaks and runs of spaces read as one space here
    pattern = match_pattern(text, prefixes=prefixes)
    matches = list(pattern.finditer(content)) if pattern else []
    first = matches[0].start() if matches else 0
    start = _word_start(content, max(0, first - CONTEXT_CHARS)) if first > CONTEXT_CHARS else 0
    end = _word_end(content, start + EXCERPT_CHARS)
    parts = [Part("… ")] if start else []
    position = start
    for match in matches:
        if match.end() > end:
            break
        parts += [Part(content[position : match.start()]), Part(match.group(), mark=True)]
        position = match.end()
    parts.append(Part(content[position:end]))
    if end < len(content):
        parts.append(Part(" …"))
    return [part for part in parts if part.text]


def _word_start(content: str, index: int) -> int:
    """`index`, moved forward to the start of the next word when it falls inside one."""
    space = content.find(" ", index)
    return space + 1 if 0 <= space < index + 20 else index


def _word_end(content: str, index: int) -> int:
    if index >= len(content):
        return len(content)
    space = content.rfind(" ", index - 20, index)
    return space if space > 0 else index
