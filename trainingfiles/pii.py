"""Personal data in a text: email addresses, phone numbers and card numbers (Luhn-checked)."""

import re
from dataclasses import dataclass
from typing import Literal

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class PiiMatch:
    kind: Literal["email", "phone", "card"]
    start: int
    end: int


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")
# A run of 10–19 digits, possibly grouped by spaces, dashes or parentheses: phones
# (+7 (912) 345-67-89, 8 912 345 67 89, +44 20 7946 0958) and card numbers. Dots are not
# separators, so decimals never match. The pattern starts with a character class, which lets the
# regex engine skip digit-free text quickly; word boundaries and a leading "+" are checked in
# _number_kind, on the few candidates only.
_NUMBER = re.compile(r"[0-9](?:[ \-()]{0,2}[0-9]){9,18}")
_NOT_DIGIT = re.compile(r"[^0-9]")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _number_kind(text: str, match: re.Match) -> tuple[Literal["phone", "card"], int] | None:
    """What a digit run is, and where it starts (a leading "+" included); None when neither."""
    start, end = match.span()
    before = text[start - 1] if start else ""
    if before.isalnum() or before == "_" or (end < len(text) and text[end].isdigit()):
        return None  # part of a word or of a longer number
    digits = _NOT_DIGIT.sub("", match.group())
    if before == "+":
        return ("phone", start - 1) if len(digits) <= 15 else None
    if len(digits) >= 13 and _luhn_ok(digits):
        return "card", start
    # Russian numbers dialled with the trunk prefix: 8 or 7, then a 3/4/8/9xx area or mobile code.
    if len(digits) == 11 and digits[0] in "78" and digits[1] in "3489":
        return "phone", start
    return None


def find_pii(text: str) -> list[PiiMatch]:
    """Email addresses, phone numbers and card numbers (Luhn-checked) in a text, in order."""
    found = []
    if "@" in text:  # most texts have none: skip the scan
        found = [PiiMatch("email", m.start(), m.end()) for m in _EMAIL.finditer(text)]
    for match in _NUMBER.finditer(text):
        if number := _number_kind(text, match):
            found.append(PiiMatch(number[0], number[1], match.end()))
    found.sort(key=lambda m: m.start)
    return found


def redact_pii(text: str) -> str:
    """Replace personal data with `[email]`, `[phone]` and `[card]` (one-click redaction)."""
    matches = find_pii(text)
    if not matches:
        return text
    parts, position = [], 0
    for match in matches:
        if match.start < position:
            continue  # a number inside an email address already redacted
        parts += [text[position : match.start], f"[{match.kind}]"]
        position = match.end
    parts.append(text[position:])
    return "".join(parts)


def pii_messages() -> dict[str, str]:
    return {
        "email": _("This message seems to contain an email address."),
        "phone": _("This message seems to contain a phone number."),
        "card": _("This message seems to contain a payment card number."),
    }


# Maps every digit to "1" and every other byte to "0": a phone or card number, its separators
# dropped by duplicates.near_duplicate_key, shows up as a run of ten "1"s.
_DIGIT_MASK = bytes(b"1"[0] if 48 <= byte <= 57 else b"0"[0] for byte in range(256))
_TEN_DIGITS = b"1" * 10


def may_hold_number(near_key: bytes) -> bool:
    """Whether a text, given its near-duplicate key, may hold a phone or card number: they are
    runs of 10 digits or more once separators are dropped, and most texts have none. Looking
    for such a run in bytes is far cheaper than the pattern."""
    return _TEN_DIGITS in near_key.translate(_DIGIT_MASK)
