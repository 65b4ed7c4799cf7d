"""Text out of uploaded documents (txt, md, pdf, docx, csv, html, json), and passages cut from it
that remember their place: the page of a PDF, the heading above them in Markdown, HTML or Word."""

import contextlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePath

TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".csv", ".json", ".jsonl")
HTML_SUFFIXES = (".html", ".htm")
SUPPORTED_SUFFIXES = (*TEXT_SUFFIXES, *HTML_SUFFIXES, ".pdf", ".docx")
PASSAGE_WORDS = 120  # a passage is a few paragraphs: long enough to answer from, short enough to quote

_HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BLOCK_TAGS = ("p", "div", "pre", "blockquote", "ul", "ol", "table")
_MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


class UnsupportedFile(Exception):
    pass


@dataclass(frozen=True)
class Section:
    place: str  # "p. 3", a heading, or "" for the top of the file
    text: str


@dataclass(frozen=True)
class Piece:
    place: str
    text: str


class _HtmlSections(HTMLParser):
    """Visible text of an HTML page, cut at its headings; script and style contents are not text."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[tuple[str, list[str]]] = [("", [])]
        self._skipping = 0
        self._heading: list[str] | None = None

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("script", "style"):
            self._skipping += 1
        elif tag in _HEADING_TAGS:
            self._heading = []

    def handle_endtag(self, tag) -> None:
        if tag in ("script", "style") and self._skipping:
            self._skipping -= 1
        elif tag in _HEADING_TAGS and self._heading is not None:
            title = " ".join("".join(self._heading).split())
            self._heading = None
            self.sections.append((title, [title, "\n\n"]))
        elif tag in _BLOCK_TAGS:
            self.sections[-1][1].append("\n\n")
        elif tag in ("li", "br", "tr"):
            self.sections[-1][1].append("\n")

    def handle_data(self, data) -> None:
        if self._skipping:
            return
        if self._heading is not None:
            self._heading.append(data)
        else:
            self.sections[-1][1].append(data)


def _html_sections(raw: str) -> list[Section]:
    parser = _HtmlSections()
    parser.feed(raw)
    parser.close()
    return [Section(place, re.sub(r"[ \t]+", " ", "".join(parts))) for place, parts in parser.sections]


def _markdown_sections(raw: str) -> list[Section]:
    sections: list[Section] = []
    place, lines = "", []
    for line in raw.splitlines():
        heading = _MARKDOWN_HEADING.match(line)
        if heading:
            sections.append(Section(place, "\n".join(lines)))
            place, lines = heading.group(1).strip(), [heading.group(1).strip(), ""]
        else:
            lines.append(line)
    sections.append(Section(place, "\n".join(lines)))
    return sections


def _pdf_sections(content: bytes) -> list[Section]:
    from pypdf import PdfReader  # imported here: only PDF uploads need it

    reader = PdfReader(io.BytesIO(content))
    return [Section(f"p. {number}", page.extract_text() or "") for number, page in enumerate(reader.pages, 1)]


def _docx_sections(content: bytes) -> list[Section]:
    import docx  # python-docx, imported here: only Word uploads need it

    sections: list[Section] = []
    place, paragraphs = "", []
    for paragraph in docx.Document(io.BytesIO(content)).paragraphs:
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if style.startswith(("Heading", "Title")) and paragraph.text.strip():
            sections.append(Section(place, "\n\n".join(paragraphs)))
            place, paragraphs = paragraph.text.strip(), [paragraph.text.strip()]
        else:
            paragraphs.append(paragraph.text)
    sections.append(Section(place, "\n\n".join(paragraphs)))
    return sections


def document_sections(*, filename: str, content: bytes) -> list[Section]:
    """The text of an uploaded document in sections, by its file name; UnsupportedFile for other kinds."""
    suffix = PurePath(filename.lower()).suffix
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedFile(f"Files with extension '{suffix or filename}' are not supported for file search.")
    if suffix == ".pdf":
        sections = _pdf_sections(content)
    elif suffix == ".docx":
        sections = _docx_sections(content)
    else:
        raw = content.decode("utf-8", errors="replace")
        if suffix in HTML_SUFFIXES:
            sections = _html_sections(raw)
        elif suffix in (".md", ".markdown"):
            sections = _markdown_sections(raw)
        elif suffix == ".json":
            with contextlib.suppress(ValueError):  # pretty-printed, so that keys and values are separate words
                raw = json.dumps(json.loads(raw), ensure_ascii=False, indent=1)
            sections = [Section("", raw)]
        else:
            sections = [Section("", raw)]
    return [section for section in sections if section.text.strip()]


def text_extract(*, filename: str, content: bytes) -> str:
    """The whole text of an uploaded document (see `document_sections`)."""
    return "\n\n".join(section.text for section in document_sections(filename=filename, content=content))


def _blocks(text: str) -> Iterator[str]:
    """Paragraphs (blank-line separated); text written line by line (CSV, lists) gives its lines."""
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
        if len(lines) > 1 and len(paragraph.split()) > PASSAGE_WORDS:
            yield from lines
        else:
            yield " ".join(lines)


def _pieces_of_block(block: str, max_words: int) -> Iterator[str]:
    """A block too long for one passage, cut at sentence ends (and, for endless sentences, at words)."""
    current: list[str] = []
    for sentence in _SENTENCE_END.split(block):
        words = sentence.split()
        while len(words) > max_words:
            if current:
                yield " ".join(current)
                current = []
            yield " ".join(words[:max_words])
            words = words[max_words:]
        if current and len(current) + len(words) > max_words:
            yield " ".join(current)
            current = []
        current += words
    if current:
        yield " ".join(current)


def passages_split(sections: list[Section], *, max_words: int = PASSAGE_WORDS) -> list[Piece]:
    """Passages of about `max_words` words, whole paragraphs where they fit, never across a section."""
    pieces: list[Piece] = []
    for section in sections:
        current: list[str] = []
        size = 0
        for block in _blocks(section.text):
            for part in _pieces_of_block(block, max_words) if len(block.split()) > max_words else [block]:
                count = len(part.split())
                if current and size + count > max_words:
                    pieces.append(Piece(section.place, "\n\n".join(current)))
                    current, size = [], 0
                current.append(part)
                size += count
        if current:
            pieces.append(Piece(section.place, "\n\n".join(current)))
    return pieces
