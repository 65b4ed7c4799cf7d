"""The words that full-text search compares: lower-cased, without stopwords, stemmed.

Russian words (Cyrillic) go through Snowball's Russian stemmer and the rest through its English
one, as PostgreSQL's `russian` text search configuration does, so "циклы" and "цикла" meet, and
"loops" and "loop". SQLite's FTS5 has no Russian stemmer: gradcap indexes these stems there.
"""

import functools
import re
import threading

import snowballstemmer

WORD = re.compile(r"\w+", re.UNICODE)
_CYRILLIC = re.compile(r"[а-яё]")

# Words that match everything and tell nothing (English and Russian, the languages gradcap ships).
STOPWORDS = frozenset(
    # Written as prose (hence SIM905 is silenced): as a list literal this takes 180 lines.
    "a an and are as at be but by can do does for from has have how i in is it its me my of on or our so that the "  # noqa: SIM905
    "their them then there these this to was we what when where which who why will with you your "
    "и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было вот от меня "
    "еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас нибудь опять уж вам ведь там "
    "потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже "
    "себе под будет ж тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее".split()
)

_local = threading.local()  # Snowball stemmers keep state while they work: one pair per thread


def _stemmers() -> tuple:
    if not hasattr(_local, "stemmers"):
        _local.stemmers = (snowballstemmer.stemmer("russian"), snowballstemmer.stemmer("english"))
    return _local.stemmers


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    russian, english = _stemmers()
    return (russian if _CYRILLIC.search(word) else english).stemWord(word)


def words(text: str) -> list[str]:
    """Lower-cased words without stopwords ("ё" read as "е")."""
    return [word for word in WORD.findall(text.lower().replace("ё", "е")) if word not in STOPWORDS]


def terms(text: str) -> list[str]:
    """The stems of `text`'s words, in order, repeated as often as they occur."""
    return [stem(word) for word in words(text)]
