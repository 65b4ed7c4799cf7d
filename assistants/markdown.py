"""Model answers are Markdown. They are rendered with markdown-it (raw HTML disabled) and the
result is sanitised with nh3 (ammonia), so nothing a model or a learner writes can run script."""

from collections.abc import Callable

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable("table")

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td", "sup", "del",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "code": {"class"}, "th": {"align"}, "td": {"align"}}


def render_markdown(text: str) -> str:
    """Safe HTML for a model's Markdown answer."""
    html = _markdown.render(text or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def with_citation_marks(text: str, citations: list[dict], link: Callable[[dict], str | None] | None = None) -> str:
    """Put " [n]" footnote marks into the answer at the positions the provider gave; marks the
    answer wrote itself (gradcap's search: "[2]", `marked`) stay where they are. With `link`,
    each mark whose citation it gives a URL for becomes a Markdown link to it."""
    marks = sorted(
        ((max(0, min(c.get("index", len(text)), len(text))), c) for c in citations if c.get("number")),
        key=lambda m: m[0],
    )
    pieces, start, seen = [], 0, set()
    for index, citation in marks:
        number = citation["number"]
        if (index, number) in seen or index < start:
            continue
        seen.add((index, number))
        written = f"[{number}]"
        url = link(citation) if link is not None else None
        mark = f"[{written}]({url})" if url else written
        if citation.get("marked") and text[index - len(written) : index] == written:
            pieces.append(text[start : index - len(written)])
            pieces.append(mark)
        else:
            pieces.append(text[start:index])
            pieces.append(f" {mark}")
        start = index
    pieces.append(text[start:])
    return "".join(pieces)
