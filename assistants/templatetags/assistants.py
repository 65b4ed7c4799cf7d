from django import template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from assistants.markdown import render_markdown, with_citation_marks

register = template.Library()


@register.filter
def answer_html(message, course_slug: str = "") -> SafeString:
    """An assistant message as sanitised HTML, with its citation marks (linked to the passages
    they cite, given the course's slug)."""

    def link(citation: dict) -> str | None:
        return passage_url(course_slug, citation.get("passage_id")) or None

    text = with_citation_marks(message.content, message.citations or [], link=link if course_slug else None)
    return mark_safe(render_markdown(text))  # noqa: S308 -- sanitised by nh3 in render_markdown


@register.simple_tag
def passage_url(course_slug: str, passage_id: int | None) -> str:
    """The page of a cited passage, or "" where the citation names none."""
    if not passage_id or not course_slug:
        return ""
    return reverse("assistants:passage", args=[course_slug, passage_id])
