"""Every check a fine-tuning dataset needs before training, with token counts from the same pass.

The format checks are those of OpenAI's chat fine-tuning data-preparation guide (data type,
messages list, message keys, roles, content, an assistant message), extended to today's format
(developer and tool roles, tool calls, `weight`) and to DPO pairs, plus what a curator wants to
know before paying for training: the base model's per-example token limit, dataset size,
duplicates and personal data.

Each example is walked once: its text is tokenized once (the counts follow the guide's rule, as
`llm.tokens.count_messages` does), and duplicates are found by hashing, never by comparing pairs,
because datasets of tens of thousands of examples are validated on page load.
"""

import functools
import itertools
import json
import re
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from django.utils.translation import gettext as _

from llm.catalog import DPO, SFT, ModelInfo
from llm.tokens import TOKENS_PER_EXAMPLE, TOKENS_PER_MESSAGE, TOKENS_PER_NAME, count_texts, encoding

ERROR: Literal["error"] = "error"
WARNING: Literal["warning"] = "warning"
Severity = Literal["error", "warning"]

ROLES = ("system", "developer", "user", "assistant", "tool")
MESSAGE_KEYS = frozenset({"role", "content", "name", "weight", "tool_calls", "tool_call_id"})
# Keys that only one role may carry.
ROLE_ONLY_KEYS = {"weight": "assistant", "tool_calls": "assistant", "tool_call_id": "tool"}
SUPERVISED_KEYS = frozenset({"messages", "tools", "parallel_tool_calls"})
DPO_KEYS = frozenset({"input", "preferred_output", "non_preferred_output"})
DPO_INPUT_KEYS = frozenset({"messages", "tools"})
DPO_OUTPUT_KEYS = frozenset({"role", "content"})
# Instructions are the same in most examples and are the curator's own text: their token counts
# are cached, and they are not scanned for personal data (a support address there is deliberate).
INSTRUCTION_ROLES = frozenset({"system", "developer"})

MIN_EXAMPLES = 10  # OpenAI rejects smaller training files
RECOMMENDED_EXAMPLES = 50
# validate_dataset checks this many examples, then counts the tokens of all their texts in one
# call to the tokenizer (llm.tokens.count_texts). Tokenizing apart from the checks, rather than
# between the checks of each example, made validating 10k examples about a tenth faster
# (0.70 s → 0.63 s, best of 12): the tokenizer and the interpreter stop evicting each other's
# code and tables from the CPU's caches. One call instead of one per message saved a few
# percent more. Memory stays bounded.
TOKENIZE_BATCH = 256


@dataclass(frozen=True)
class Issue:
    code: str  # a stable machine name, e.g. "missing_assistant_message"
    severity: Severity
    message: str  # user-facing, translated
    example_key: object | None = None
    message_index: int | None = None  # 0-based position in the example's messages (DPO: input messages)


class ExampleReport(NamedTuple):
    """One example's findings. A named tuple rather than a frozen dataclass: a dataset makes
    one per example, and a frozen dataclass took four times as long to build."""

    key: object | None
    kind: str | None  # llm.catalog.SFT or DPO; None when the shape is unrecognisable
    issues: tuple[Issue, ...]
    messages: int
    total_tokens: int  # per the guide's rule; DPO: input plus both outputs
    assistant_tokens: int  # content of assistant turns (DPO: both outputs)

    @property
    def errors(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity == ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity == WARNING]

    @property
    def is_valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class DatasetReport:
    examples: tuple[ExampleReport, ...]
    issues: tuple[Issue, ...]  # about the dataset as a whole, or between examples (duplicates)
    kind: str | None  # SFT or DPO when every recognisable example agrees

    def all_issues(self) -> Iterator[Issue]:
        yield from self.issues
        for report in self.examples:
            yield from report.issues

    def issues_by_example(self) -> dict[object, list[Issue]]:
        """Every issue that concerns one example (duplicates included), by example key."""
        grouped: dict[object, list[Issue]] = {}
        for issue in self.all_issues():
            if issue.example_key is not None:
                grouped.setdefault(issue.example_key, []).append(issue)
        return grouped

    @property
    def error_count(self) -> int:
        return sum(1 for issue in self.all_issues() if issue.severity == ERROR)

    @property
    def warning_count(self) -> int:
        return sum(1 for issue in self.all_issues() if issue.severity == WARNING)

    @property
    def is_blocked(self) -> bool:
        """Training must not start: at least one error."""
        return any(issue.severity == ERROR for issue in self.all_issues())


def example_kind(example: object) -> str | None:
    """SFT for a chat example, DPO for a preference pair, None when it is neither."""
    if not isinstance(example, dict):
        return None
    if "messages" in example:
        return SFT
    if not DPO_KEYS.isdisjoint(example):
        return DPO
    return None


def validate_example(example: object, *, token_limit: int | None, key: object | None = None) -> ExampleReport:
    """Check one supervised example or DPO pair; count its tokens (tokenizing each text once).

    `token_limit` is the base model's per-example training limit (`ModelInfo.training_token_limit`);
    None skips that check.
    """
    inspection = _Inspection(key)
    inspection.run(example)
    return inspection.report(count_texts(inspection.texts), token_limit=token_limit)


def example_errors(example: object) -> list[Issue]:
    """The format errors of one example, without counting tokens: what makes an import fail."""
    inspection = _Inspection(None, count_tokens=False, scan_text=False)
    inspection.run(example)
    return [issue for issue in inspection.issues if issue.severity == ERROR]


def validate_dataset(examples: Iterable[tuple[object, object]], *, base_model: ModelInfo | None) -> DatasetReport:
    """Check every example, then the dataset as a whole: size, mixed kinds, duplicates.

    `examples` yields (key, example) pairs; the key comes back in each issue (e.g. a primary key).
    Exact duplicates are equal examples; near-duplicates have the same words once case,
    punctuation and spacing are ignored (instructions aside). Both are found through one hash per
    example, so memory and time stay linear.
    """
    token_limit = base_model.training_token_limit if base_model else None
    reports: list[ExampleReport] = []
    issues: list[Issue] = []
    exact_seen: dict[int, object] = {}
    near_seen: dict[int, object] = {}
    kinds: set[str] = set()
    for batch in itertools.batched(examples, TOKENIZE_BATCH):
        inspections = []
        for key, example in batch:
            inspection = _Inspection(key)
            inspection.run(example)
            inspections.append(inspection)
        counts = count_texts([text for inspection in inspections for text in inspection.texts])
        start = 0
        for inspection in inspections:
            end = start + len(inspection.texts)
            report = inspection.report(counts[start:end], token_limit=token_limit)
            start = end
            reports.append(report)
            if report.kind:
                kinds.add(report.kind)
            if inspection.exact_fingerprint is not None and not inspection.has_errors:
                _find_duplicate(inspection, exact_seen, near_seen, issues)

    count = len(reports)
    if count < MIN_EXAMPLES:
        message = _("A dataset needs at least %(minimum)s examples to train; this one has %(count)s.") % {
            "minimum": MIN_EXAMPLES,
            "count": count,
        }
        issues.insert(0, Issue("too_few_examples", ERROR, message))
    elif count < RECOMMENDED_EXAMPLES:
        message = _("%(count)s examples can train, but %(recommended)s or more usually work clearly better.") % {
            "count": count,
            "recommended": RECOMMENDED_EXAMPLES,
        }
        issues.insert(0, Issue("few_examples", WARNING, message))
    if len(kinds) > 1:
        message = _("The dataset mixes chat examples and preference pairs; a training file holds one kind.")
        issues.insert(0, Issue("mixed_kinds", ERROR, message))
    kind = kinds.pop() if len(kinds) == 1 else None
    if base_model is not None and kind is not None and kind not in base_model.methods:
        message = _("%(model)s cannot be trained with this kind of example (%(method)s).") % {
            "model": base_model.label,
            "method": kind,
        }
        issues.insert(0, Issue("method_not_supported", ERROR, message))
    return DatasetReport(examples=tuple(reports), issues=tuple(issues), kind=kind)


def _find_duplicate(
    inspection: "_Inspection", exact_seen: dict[int, object], near_seen: dict[int, object], issues: list[Issue]
) -> None:
    """Note the example's fingerprints; report it if an earlier example had the same one."""
    key = inspection.key
    if inspection.exact_fingerprint in exact_seen:
        first = exact_seen[inspection.exact_fingerprint]
        message = _("This example is the same as example %(other)s.") % {"other": first}
        issues.append(Issue("duplicate", WARNING, message, key))
        return
    exact_seen[inspection.exact_fingerprint] = key
    if inspection.near_fingerprint in near_seen:
        first = near_seen[inspection.near_fingerprint]
        message = _("This example says almost exactly what example %(other)s says.") % {"other": first}
        issues.append(Issue("near_duplicate", WARNING, message, key))
    else:
        near_seen[inspection.near_fingerprint] = key


# Personal data ------------------------------------------------------------------------------


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


def _pii_messages() -> dict[str, str]:
    return {
        "email": _("This message seems to contain an email address."),
        "phone": _("This message seems to contain a phone number."),
        "card": _("This message seems to contain a payment card number."),
    }


# Near-duplicates ----------------------------------------------------------------------------
#
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
# Maps every digit to "1" and every other byte to "0": a phone or card number, its separators
# dropped by near_duplicate_key, shows up as a run of ten "1"s.
_DIGIT_MASK = bytes(b"1"[0] if 48 <= byte <= 57 else b"0"[0] for byte in range(256))
_TEN_DIGITS = b"1" * 10


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


# Token counting -----------------------------------------------------------------------------


def count_text(text: str) -> int:
    """`llm.tokens.count_text` with less overhead per call (validation calls it for every message).

    `encode_ordinary` treats special-token lookalikes as plain text, as `count_text` does, so
    the counts are the same (a test keeps them equal).
    """
    return len(encoding().encode_ordinary(text))


# Roles, names and instructions repeat across examples: count each distinct text once.
_count_repeated_text = functools.lru_cache(maxsize=1024)(count_text)


@functools.cache
def _role_tokens() -> dict[str, int]:
    return {role: count_text(role) for role in ROLES}


def _value_tokens(value: Any) -> int:
    # The same rule as llm.tokens.count_messages (a test keeps the two equal).
    if isinstance(value, str):
        return count_text(value)
    if isinstance(value, (list, dict)):
        return count_text(json.dumps(value, ensure_ascii=False))
    return 0


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


# The walk over one example ------------------------------------------------------------------

_PLAIN_KEYS = frozenset({"role", "content"})


class _Inspection:
    """One pass over one example: issues, the texts to tokenize and duplicate fingerprints together.

    `run` checks the example and collects its learner and assistant texts; the caller tokenizes
    them (for a dataset, many examples' at once) and hands the counts to `report`, which adds
    them up and checks the token limit. The common message, {"role", "content"} with text, takes
    a short path; anything else (weights, names, tool calls, mistakes) goes through the detailed
    checks.
    """

    def __init__(self, key: object, *, count_tokens: bool = True, scan_text: bool = True):
        self.key = key
        self.count_tokens = count_tokens
        self.scan_text = scan_text  # personal data and duplicate fingerprints
        self.kind: str | None = None
        self.issues: list[Issue] = []
        self.has_errors = False
        self.messages = 0
        # Tokens outside `texts`: instructions, roles, names, tool definitions and calls, and the
        # format's own tokens per example and per message.
        self.fixed_tokens = 0
        self.exact_parts: list[object] = []
        # Learner and assistant text (not instructions), with the index of its message (None: a DPO output).
        self.texts: list[str] = []
        self.text_indexes: list[int | None] = []
        self.assistant_texts: list[int] = []  # positions in `texts` of assistant answers
        self.exact_fingerprint: int | None = None
        self.near_fingerprint: int | None = None

    def error(self, code: str, message: str, index: int | None = None) -> None:
        self.has_errors = True
        self.issues.append(Issue(code, ERROR, message, self.key, index))

    def warning(self, code: str, message: str, index: int | None = None) -> None:
        self.issues.append(Issue(code, WARNING, message, self.key, index))

    def run(self, example: object) -> None:
        self.kind = kind = example_kind(example)
        if not isinstance(example, dict):
            self.error("data_type", _("An example must be a JSON object."))
        elif kind == DPO:
            self._check_dpo(example)
        else:
            self._check_supervised(example)
        if self.scan_text and self.texts:
            self._scan_text()

    def report(self, text_tokens: list[int], *, token_limit: int | None) -> ExampleReport:
        """The report, given the token count of each of `texts` (as `count_text` counts)."""
        total_tokens = self.fixed_tokens + sum(text_tokens)
        if token_limit is not None and total_tokens > token_limit:
            # Longer examples get cut from the end, which is where the answer to learn is.
            message = _("The example has %(tokens)s tokens; the base model trains on at most %(limit)s.") % {
                "tokens": total_tokens,
                "limit": token_limit,
            }
            self.error("token_limit", message)
        assistant_tokens = sum(map(text_tokens.__getitem__, self.assistant_texts))
        return ExampleReport(self.key, self.kind, tuple(self.issues), self.messages, total_tokens, assistant_tokens)

    # Supervised examples

    def _check_supervised(self, example: dict) -> None:
        if not example.keys() <= SUPERVISED_KEYS:
            unknown = sorted(set(example) - SUPERVISED_KEYS, key=str)
            self.error("unrecognized_key", _("Unknown keys in the example: %(keys)s.") % {"keys": _names(unknown)})
        messages = example.get("messages")
        if not isinstance(messages, list) or not messages:
            self.error("missing_messages_list", _("The example has no list of messages."))
            return
        tools = example.get("tools")
        tool_names = self._check_tools(tools)
        parallel = example.get("parallel_tool_calls")
        if parallel is not None and not isinstance(parallel, bool):
            self.error("bad_parallel_tool_calls", _("“parallel_tool_calls” must be true or false."))
        self.exact_parts.append((parallel, _canonical(tools) if tools is not None else None))
        if self.count_tokens:
            self.fixed_tokens = TOKENS_PER_EXAMPLE + (_value_tokens(tools) if tools is not None else 0)
        assistants, learned = self._check_messages(messages, tool_names)

        if not assistants:
            self.error("missing_assistant_message", _("The example has no assistant message to learn from."))
        elif not learned:
            self.error("nothing_to_learn", _("Every assistant message has weight 0, so there is nothing to learn."))
        elif isinstance(messages[-1], dict) and messages[-1].get("role") != "assistant":
            self.warning(
                "last_message_not_assistant",
                _("The example goes on after the last assistant answer; the messages after it teach nothing."),
                len(messages) - 1,
            )

    def _check_tools(self, tools: object) -> set[str] | None:
        """The function names the example declares; None when it declares none."""
        if tools is None:
            return None
        if not isinstance(tools, list):
            self.error("bad_tools", _("“tools” must be a list of function definitions."))
            return None
        names = set()
        for tool in tools:
            function = tool.get("function") if isinstance(tool, dict) else None
            name = function.get("name") if isinstance(function, dict) else None
            if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(name, str) or not name:
                self.error("bad_tools", _("Each tool must be {“type”: “function”, “function”: {“name”: …}}."))
                return None
            names.add(name)
        return names

    def _check_messages(self, messages: list, tool_names: set[str] | None) -> tuple[int, int]:
        """Check every message and collect its text; returns how many assistant turns there are,
        and are learned."""
        assistants = learned = tokens = 0
        pending_calls: dict[str, str] = {}  # tool call id → function name, until a tool message answers it
        answered: set[str] = set()
        # This loop runs for every message of every example: names it uses are bound locally.
        count_tokens = self.count_tokens
        role_tokens = _role_tokens()
        texts = self.texts
        assistant_texts = self.assistant_texts
        add_part, add_text, add_index = self.exact_parts.append, texts.append, self.text_indexes.append
        for index, message in enumerate(messages):
            if not isinstance(message, dict):
                self.error("message_not_object", _("A message must be a JSON object."), index)
                continue
            role = message.get("role")
            content = message.get("content")
            # A role that is not text may not even be hashable (a list): look it up only when it is text.
            tokens_of_role = role_tokens.get(role) if type(role) is str else None
            if tokens_of_role is None:
                self._check_role(role, index)
                if count_tokens:
                    tokens += _count_repeated_text(role) if type(role) is str else _value_tokens(role)
            elif count_tokens:
                tokens += tokens_of_role
            if pending_calls and role != "tool":
                self.error(
                    "unanswered_tool_call",
                    _("Tool calls %(ids)s get no tool answer before this message.") % {"ids": _names(pending_calls)},
                    index,
                )
                pending_calls.clear()
            # The common message has a role and a content and nothing else: two keys, neither None.
            if len(message) == 2 and content is not None and role is not None and role != "tool":
                has_calls = False
                is_learned = True
            else:
                has_calls, is_learned = self._check_details(message, role, index, tool_names, pending_calls, answered)
                add_part(_extras(message))
                if count_tokens:
                    tokens += _extra_tokens(message)
            if role == "assistant":
                assistants += 1
                learned += is_learned

            if type(content) is str:
                if (not content or content.isspace()) and role != "tool" and not has_calls:
                    # An empty tool result is a real answer; an empty turn of anyone else is a mistake.
                    if role == "assistant":
                        self.error("empty_content", _("The assistant answer is empty."), index)
                    else:
                        self.error("empty_content", _("The message is empty."), index)
                if tokens_of_role is not None and role in INSTRUCTION_ROLES:
                    if count_tokens:
                        tokens += _count_repeated_text(content)
                else:
                    if role == "assistant":
                        assistant_texts.append(len(texts))
                    add_text(content)
                    add_index(index)
            elif content is None:
                if not has_calls:
                    self.error("missing_content", _("The message has no “content”."), index)
            else:
                self.error("missing_content", _("“content” must be text."), index)
                if count_tokens:
                    tokens += _value_tokens(content)
            add_part(role)
            add_part(content)
        if pending_calls and isinstance(messages[-1], dict) and messages[-1].get("role") == "tool":
            message = _("Tool calls %(ids)s get no tool answer.") % {"ids": _names(pending_calls)}
            self.error("unanswered_tool_call", message, len(messages) - 1)
        self.messages += len(messages)
        if count_tokens:
            self.fixed_tokens += tokens + TOKENS_PER_MESSAGE * len(messages)
        return assistants, learned

    def _check_role(self, role: object, index: int) -> None:
        if role is None:
            self.error("message_missing_key", _("The message has no “role”."), index)
        else:
            message = _("“%(role)s” is not a role; use one of %(roles)s.") % {"role": role, "roles": _names(ROLES)}
            self.error("unrecognized_role", message, index)

    def _check_details(
        self,
        message: dict,
        role: object,
        index: int,
        tool_names: set[str] | None,
        pending_calls: dict[str, str],
        answered: set[str],
    ) -> tuple[bool, bool]:
        """Keys besides role and content: returns (has tool calls, is learned from)."""
        if unknown := sorted(set(message) - MESSAGE_KEYS, key=str):
            self.error(
                "message_unrecognized_key",
                _("Unknown keys in the message: %(keys)s.") % {"keys": _names(unknown)},
                index,
            )
        for key, only_role in ROLE_ONLY_KEYS.items():
            if key in message and role != only_role and role in ROLES:
                code = "weight_not_on_assistant" if key == "weight" else "message_unrecognized_key"
                text = _("Only %(only)s messages may have “%(key)s”.") % {"only": only_role, "key": key}
                self.error(code, text, index)
        if "name" in message and (not isinstance(message["name"], str) or not message["name"].strip()):
            self.error("bad_name", _("“name” must be a non-empty text."), index)
        weight = message.get("weight", 1)
        if role == "assistant" and (isinstance(weight, bool) or weight not in (0, 1)):
            self.error("bad_weight", _("“weight” must be 0 or 1."), index)
        calls = message.get("tool_calls")
        has_calls = role == "assistant" and calls is not None
        if has_calls:
            self._check_tool_calls(calls, index, tool_names, pending_calls, answered)
        if role == "tool":
            self._check_tool_answer(message.get("tool_call_id"), index, pending_calls, answered)
        return has_calls, weight != 0

    def _check_tool_calls(
        self, calls: object, index: int, tool_names: set[str] | None, pending: dict[str, str], answered: set[str]
    ) -> None:
        if not isinstance(calls, list) or not calls:
            self.error("bad_tool_call", _("“tool_calls” must be a non-empty list."), index)
            return
        for call in calls:
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(call, dict) or call.get("type") != "function" or not isinstance(function, dict):
                message = _("A tool call must be {“id”, “type”: “function”, “function”: {“name”, “arguments”}}.")
                self.error("bad_tool_call", message, index)
                continue
            call_id, name, arguments = call.get("id"), function.get("name"), function.get("arguments")
            if not isinstance(call_id, str) or not call_id:
                self.error("bad_tool_call", _("A tool call has no “id”."), index)
            elif call_id in pending or call_id in answered:
                self.error("bad_tool_call", _("Tool call id %(id)s is used twice.") % {"id": call_id}, index)
            if not isinstance(name, str) or not name:
                self.error("bad_tool_call", _("A tool call has no function name."), index)
            elif tool_names is not None and name not in tool_names:
                message = _("The tool call uses function %(name)s, which the example's tools do not define.")
                self.warning("unknown_tool", message % {"name": name}, index)
            if not _is_json_text(arguments):
                message = _("The arguments of tool call %(name)s must be a JSON text.") % {"name": name}
                self.error("bad_tool_arguments", message, index)
            if isinstance(call_id, str) and call_id:
                pending[call_id] = name if isinstance(name, str) else ""

    def _check_tool_answer(self, call_id: object, index: int, pending: dict[str, str], answered: set[str]) -> None:
        if not isinstance(call_id, str) or not call_id:
            self.error("missing_tool_call_id", _("A tool message needs the “tool_call_id” it answers."), index)
        elif call_id in pending:
            del pending[call_id]
            answered.add(call_id)
        else:
            message = _("This tool message answers %(id)s, but no earlier assistant message made that call.")
            self.error("unmatched_tool_call", message % {"id": call_id}, index)

    def _scan_text(self) -> None:
        """Personal data and the duplicate fingerprints, from the example's text taken as a whole."""
        text = "\n".join(self.texts)
        near_key = near_duplicate_key(text)
        # Phone and card numbers are runs of 10 digits or more once separators are dropped, and
        # most texts have none: looking for such a run in bytes is far cheaper than the pattern.
        if ("@" in text or _TEN_DIGITS in near_key.translate(_DIGIT_MASK)) and find_pii(text):
            self._report_pii()
        if self.exact_parts and not self.has_errors:
            self.exact_fingerprint = hash(tuple(self.exact_parts))
            self.near_fingerprint = hash(near_key)

    def _report_pii(self) -> None:
        # The example's text holds personal data: find out which messages do.
        messages = _pii_messages()
        for text, index in zip(self.texts, self.text_indexes, strict=True):
            kinds = {match.kind for match in find_pii(text)}
            for kind in ("email", "phone", "card"):
                if kind in kinds:
                    self.warning(f"pii_{kind}", messages[kind], index)

    # DPO pairs

    def _check_dpo(self, example: dict) -> None:
        if unknown := sorted(set(example) - DPO_KEYS, key=str):
            self.error("unrecognized_key", _("Unknown keys in the pair: %(keys)s.") % {"keys": _names(unknown)})
        prompt = example.get("input")
        messages = prompt.get("messages") if isinstance(prompt, dict) else None
        if not isinstance(messages, list) or not messages:
            self.error("missing_messages_list", _("The pair has no “input” with a list of messages."))
            return
        if unknown := sorted(set(prompt) - DPO_INPUT_KEYS, key=str):
            self.error("unrecognized_key", _("Unknown keys in the input: %(keys)s.") % {"keys": _names(unknown)})
        tools = prompt.get("tools")
        tool_names = self._check_tools(tools)
        self.exact_parts.append(_canonical(tools) if tools is not None else None)
        if self.count_tokens:
            self.fixed_tokens = TOKENS_PER_EXAMPLE + (_value_tokens(tools) if tools is not None else 0)
        self._check_messages(messages, tool_names)
        if isinstance(messages[-1], dict) and messages[-1].get("role") == "assistant":
            message = _("The input ends with an assistant message; it should end where the answer is due.")
            self.warning("input_ends_with_assistant", message, len(messages) - 1)
        preferred = self._check_output(example.get("preferred_output"), _("preferred output"))
        rejected = self._check_output(example.get("non_preferred_output"), _("non-preferred output"))
        if preferred is not None and rejected is not None and preferred.strip() == rejected.strip():
            self.error("identical_outputs", _("The preferred and non-preferred answers are the same."))

    def _check_output(self, output: object, side: str) -> str | None:
        """The output's answer text when the output is well-formed."""
        if not isinstance(output, list) or len(output) != 1 or not isinstance(output[0], dict):
            message = _("The %(side)s must be a list with exactly one assistant message.") % {"side": side}
            self.error("bad_dpo_output", message)
            return None
        message = output[0]
        self.messages += 1
        if message.get("role") != "assistant" or not DPO_OUTPUT_KEYS.issuperset(message):
            text = _("The %(side)s must be {“role”: “assistant”, “content”: …}.") % {"side": side}
            self.error("bad_dpo_output", text)
            return None
        content = message.get("content")
        if not isinstance(content, str):
            self.error("missing_content", _("The %(side)s has no text.") % {"side": side})
            return None
        if not content.strip():
            self.error("empty_content", _("The %(side)s is empty.") % {"side": side})
        if self.count_tokens:
            self.fixed_tokens += TOKENS_PER_MESSAGE + _count_repeated_text("assistant")
        self.exact_parts.append(content)
        self.assistant_texts.append(len(self.texts))
        self.texts.append(content)
        self.text_indexes.append(None)
        return content


def _extras(message: dict) -> tuple:
    """A message's keys besides role and content, hashable, for the duplicate fingerprint."""
    return tuple(
        sorted(
            (key, _canonical(value) if isinstance(value, (list, dict)) else value)
            for key, value in message.items()
            if key not in _PLAIN_KEYS
        )
    )


def _extra_tokens(message: dict) -> int:
    # The part of count_messages' rule that concerns keys besides role and content.
    tokens = 0
    for key, value in message.items():
        if key == "name":
            tokens += TOKENS_PER_NAME + (_count_repeated_text(value) if type(value) is str else _value_tokens(value))
        elif key not in _PLAIN_KEYS:
            tokens += _value_tokens(value)
    return tokens


def _is_json_text(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def _names(names: Iterable[object]) -> str:
    return ", ".join(str(name) for name in names)
