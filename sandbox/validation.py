"""Training file validation, as OpenAI does it before a job is queued.

A failure becomes the job's error {code, message, param}; a valid file yields its token counts
and the (prompt, answer) pairs that the tuned model will answer from.
"""

import json
from dataclasses import dataclass, field

from core.images import ImageRefused, from_data_url, image_size, is_data_url
from llm.catalog import SANDBOX, ModelInfo
from llm.tokens import count_messages
from llm.vision import image_tokens

MIN_EXAMPLES = 10
ROLES = ("system", "developer", "user", "assistant", "tool")
SFT_LINE_KEYS = ("messages", "tools", "parallel_tool_calls", "functions")
DPO_LINE_KEYS = ("input", "preferred_output", "non_preferred_output")
# OpenAI's vision fine-tuning: images in user messages only, JPEG, PNG or WebP, 10 MB each, 64 an example.
TRAINING_IMAGE_MAX_BYTES = 10 * 1024 * 1024
TRAINING_IMAGES_PER_EXAMPLE = 64
TRAINING_IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
MESSAGE_KEYS = ("role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call", "refusal")


class InvalidFile(Exception):
    pass


@dataclass
class Dataset:
    tokens: list[int] = field(default_factory=list)  # per example, as billed (capped at the limit)
    pairs: list[dict] = field(default_factory=list)  # {"prompt": user turns, "answer": assistant turn}

    @property
    def total_tokens(self) -> int:
        return sum(self.tokens)


def content_text(content) -> str:
    """The text of a message's content: a string, or a list of parts that carry "text"."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict)).strip()
    return ""


def _check_message(message, where: str) -> None:
    if not isinstance(message, dict):
        raise InvalidFile(f"{where}: expected a JSON object.")
    unknown = sorted(set(message) - set(MESSAGE_KEYS))
    if unknown:
        raise InvalidFile(f"{where}: unrecognized key '{unknown[0]}'.")
    role = message.get("role")
    if role not in ROLES:
        raise InvalidFile(f"{where}: unrecognized role '{role}'; expected one of {', '.join(ROLES)}.")
    if "weight" in message and (role != "assistant" or message["weight"] not in (0, 1)):
        raise InvalidFile(f"{where}: 'weight' must be 0 or 1, and only on assistant messages.")
    calls_a_tool = bool(message.get("tool_calls") or message.get("function_call"))
    images = _image_parts(message.get("content"))
    if images and role != "user":
        raise InvalidFile(f"{where}: images are only allowed in user messages.")
    if not calls_a_tool and not images and not content_text(message.get("content")).strip():
        raise InvalidFile(f"{where}: empty content.")


def _image_parts(content) -> list[dict]:
    if not isinstance(content, list):
        return []
    return [p["image_url"] for p in content if isinstance(p, dict) and p.get("type") == "image_url"]


def _image_tokens(messages: list[dict], where: str, model: ModelInfo) -> int:
    """Check the example's images as OpenAI's vision fine-tuning does; their tokens."""
    images = [image for message in messages for image in _image_parts(message.get("content"))]
    if not images:
        return 0
    if not model.trains_on_images(SANDBOX):
        raise InvalidFile(f"{where}: {model.id} cannot be fine-tuned on images.")
    if len(images) > TRAINING_IMAGES_PER_EXAMPLE:
        raise InvalidFile(f"{where} has {len(images)} images; at most {TRAINING_IMAGES_PER_EXAMPLE} are allowed.")
    tokens = 0
    for image in images:
        url = image.get("url") if isinstance(image, dict) else None
        if not is_data_url(url):
            raise InvalidFile(f"{where}: the sandbox cannot download images; send them as data URLs.")
        try:
            media_type, data = from_data_url(url, limit=TRAINING_IMAGE_MAX_BYTES)
            width, height = image_size(data)
        except ImageRefused:
            raise InvalidFile(f"{where}: an image is over 10 MB or cannot be read.") from None
        if media_type not in TRAINING_IMAGE_TYPES:
            raise InvalidFile(f"{where}: images must be JPEG, PNG or WEBP.")
        tokens += image_tokens(model.image_cost, width, height, image.get("detail") or "auto")
    return tokens


def _as_text(messages: list[dict]) -> list[dict]:
    """Messages with their content as text (image parts are counted apart)."""
    return [
        {**m, "content": content_text(m.get("content"))} if isinstance(m.get("content"), list) else m for m in messages
    ]


def _check_messages(messages, where: str) -> None:
    if not isinstance(messages, list) or not messages:
        raise InvalidFile(f"{where}: missing 'messages' list.")
    for number, message in enumerate(messages, start=1):
        _check_message(message, f"{where}, message {number}")


def _sft_pairs(messages: list[dict]) -> list[dict]:
    pairs, prompt = [], []
    for message in messages:
        if message["role"] == "user":
            prompt.append(content_text(message.get("content")))
        elif message["role"] == "assistant" and message.get("weight", 1) and content_text(message.get("content")):
            pairs.append({"prompt": "\n".join(prompt), "answer": content_text(message["content"])})
            prompt = []
    return pairs


def _sft_example(line: dict, where: str) -> tuple[list[dict], list[dict]]:
    unknown = sorted(set(line) - set(SFT_LINE_KEYS))
    if unknown:
        raise InvalidFile(f"{where}: unrecognized key '{unknown[0]}'.")
    messages = line.get("messages")
    _check_messages(messages, where)
    if not any(m["role"] == "assistant" for m in messages):
        raise InvalidFile(f"{where}: no assistant message; every example needs at least one.")
    return messages, _sft_pairs(messages)


def _dpo_example(line: dict, where: str) -> tuple[list[dict], list[dict]]:
    unknown = sorted(set(line) - set(DPO_LINE_KEYS))
    if unknown:
        raise InvalidFile(f"{where}: unrecognized key '{unknown[0]}'.")
    if not isinstance(line.get("input"), dict):
        raise InvalidFile(f"{where}: missing 'input' object.")
    messages = line["input"].get("messages")
    _check_messages(messages, f"{where}, input")
    outputs = {}
    for side in ("preferred_output", "non_preferred_output"):
        output = line.get(side)
        if not isinstance(output, list) or len(output) != 1:
            raise InvalidFile(f"{where}: '{side}' must hold exactly one assistant message.")
        _check_message(output[0], f"{where}, {side}")
        if output[0]["role"] != "assistant":
            raise InvalidFile(f"{where}: no assistant message in '{side}'.")
        outputs[side] = output[0]
    users = [content_text(m.get("content")) for m in messages if m["role"] == "user"]
    pair = {"prompt": users[-1] if users else "", "answer": content_text(outputs["preferred_output"]["content"])}
    return [*messages, outputs["preferred_output"]], [pair]


def _parse_lines(content: bytes) -> list[dict]:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidFile("Invalid file format: the file is not UTF-8 text.") from None
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            raise InvalidFile(
                f"Invalid file format: expected JSONL, where every line is a JSON object; line {number} is not JSON."
            ) from None
        if not isinstance(line, dict):
            raise InvalidFile(f"Invalid file format: line {number} is not a JSON object.")
        lines.append(line)
    return lines


def dataset_validate(*, content: bytes, method: str, model: ModelInfo) -> Dataset:
    """Check a training (or validation) file; raises InvalidFile with OpenAI-style wording."""
    lines = _parse_lines(content)
    if len(lines) < MIN_EXAMPLES:
        raise InvalidFile(f"Training file has {len(lines)} example(s), but must have at least {MIN_EXAMPLES} examples.")
    limit = model.training_token_limit or 65_536
    dataset = Dataset()
    for number, line in enumerate(lines, start=1):
        where = f"Example {number}"
        messages, pairs = _dpo_example(line, where) if method == "dpo" else _sft_example(line, where)
        tokens = count_messages(_as_text(messages), tools=line.get("tools")) + _image_tokens(messages, where, model)
        if tokens > limit:
            raise InvalidFile(f"{where} has {tokens} tokens, over the {limit}-token limit of {model.id} per example.")
        dataset.tokens.append(tokens)
        dataset.pairs.extend(pairs)
    return dataset
