"""The shapes of fine-tuning examples and the files they travel in.

A supervised example is one line of OpenAI's chat fine-tuning file::

    {"messages": [{"role": "system" | "developer" | "user" | "assistant" | "tool", "content": ...,
                   "name"?: ..., "weight"?: 0 | 1 (assistant only),
                   "tool_calls"?: [{"id", "type": "function", "function": {"name", "arguments"}}],
                   "tool_call_id"?: ... (tool only)}, ...],
     "tools"?: [...], "parallel_tool_calls"?: bool}

A DPO pair is one line of OpenAI's preference file::

    {"input": {"messages": [...], "tools"?: [...]},
     "preferred_output": [{"role": "assistant", "content": ...}],
     "non_preferred_output": [{"role": "assistant", "content": ...}]}

Exports are generators of JSONL lines (UTF-8 bytes, each ending in a newline), so a streaming
response writes a dataset of any size with flat memory. Imports are all-or-nothing: they either return every
example or, with the first problem, nothing but a report naming each bad line.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import orjson
from django.template.defaultfilters import filesizeformat
from django.utils.text import normalize_newlines
from django.utils.translation import gettext as _

from llm.catalog import DPO, SFT

from .hf_chat import hf_chat_example
from .shapes import DPO_KEYS, SUPERVISED_KEYS, example_kind
from .validation import example_errors

DEFAULT_MAX_ERRORS = 100  # a broken file should be told about, not listed line by line forever

# Export --------------------------------------------------------------------------------------


# orjson writes UTF-8 as it is (Russian stays readable) and is several times faster than the
# json module, which took an eighth of validating and exporting a dataset. It refuses two things an
# imported file can carry: integers beyond 64 bits and lone surrogates ("\\ud800", which has no
# UTF-8 form). Those lines go through the json module, with the same separators and with
# non-ASCII characters escaped, which keeps the surrogate and the line valid JSON.
_JSON_OPTIONS = orjson.OPT_APPEND_NEWLINE
_fallback_encoder = json.JSONEncoder(check_circular=False, separators=(",", ":"))


def _line(data: Mapping[str, Any]) -> bytes:
    try:
        return orjson.dumps(data, option=_JSON_OPTIONS)
    except orjson.JSONEncodeError:
        return _fallback_encoder.encode(data).encode() + b"\n"


class _NotJson(ValueError):
    """NaN or Infinity: the json module reads them, but they are not JSON and providers refuse them."""


def _refuse_constant(name: str) -> None:
    raise _NotJson(name)


def export_supervised(examples: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    """OpenAI chat fine-tuning JSONL, `weight` included: one line per example.

    Keys other than `messages`, `tools` and `parallel_tool_calls` are left out, because OpenAI
    rejects a file with unknown keys; examples are otherwise written exactly as given.
    """
    return _lines_of_known_keys(examples, SUPERVISED_KEYS)


def export_dpo(pairs: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    """OpenAI preference (DPO) JSONL: one line per pair, unknown keys left out."""
    return _lines_of_known_keys(pairs, DPO_KEYS)


def _lines_of_known_keys(records: Iterable[Mapping[str, Any]], keys: frozenset[str]) -> Iterator[bytes]:
    for record in records:
        yield _line(record if record.keys() <= keys else {key: value for key, value in record.items() if key in keys})


def export_hf_chat(examples: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    """Hugging Face chat JSONL (`{"messages": [{"role", "content"}...], "images"?, "tools"?}`) for TRL.

    Every turn is kept. The chat format has no weights, so `weight` is lost: turns the OpenAI
    file marks with weight 0 are learned from too (TRL learns every assistant turn).
    """
    for example in examples:
        yield _line(hf_chat_example(example))


# Import --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineError:
    line: int  # 1-based line of the file; 0 when the problem is the file as a whole
    message: str

    def __str__(self) -> str:
        if not self.line:
            return self.message
        return _("Line %(line)s: %(problem)s") % {"line": self.line, "problem": self.message}


@dataclass(frozen=True)
class ImportResult:
    """Every example of the file, or none of them and the reasons why."""

    examples: list[dict[str, Any]] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    kind: str | None = None  # llm.catalog.SFT or DPO

    @property
    def ok(self) -> bool:
        return not self.errors


Source = bytes | str | BinaryIO


def parse_jsonl(
    source: Source, *, max_bytes: int, max_lines: int, max_errors: int = DEFAULT_MAX_ERRORS
) -> ImportResult:
    """Read a JSONL file of supervised examples (OpenAI chat format) or of DPO pairs.

    `source` is the file's bytes, text, or a binary file object (an upload); at most `max_bytes`
    are read. Blank lines are skipped. Every line is checked like `validation.example_errors`
    does; on any problem the result holds no examples, only the errors (up to `max_errors`).
    """
    data = _read(source, max_bytes=max_bytes)
    if isinstance(data, LineError):
        return ImportResult(errors=[data])
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a BOM, as some Windows editors write
    collect = _Collector(max_lines=max_lines, max_errors=max_errors)
    # Split bytes on "\n" only: str.splitlines() would also split on U+2028 and friends,
    # which JSON allows unescaped inside strings.
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        if collect.stop(number):
            break
        try:
            example = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        except UnicodeDecodeError:
            collect.error(number, _("The line is not UTF-8 text."))
            continue
        except json.JSONDecodeError as error:
            reason = {"reason": error.msg, "column": error.colno}
            collect.error(number, _("Not valid JSON: %(reason)s (column %(column)s).") % reason)
            continue
        except _NotJson as error:
            collect.error(number, _("Not valid JSON: %(value)s is not a JSON value.") % {"value": error})
            continue
        except RecursionError:
            collect.error(number, _("The JSON is nested too deeply."))
            continue
        if b"\\u" in raw and has_unstorable_text(example):  # only an escape can bring them in
            collect.error(number, _unstorable_message())
            continue
        collect.example(number, example)
    return collect.result()


CSV_COLUMNS = ("question", "answer")
CSV_OPTIONAL_COLUMNS = ("system",)


def _cell(row: list[str], index: int) -> str:
    return normalize_newlines(row[index]).strip() if index < len(row) else ""


def parse_csv(source: Source, *, max_bytes: int, max_lines: int, max_errors: int = DEFAULT_MAX_ERRORS) -> ImportResult:
    """Read question/answer pairs from a spreadsheet export into supervised examples.

    The first row names the columns: `question` and `answer` are required, `system` is optional
    (case and surrounding spaces do not matter; other columns are ignored). Commas, semicolons
    (what Excel writes in Russian locales) and tabs are recognised from the header. UTF-8 with or
    without a BOM. Each row becomes [system?, user, assistant], cells stripped of surrounding
    spaces, their line breaks stored as LF; all-or-nothing like `parse_jsonl`.
    """
    data = _read(source, max_bytes=max_bytes)
    if isinstance(data, LineError):
        return ImportResult(errors=[data])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        message = _("The file is not UTF-8 text; save it as “CSV UTF-8” and try again.")
        return ImportResult(errors=[LineError(line, message)])
    header_line = text.split("\n", 1)[0]
    if not header_line.strip():
        message = _("The file is empty.") if not text.strip() else _("The first row must name the columns.")
        return ImportResult(errors=[LineError(0 if not text.strip() else 1, message)])

    delimiter, columns = _csv_header(header_line)
    missing = [name for name in CSV_COLUMNS if name not in columns]
    if missing:
        message = _("The first row must name the columns %(required)s; missing: %(missing)s (found: %(found)s).") % {
            "required": ", ".join(CSV_COLUMNS),
            "missing": ", ".join(missing),
            "found": ", ".join(name for name in columns if name) or "—",
        }
        return ImportResult(errors=[LineError(1, message)])
    position = {name: columns.index(name) for name in (*CSV_COLUMNS, *CSV_OPTIONAL_COLUMNS) if name in columns}

    collect = _Collector(max_lines=max_lines, max_errors=max_errors)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(reader)  # the header
    line = reader.line_num
    try:
        for row in reader:
            number, line = line + 1, reader.line_num  # a quoted cell may span several lines
            if not any(cell.strip() for cell in row):
                continue
            if collect.stop(number):
                break
            # A cell's line breaks are kept as typed but stored as LF: Excel writes CRLF.
            cells = {name: _cell(row, index) for name, index in position.items()}
            if has_unstorable_text(cells):
                collect.error(number, _unstorable_message())
                continue
            if not cells["question"] or not cells["answer"]:
                empty = "question" if not cells["question"] else "answer"
                collect.error(number, _("The “%(column)s” cell is empty.") % {"column": empty})
                continue
            messages = [
                {"role": "user", "content": cells["question"]},
                {"role": "assistant", "content": cells["answer"]},
            ]
            if cells.get("system"):
                messages.insert(0, {"role": "system", "content": cells["system"]})
            collect.example(number, {"messages": messages})
    except csv.Error as error:
        collect.error(line + 1, _("The row cannot be read as CSV: %(reason)s.") % {"reason": error})
    return collect.result()


def has_unstorable_text(value: object) -> bool:
    """Whether a text in `value` (a string, or lists and objects holding strings) has a character
    that a database cannot store: NUL (PostgreSQL refuses it) or half of a surrogate pair (which
    has no UTF-8 form). JSON can carry both as escapes; what is imported or recorded is refused."""
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode()
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(has_unstorable_text(key) or has_unstorable_text(item) for key, item in value.items())
    if isinstance(value, list):
        return any(map(has_unstorable_text, value))
    return False


def _unstorable_message() -> str:
    return _("The line holds a character that cannot be stored: NUL (\\u0000) or half of a surrogate pair.")


def _csv_header(header_line: str) -> tuple[str, list[str]]:
    """The delimiter and the normalised column names: the first delimiter that finds the required columns."""
    best: tuple[str, list[str]] | None = None
    for delimiter in (",", ";", "\t"):
        columns = [cell.strip().casefold() for cell in next(csv.reader([header_line], delimiter=delimiter))]
        if all(name in columns for name in CSV_COLUMNS):
            return delimiter, columns
        if best is None or len(columns) > len(best[1]):
            best = (delimiter, columns)
    assert best is not None
    return best  # the likeliest reading, so the error can say what the header holds


def _read(source: Source, *, max_bytes: int) -> bytes | LineError:
    if isinstance(source, str):
        data = source.encode("utf-8")
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        data = source.read(max_bytes + 1)  # one byte more tells "too big" without reading it all
    if len(data) > max_bytes:
        message = _("The file is larger than %(limit)s; split it into smaller files.") % {
            "limit": filesizeformat(max_bytes)
        }
        return LineError(0, message)
    if not data.strip():
        return LineError(0, _("The file is empty."))
    return data


class _Collector:
    """Gathers examples and errors line by line, with the limits every import shares."""

    def __init__(self, *, max_lines: int, max_errors: int):
        self.max_lines = max_lines
        self.max_errors = max_errors
        self.examples: list[dict[str, Any]] = []
        self.errors: list[LineError] = []
        self.kind: str | None = None
        self.count = 0

    def stop(self, number: int) -> bool:
        """Count one more example line; True when reading should stop here."""
        self.count += 1
        if self.count > self.max_lines:
            message = _("The file has more than %(limit)s examples; split it into smaller files.")
            self.errors.append(LineError(number, message % {"limit": self.max_lines}))
            return True
        if len(self.errors) >= self.max_errors:
            message = _("Too many errors; stopped reading here. Fix the lines above and try again.")
            self.errors.append(LineError(number, message))
            return True
        return False

    def error(self, number: int, message: str) -> None:
        self.errors.append(LineError(number, message))

    def example(self, number: int, example: Any) -> None:
        problems = example_errors(example)
        for issue in problems:
            message = issue.message
            if issue.message_index is not None:
                message = _("Message %(number)s: %(problem)s") % {"number": issue.message_index + 1, "problem": message}
            self.error(number, message)
        if problems:
            return
        kind = example_kind(example)
        if self.kind is None:
            self.kind = kind
        elif kind != self.kind:
            labels = {SFT: _("a chat example"), DPO: _("a preference pair")}
            message = _("This line is %(kind)s, but the file began with %(first)s; a file holds one kind.") % {
                "kind": labels[kind],
                "first": labels[self.kind],
            }
            self.error(number, message)
            return
        self.examples.append(example)

    def result(self) -> ImportResult:
        if not self.errors and not self.examples:
            self.errors.append(LineError(0, _("The file has no examples.")))
        if self.errors:
            return ImportResult(errors=self.errors)
        return ImportResult(examples=self.examples, kind=self.kind)
