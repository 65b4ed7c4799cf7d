"""Token counts as validation needs them: many short texts, most of them repeated."""

import functools
import json
from typing import Any

from llm.tokens import TOKENS_PER_NAME, encoding

from .shapes import PLAIN_KEYS, ROLES


def count_text(text: str) -> int:
    """`llm.tokens.count_text` with less overhead per call (validation calls it for every message).

    `encode_ordinary` treats special-token lookalikes as plain text, as `count_text` does, so
    the counts are the same (a test keeps them equal).
    """
    return len(encoding().encode_ordinary(text))


# Roles, names and instructions repeat across examples: count each distinct text once.
count_repeated_text = functools.lru_cache(maxsize=1024)(count_text)


@functools.cache
def tokens_of_roles() -> dict[str, int]:
    return {role: count_text(role) for role in ROLES}


def value_tokens(value: Any) -> int:
    # The same rule as llm.tokens.count_messages (a test keeps the two equal).
    if isinstance(value, str):
        return count_text(value)
    if isinstance(value, (list, dict)):
        return count_text(json.dumps(value, ensure_ascii=False))
    return 0


def canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def extra_tokens(message: dict) -> int:
    # The part of count_messages' rule that concerns keys besides role and content.
    tokens = 0
    for key, value in message.items():
        if key == "name":
            tokens += TOKENS_PER_NAME + (count_repeated_text(value) if type(value) is str else value_tokens(value))
        elif key not in PLAIN_KEYS:
            tokens += value_tokens(value)
    return tokens
