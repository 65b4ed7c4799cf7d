"""Triage flags: the signs that a recorded dialog is worth a curator's time.

Each dialog carries `flags` (a bit per sign below) and `triage_score` (their weights summed), so the
dialogs page filters and ranks 100k dialogs on the dialog row alone. The services that change a
dialog's messages mark it `triage_due` in the same UPDATE that recounts its figures (dialogs.records.counters),
which costs the chat nothing; the worker's sweep (every minute, `dialogs_triage`) reads the due
dialogs' messages in batches and writes their flags. New dialogs start due, and so did every
dialog that existed before the flags (migration 0010): the same sweep is the backfill, and the
dialogs page says how many dialogs it has still to read.

The signs, all read from our own rows, with no provider call:
- 👎 on an answer;
- an answer that failed, or was stopped;
- an answer that found nothing or refused ("I couldn't find…", "не могу помочь…");
- a tool call that answered with an error;
- a question asked again in other words (most of its word stems in an earlier question);
- a question edited, or an answer regenerated;
- negative words in the learner's messages (a small Russian and English lexicon of stems);
- an unusually long answer: over LONG_ANSWER_FACTOR × the assistant's median answer and at
  least LONG_ANSWER_MIN_CHARS, or over LONG_ANSWER_CHARS while the assistant has too few answers
  for a median.
"""

import re
import statistics
import time
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Length
from django.utils.translation import gettext_lazy as _

from knowledge.terms import stem, words

from ..models import Dialog, Message


@dataclass(frozen=True)
class Flag:
    bit: int
    key: str  # in URLs (?flag=…)
    label: str
    weight: int  # its part in the "worth curating" rank


THUMBS_DOWN = Flag(1, "thumbs-down", _("👎 on an answer"), 5)
FAILED = Flag(2, "failed", _("answer failed or stopped"), 3)
NOTHING_FOUND = Flag(4, "nothing-found", _("found nothing or refused"), 3)
TOOL_FAILED = Flag(8, "tool-failed", _("a tool call failed"), 3)
ASKED_AGAIN = Flag(16, "asked-again", _("asked again in other words"), 2)
REGENERATED = Flag(32, "regenerated", _("edited or regenerated"), 2)
NEGATIVE = Flag(64, "negative", _("negative words"), 3)
LONG_ANSWER = Flag(128, "long-answer", _("unusually long answer"), 1)

FLAGS = (THUMBS_DOWN, FAILED, NOTHING_FOUND, TOOL_FAILED, ASKED_AGAIN, REGENERATED, NEGATIVE, LONG_ANSWER)
BY_KEY = {flag.key: flag for flag in FLAGS}

BATCH = 200
LONG_ANSWER_FACTOR = 4
LONG_ANSWER_MIN_CHARS = 1200
LONG_ANSWER_CHARS = 4000
MEDIAN_OF = 200  # the assistant's latest complete answers
MEDIAN_NEEDS = 20
ASKED_AGAIN_SHARE = 0.6  # of the shorter question's stems, found in an earlier question
ASKED_AGAIN_MIN_STEMS = 2

# Lower-cased, "ё" read as "е". Phrases, not single words: "I don't know" in an answer is a sign,
# "know" is not.
_NOTHING_FOUND = re.compile(
    r"\bi (?:do not|don't|dont) know\b|\bi (?:could not|couldn't|can't|cannot|was unable to|am unable to) "
    r"(?:find|help|answer|assist)|\bi(?:'m| am) (?:not able|unable) to\b|\bno (?:relevant )?information\b"
    r"|\bnot (?:covered |mentioned )?in the (?:course|provided|available) (?:materials|files|documents)\b"
    r"|\bi(?:'m| am) sorry, but i (?:can't|cannot)\b"
    r"|\bi (?:can't|cannot|won't|will not) (?:do|write|solve) (?:it|this|that|your)\b"
    r"|\bне знаю\b|\bне могу (?:помочь|ответить|найти|сделать|написать|решить)\b"
    r"|\bне нашел\b|\bне нашла\b|\bне удалось найти\b"
    r"|\bнет (?:никакой )?информации\b|\bк сожалению, (?:я )?не\b|\bне могу с этим помочь\b"
)
# Stems (knowledge.terms: Snowball, Russian or English) of words that say the learner is unhappy.
_NEGATIVE_STEMS = frozenset(
    stem(word)
    for word in (  # noqa: SIM905 -- written as prose: as a list literal this takes 60 lines
        "bad useless terrible awful horrible stupid dumb hate annoying annoyed confusing confused "
        "frustrating frustrated angry nonsense rubbish garbage worst disappointed disappointing "
        "pointless ugh wtf unhelpful "
        "плохо плохой ужасно ужасный бесполезно бесполезный глупо глупый "
        "тупо тупой бесит раздражает отстой ерунда чушь бред кошмар отвратительно разочарован надоело "
        "непонятно запутался злюсь"
    ).split()
)
_NEGATIVE_PHRASES = re.compile(
    # About the answers, not the learner's code: "my loop does not work" is no complaint.
    r"\b(?:does not|doesn't|didn't|did not|still not|not) (?:help|helpful|make sense|answer)"
    r"|\bне (?:помогло|помогает|понял|поняла|понятно)\b|\bэто не ответ\b|\bthat'?s not what i\b"
)


def _text(text: str) -> str:
    return text.lower().replace("ё", "е").replace("’", "'")


def finds_nothing(answer: str) -> bool:
    return bool(_NOTHING_FOUND.search(_text(answer)))


def sounds_negative(question: str) -> bool:
    text = _text(question)
    return bool(_NEGATIVE_PHRASES.search(text)) or any(stem(word) in _NEGATIVE_STEMS for word in words(text))


def _stems(question: str) -> set[str]:
    return {stem(word) for word in words(question) if len(word) > 2}


def asks_again(questions: list[str]) -> bool:
    """Some question repeats most of the word stems of an earlier one (not word for word: a
    repeated question in other words, or as it was)."""
    seen: list[set[str]] = []
    for question in questions:
        stems = _stems(question)
        for earlier in seen:
            shared = stems & earlier
            if len(shared) >= ASKED_AGAIN_MIN_STEMS and len(shared) >= ASKED_AGAIN_SHARE * min(
                len(stems), len(earlier)
            ):
                return True
        if stems:
            seen.append(stems)
    return False


def _tool_failed(tool_calls) -> bool:
    return any(
        isinstance(call, dict) and isinstance(call.get("output"), dict) and "error" in call["output"]
        for call in tool_calls or ()
    )


def _is_long(length: int, median: float | None) -> bool:
    if median is None:
        return length > LONG_ANSWER_CHARS
    return length >= LONG_ANSWER_MIN_CHARS and length > LONG_ANSWER_FACTOR * median


def dialog_flags(messages: list[Message], *, median_answer: float | None = None) -> int:
    """The flags of a dialog with these messages (all of them, replaced ones included), in order."""
    flags = 0
    active = [m for m in messages if m.replaced_at is None]
    questions = [m.content for m in active if m.role == Message.Role.USER]
    for message in messages:
        if message.replaces_id is not None or message.replaced_at is not None:
            flags |= REGENERATED.bit
        if message.role != Message.Role.ASSISTANT:
            continue
        if message.status in (Message.Status.FAILED, Message.Status.STOPPED):
            flags |= FAILED.bit
        if _tool_failed(message.tool_calls):
            flags |= TOOL_FAILED.bit
        if message.replaced_at is None:
            if message.feedback == Message.Feedback.DOWN:
                flags |= THUMBS_DOWN.bit
            if finds_nothing(message.content):
                flags |= NOTHING_FOUND.bit
            if message.status == Message.Status.COMPLETE and _is_long(len(message.content), median_answer):
                flags |= LONG_ANSWER.bit
    if any(sounds_negative(question) for question in questions):
        flags |= NEGATIVE.bit
    if asks_again(questions):
        flags |= ASKED_AGAIN.bit
    return flags


def score_of(flags: int) -> int:
    return sum(flag.weight for flag in FLAGS if flags & flag.bit)


def labels_of(flags: int) -> list[Flag]:
    return [flag for flag in FLAGS if flags & flag.bit]


def _median_answers(assistant_ids: set[int]) -> dict[int, float | None]:
    """Each assistant's median answer length over its latest complete answers (None: too few)."""
    medians: dict[int, float | None] = {}
    for assistant_id in assistant_ids:
        lengths = list(
            Message.objects.filter(
                dialog__assistant_id=assistant_id, role=Message.Role.ASSISTANT, status=Message.Status.COMPLETE
            )
            .order_by("-pk")
            .annotate(length=Length("content"))
            .values_list("length", flat=True)[:MEDIAN_OF]
        )
        medians[assistant_id] = statistics.median(lengths) if len(lengths) >= MEDIAN_NEEDS else None
    return medians


_FIELDS = (
    "pk",
    "dialog_id",
    "position",
    "role",
    "content",
    "status",
    "feedback",
    "tool_calls",
    "replaced_at",
    "replaces_id",
)


def dialogs_triage_batch(limit: int = BATCH, *, medians: dict | None = None) -> tuple[int, int]:
    """Flag up to `limit` due dialogs: (how many were read, how many were flagged). A dialog that
    changed while it was read (a new answer, a 👎) stays due, for the next batch to read again."""
    due = list(
        Dialog.objects.filter(triage_due=True)
        .order_by("pk")
        .values("pk", "assistant_id", "updated_at", "message_count", "feedback_up", "feedback_down")[:limit]
    )
    if not due:
        return 0, 0
    by_dialog: dict[int, list[Message]] = {row["pk"]: [] for row in due}
    messages = Message.objects.filter(dialog_id__in=by_dialog).only(*_FIELDS)
    for message in messages.order_by("dialog_id", "position", "pk"):
        by_dialog[message.dialog_id].append(message)
    medians = {} if medians is None else medians  # a sweep reads each assistant's median once
    assistants = {row["assistant_id"] for row in due if row["assistant_id"] is not None}
    medians.update(_median_answers(assistants - medians.keys()))
    flagged = 0
    with transaction.atomic():
        for row in due:
            flags = dialog_flags(by_dialog[row["pk"]], median_answer=medians.get(row["assistant_id"]))
            unchanged = {key: row[key] for key in ("updated_at", "message_count", "feedback_up", "feedback_down")}
            flagged += Dialog.objects.filter(pk=row["pk"], triage_due=True, **unchanged).update(
                flags=flags, triage_score=score_of(flags), triage_due=False
            )
    return len(due), flagged


def dialogs_triage(*, seconds: float | None = None, progress=None) -> int:
    """Flag the due dialogs, a batch at a time, for at most `seconds` (None: until none is due);
    `progress(done, left)` after each batch. Returns how many were flagged."""
    started = time.monotonic()
    done, medians = 0, {}
    while True:
        read, flagged = dialogs_triage_batch(medians=medians)
        done += flagged
        if progress is not None and read:
            progress(done, triage_left())
        if not flagged or (seconds is not None and time.monotonic() - started > seconds):
            return done


def triage_left(course=None) -> int:
    """How many dialogs (of the course) the sweep has still to read."""
    dialogs = Dialog.objects.filter(triage_due=True)
    if course is not None:
        dialogs = dialogs.filter(course=course)
    return dialogs.count()


def with_flag(dialogs: QuerySet[Dialog], flag: Flag | None) -> QuerySet[Dialog]:
    """The dialogs with this flag (None: with any flag)."""
    if flag is None:
        return dialogs.filter(triage_score__gt=0)
    return dialogs.alias(flag_bit=F("flags").bitand(flag.bit)).filter(flag_bit__gt=0)
