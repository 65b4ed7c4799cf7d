from django import template
from django.utils.safestring import SafeString, mark_safe

from assistants.markdown import render_markdown, with_citation_marks

register = template.Library()


@register.filter
def answer_html(message) -> SafeString:
    """An assistant message as sanitised HTML, with its citation marks."""
    text = with_citation_marks(message.content, message.citations or [])
    return mark_safe(render_markdown(text))  # noqa: S308 -- sanitised by nh3 in render_markdown
