"""Template filters of the training pages."""

from django import template
from django.utils.translation import gettext

register = template.Library()


@register.filter
def event_text(event) -> str:
    """A run event in the reader's language when gradcap wrote it (self-hosted training keeps the
    untranslated text and its parameters); a provider's own words as they came."""
    data = event.data if isinstance(event.data, dict) else {}
    msgid = data.get("msgid")
    if not isinstance(msgid, str):
        return event.message
    try:
        return gettext(msgid) % (data.get("params") or {})
    except (KeyError, TypeError, ValueError):
        return event.message


@register.filter
def seconds(value) -> str:
    """A duration in words: "45 s", "3 min 20 s", "2 h 5 min"."""
    if value in (None, ""):
        return ""
    total = round(float(value))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return gettext("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
    if minutes:
        return gettext("%(minutes)s min %(seconds)s s") % {"minutes": minutes, "seconds": secs}
    return gettext("%(seconds)s s") % {"seconds": secs}
