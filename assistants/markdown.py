"""Model answers are Markdown. They are rendered with markdown-it (raw HTML disabled) and the
result is sanitised with nh3 (ammonia), so nothing a model or a learner writes can run script."""

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


def with_citation_marks(text: str, citations: list[dict]) -> str:
    """Put " [n]" footnote marks into the answer at the positions the provider gave."""
    marks = sorted(((c.get("index", len(text)), c["number"]) for c in citations if c.get("number")), key=lambda m: m[0])
    pieces, start, seen = [], 0, set()
    for index, number in marks:
        index = max(0, min(index, len(text)))
        if (index, number) in seen:
            continue
        seen.add((index, number))
        pieces.append(text[start:index])
        pieces.append(f" [{number}]")
        start = index
    pieces.append(text[start:])
    return "".join(pieces)
