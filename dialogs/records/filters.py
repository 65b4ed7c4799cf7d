"""The dialogs page's filters, sorts and page: a GET form (bookmarkable) and the query it makes.

Everything a row shows or a filter asks is a column of the dialog (see dialogs.records.counters), so a
page is one query on the dialogs table whatever its size, plus one for the examples of the rows
shown (and, for a search, one for each row's matching message, shown as an excerpt). Only the
full-text search reaches into the messages: an EXISTS on the dialog's messages, served on
PostgreSQL by the GIN index of migration 0004 (the same expression), and by icontains on SQLite.

Pages are counted without COUNT(*): a page fetches one row more than it shows to know whether a
next page exists. Counting every match of a search over a million messages on each page view is
what would cost most, and a curator needs "is there more", not the exact total.
"""

import datetime
from dataclasses import dataclass

from django import forms
from django.db import OperationalError, connection, transaction
from django.db.models import BooleanField, Exists, F, Func, OuterRef, Prefetch, QuerySet, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from courses.models import Course

from ..models import Dialog, Example, Message
from . import triage
from .highlights import excerpt, has_word_starts, search_words

PAGE_SIZES = (25, 50, 100)

SORTS = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "longest": ("-message_count", "-id"),
    "activity": ("-updated_at", "-id"),
    "worth": ("-triage_score", "-id"),
}
ANY_FLAG = "any"


class DialogFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Words in any message")}),
    )
    assistant = forms.ModelChoiceField(
        label=_("Assistant"), queryset=None, required=False, empty_label=_("any assistant")
    )
    source = forms.ChoiceField(
        label=_("Source"), required=False, choices=[("", _("any source")), *Dialog.Source.choices]
    )
    feedback = forms.ChoiceField(
        label=_("Feedback"),
        required=False,
        choices=[("", _("any feedback")), ("up", "👍"), ("down", "👎"), ("none", _("no feedback"))],
    )
    curated = forms.ChoiceField(
        label=_("In a dataset"),
        required=False,
        choices=[("", _("either")), ("yes", _("in a dataset")), ("no", _("not in a dataset"))],
    )
    flag = forms.ChoiceField(
        label=_("Flag"),
        required=False,
        choices=[("", _("any or none")), (ANY_FLAG, _("any flag")), *((flag.key, flag.label) for flag in triage.FLAGS)],
    )
    model = forms.CharField(
        label=_("Model"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"list": "dialog-models", "autocomplete": "off"}),
    )
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            ("newest", _("newest first")),
            ("oldest", _("oldest first")),
            ("longest", _("longest first")),
            ("activity", _("most recent activity")),
            ("worth", _("worth curating first")),
        ],
    )
    per_page = forms.TypedChoiceField(
        label=_("Per page"), required=False, coerce=int, choices=[(n, n) for n in PAGE_SIZES], empty_value=25
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000, widget=forms.HiddenInput)

    def __init__(self, data, *, course: Course, assistants=None):
        super().__init__(data)
        self.fields["assistant"].queryset = course.assistants.all()
        if assistants is not None:
            # Already read for the page: no second query to list the choices.
            self.fields["assistant"].choices = [("", self.fields["assistant"].empty_label)] + [
                (assistant.pk, assistant.name) for assistant in assistants
            ]

    def values(self) -> dict:
        """The valid filters (an invalid one is ignored, never an error page)."""
        self.is_valid()
        values = {name: self.cleaned_data.get(name) for name in self.fields}
        values["sort"] = values["sort"] or "newest"
        values["per_page"] = values["per_page"] or PAGE_SIZES[0]
        values["page"] = values["page"] or 1
        return values


@dataclass(frozen=True)
class DialogPage:
    dialogs: list[Dialog]
    number: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def start(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.dialogs else 0

    @property
    def end(self) -> int:
        return self.start + len(self.dialogs) - 1 if self.dialogs else 0


def _day_start(day: datetime.date) -> datetime.datetime:
    # A range on the column itself (not __date), so the sort index still serves it.
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _tsquery(text: str) -> str:
    """The search words as a PostgreSQL tsquery, each a prefix ("цикл" finds "циклы"), all
    required. Only word characters get through, so the query is always valid."""
    words = search_words(text)
    return " & ".join(f"{word}:*" for word in words)


class _TextMatches(Func):
    """to_tsvector('simple', content) @@ to_tsquery('simple', query): the GIN index's expression,
    with the query as a parameter."""

    output_field = BooleanField()

    def __init__(self, column: F, query: str):
        super().__init__(column, Value(query))

    def as_sql(self, compiler, connection, **extra):
        column_sql, column_params = compiler.compile(self.source_expressions[0])
        query_sql, query_params = compiler.compile(self.source_expressions[1])
        sql = f"to_tsvector('simple'::regconfig, {column_sql}) @@ to_tsquery('simple'::regconfig, {query_sql})"
        return sql, (*column_params, *query_params)


def _content_matches(text: str) -> Exists | None:
    """Some message of the dialog contains the text (None: nothing to look for)."""
    messages = Message.objects.filter(dialog=OuterRef("pk"))
    if connection.vendor == "postgresql":
        query = _tsquery(text)
        if not query:
            return None
        return Exists(messages.filter(_TextMatches(F("content"), query)))
    return Exists(messages.filter(content__icontains=text))


def dialogs_filtered(course: Course, values: dict) -> QuerySet[Dialog]:
    dialogs = Dialog.objects.filter(course=course)
    if values.get("assistant"):
        dialogs = dialogs.filter(assistant=values["assistant"])
    if values.get("source"):
        dialogs = dialogs.filter(source=values["source"])
    feedback = values.get("feedback")
    if feedback == "up":
        dialogs = dialogs.filter(feedback_up__gt=0)
    elif feedback == "down":
        dialogs = dialogs.filter(feedback_down__gt=0)
    elif feedback == "none":
        dialogs = dialogs.filter(feedback_up=0, feedback_down=0)
    if values.get("curated") == "yes":
        dialogs = dialogs.filter(example_count__gt=0)
    elif values.get("curated") == "no":
        dialogs = dialogs.filter(example_count=0)
    if flag := values.get("flag"):
        dialogs = triage.with_flag(dialogs, None if flag == ANY_FLAG else triage.BY_KEY[flag])
    if values.get("model"):
        dialogs = dialogs.filter(model=values["model"].strip())
    if values.get("since"):
        dialogs = dialogs.filter(created_at__gte=_day_start(values["since"]))
    if values.get("until"):
        dialogs = dialogs.filter(created_at__lt=_day_start(values["until"] + datetime.timedelta(days=1)))
    text = (values.get("q") or "").strip()
    if text:
        matches = _content_matches(text)
        dialogs = dialogs.filter(matches) if matches is not None else dialogs.none()
    return dialogs.order_by(*SORTS[values.get("sort") or "newest"])


SEARCH_PLAN_MS = 100


def _set_local(*settings: str) -> None:
    with connection.cursor() as cursor:
        for setting in settings:  # constants of this module only
            cursor.execute(f"SET LOCAL {setting}")


def _rows(dialogs: QuerySet[Dialog], searching: bool) -> list[Dialog]:
    """The page's rows. A search on PostgreSQL runs without parallel workers (for one page their
    start-up costs more than the work) and with a safety net for the planner: its plan walks the
    dialogs in order and checks each one's messages, which is right for common words; for words
    that are each common but seldom together it guesses wrong and would walk every dialog. After
    SEARCH_PLAN_MS the query is cancelled and asked again starting from the search index."""
    if not (searching and connection.vendor == "postgresql"):
        return list(dialogs)
    with transaction.atomic():
        _set_local("max_parallel_workers_per_gather = 0", f"statement_timeout = {SEARCH_PLAN_MS}")
        try:
            with transaction.atomic():  # a savepoint: a cancelled query leaves the transaction usable
                return list(dialogs)
        except OperationalError:
            pass
        _set_local("statement_timeout = 0", "enable_nestloop = off")
        return list(dialogs)


def dialog_page(course: Course, values: dict) -> DialogPage:
    """One page of the filtered dialogs with what each row shows: two queries, whatever the size."""
    per_page, number = values["per_page"], values["page"]
    examples = Example.objects.select_related("dataset").only("pk", "source_dialog_id", "dataset__name", "status")
    dialogs = (
        dialogs_filtered(course, values)
        .select_related("user", "assistant")
        .prefetch_related(Prefetch("examples", queryset=examples.order_by("pk")))
    )
    offset = (number - 1) * per_page
    rows = _rows(dialogs[offset : offset + per_page + 1], searching=bool(values.get("q")))
    labels = {value: str(label) for value, label in Dialog.Source.choices}  # translated once, not per row
    flag_labels = {flag.bit: str(flag.label) for flag in triage.FLAGS}
    for dialog in rows:
        dialog.source_label = labels.get(dialog.source, dialog.source)
        dialog.flag_labels = [flag_labels[flag.bit] for flag in triage.labels_of(dialog.flags)]
    if text := (values.get("q") or "").strip():
        _attach_hits(rows[:per_page], text)
    return DialogPage(dialogs=rows[:per_page], number=number, per_page=per_page, has_next=len(rows) > per_page)


def searches_word_starts() -> bool:
    """Whether the search finds words by their start (PostgreSQL's full-text search), rather than
    the search text anywhere (SQLite's icontains)."""
    return connection.vendor == "postgresql"


def _attach_hits(dialogs: list[Dialog], text: str) -> None:
    """Each dialog's first message that matches the search (`dialog.hit`) and its excerpt with the
    words marked (`dialog.hit_excerpt`): one query for the page, whatever its size."""
    messages = Message.objects.filter(dialog_id__in=[dialog.pk for dialog in dialogs], replaced_at__isnull=True)
    messages = messages.only("pk", "dialog_id", "position", "role", "content")  # the transcript's messages
    prefixes = searches_word_starts()
    if prefixes:
        # The page's few messages are narrowed by each word anywhere, then tested in Python for
        # the word starts, as the search's tsquery has them. PostgreSQL's own test (to_tsvector
        # @@ tsquery) here made a search about 15 ms slower at 1M messages (bench/dialogs_list.py).
        words = search_words(text)
        for word in words:
            messages = messages.filter(content__icontains=word)
    else:
        words = None
        messages = messages.filter(content__icontains=text)
    hits: dict[int, Message] = {}
    for message in messages.order_by("dialog_id", "position"):
        if message.dialog_id not in hits and (words is None or has_word_starts(message.content, words)):
            hits[message.dialog_id] = message
    for dialog in dialogs:
        dialog.hit = hit = hits.get(dialog.pk)
        dialog.hit_excerpt = excerpt(hit.content, text, prefixes=prefixes) if hit else []
