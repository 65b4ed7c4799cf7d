"""Near-duplicate keys: what two examples share when they say the same once case, punctuation
and spacing are ignored."""

import string

# Near-duplicates have the same text once case, punctuation and spacing are ignored. Their key
# is the case-folded text with those dropped, as bytes, made with C-speed passes (a regular
# expression over every message was the slowest part of validation):
# - Text that fits in cp1251 (Russian and English: nearly all gradcap sees) gets its cp1251
#   bytes, folded and stripped by a single `bytes.translate`: about half the cost of
#   str.casefold, UTF-8 and a translate, which Cyrillic text needed before.
# - Other text gets its case-folded UTF-8 behind 0x98, a byte cp1251 never produces.
# Which kind of key a text gets depends only on its case-folded form, so two texts share a key
# exactly when their folded, stripped forms are equal (a test checks this against the plain
# definition).

_TYPOGRAPHIC_MARKS = "—–…“”„‘’«»\u00a0"
_CP1251_DROPPED = (string.punctuation + string.whitespace + _TYPOGRAPHIC_MARKS).encode("cp1251")
_UTF8_TAG = b"\x98"


def _cp1251_fold() -> tuple[bytes, bytes]:
    """The byte table that case-folds cp1251 text, and the bytes it cannot fold (their folded
    form is not one cp1251 character: only "µ", which folds to the Greek "μ")."""
    table, unfoldable = bytearray(range(256)), bytearray()
    for byte in range(256):
        try:
            folded = bytes([byte]).decode("cp1251").casefold().encode("cp1251")
        except UnicodeDecodeError:
            continue  # 0x98, not a cp1251 character
        except UnicodeEncodeError:
            unfoldable.append(byte)
            continue
        table[byte] = folded[0]
    return bytes(table), bytes(unfoldable)


_CP1251_FOLD, _CP1251_UNFOLDABLE = _cp1251_fold()
# UTF-8 keys: ASCII punctuation and whitespace are single bytes; the typographic marks are
# multi-byte, grouped by lead byte so that text without them costs one search per group.
_UTF8_DROPPED = (string.punctuation + string.whitespace).encode()
_TYPOGRAPHIC_MARKS_E2 = tuple(mark.encode() for mark in _TYPOGRAPHIC_MARKS if mark.encode()[0] == 0xE2)
_TYPOGRAPHIC_MARKS_C2 = tuple(mark.encode() for mark in _TYPOGRAPHIC_MARKS if mark.encode()[0] == 0xC2)


def near_duplicate_key(text: str) -> bytes:
    """What near-duplicates share: the text case-folded, with punctuation and spacing dropped."""
    if text.isascii():  # ASCII is the same in cp1251, and str.encode copies it as it is
        return text.encode().translate(_CP1251_FOLD, _CP1251_DROPPED)
    try:
        data = text.encode("cp1251")
    except UnicodeEncodeError as error:
        # Case folding goes character by character: when the first characters cp1251 lacks
        # still lack it once folded (an emoji, Chinese), so does the whole folded text.
        if not _fits_cp1251(error.object[error.start : error.end].casefold()):
            return _utf8_key(text.casefold())
    else:
        if not any(map(data.__contains__, _CP1251_UNFOLDABLE)):
            return data.translate(_CP1251_FOLD, _CP1251_DROPPED)
    # cp1251 lacks a character of the text but has its folded form ("ß" → "ss"), or has the
    # character but not its folded form ("µ" → "μ"): fold first.
    folded = text.casefold()
    try:
        return folded.encode("cp1251").translate(None, _CP1251_DROPPED)
    except UnicodeEncodeError:
        return _utf8_key(folded)


def _fits_cp1251(text: str) -> bool:
    try:
        text.encode("cp1251")
    except UnicodeEncodeError:
        return False
    return True


def _utf8_key(folded: str) -> bytes:
    data = folded.encode("utf-8", "surrogatepass").translate(None, _UTF8_DROPPED)  # JSON allows lone surrogates
    if b"\xe2" in data:  # one byte: a memchr, where two bytes need a slower search
        for mark in _TYPOGRAPHIC_MARKS_E2:
            data = data.replace(mark, b"")
    if b"\xc2" in data:
        for mark in _TYPOGRAPHIC_MARKS_C2:
            data = data.replace(mark, b"")
    return _UTF8_TAG + data
