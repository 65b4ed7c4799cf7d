"""From a snapshot's JSONL lines to what the model trains on, with OpenAI's semantics exactly.

Supervised lines (`{"messages": [...], "tools"?: [...]}`): the loss is on assistant turns only; an
assistant message with `"weight": 0` teaches nothing; system, developer, user and tool turns are
context; the assistant's tool calls are learned; the system message and the tools are part of the
prompt. `input_ids` and `labels` are built here from the base model's own chat template, so the
mask is exact for any template:

1. the whole conversation is rendered to text once, and tokenized once with character offsets;
2. each learned assistant turn is located in that text by rendering the conversation up to the turn
   (with the generation prompt) and up to and including it: the turn is what the second adds to the
   first, its end-of-turn marker included, so the model also learns to stop;
3. a token is labelled when it starts inside a learned turn; every other label is -100.

Templates that do not render tools or tool calls (SmolLM2's, for one) get them in the format that
vLLM's `hermes` tool parser reads: the tools as JSON in a `<tools>` block of the system message, each
call as `<tool_call>{"name", "arguments"}</tool_call>` in the assistant's text, and results inside
`<tool_response>`. A template that renders earlier turns differently once later turns follow cannot be
masked exactly and is refused with its reason.

DPO lines (`{"input": {"messages", "tools"?}, "preferred_output": [...], "non_preferred_output":
[...]}`) become TRL's conversational `prompt` / `chosen` / `rejected`, normalised the same way.
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .protocol import MULTIMODAL, TEMPLATE, TrainerError

CONTEXT_ROLES = {"system", "developer", "user", "tool"}
PROBE_TOOL = {
    "type": "function",
    "function": {
        "name": "gradcap_probe_function",
        "description": "probe",
        "parameters": {"type": "object", "properties": {}},
    },
}


def read_jsonl(path: str) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-empty line."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, json.loads(line)


@dataclass(frozen=True)
class TemplateSupport:
    tools: bool  # renders `tools=` itself
    tool_calls: bool  # renders assistant `tool_calls` itself
    tool_role: bool  # accepts `{"role": "tool"}` messages


def _text(content: Any) -> str:
    """Message content as text: a string, or OpenAI's list of parts (text only, here)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") in ("text", "input_text", "output_text"):
                texts.append(part.get("text", ""))
            elif isinstance(part, dict) and part.get("type") in ("image_url", "input_image"):
                raise TrainerError(MULTIMODAL, "an image part in a message")
        return "".join(texts)
    return str(content)


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _hermes_call(function: dict) -> str:
    call = {"name": function["name"], "arguments": _arguments(function.get("arguments"))}
    return f"<tool_call>\n{json.dumps(call, ensure_ascii=False)}\n</tool_call>"


class Renderer:
    """Renders conversations with one tokenizer's chat template, falling back where it lacks tools."""

    def __init__(self, tokenizer):
        if not getattr(tokenizer, "is_fast", False):
            raise TrainerError(TEMPLATE, "the tokenizer has no fast (Rust) version, so no character offsets")
        if not tokenizer.chat_template:
            raise TrainerError(TEMPLATE, "the tokenizer has no chat template; register one with the base model")
        self.tokenizer = tokenizer
        self.support = self._probe()

    def _render(self, messages: list[dict], *, tools: list | None = None, generation: bool = False) -> str:
        kwargs: dict[str, Any] = {"tokenize": False, "add_generation_prompt": generation}
        if tools:
            kwargs["tools"] = tools
        try:
            return self.tokenizer.apply_chat_template(messages, **kwargs)
        except Exception as error:  # jinja2's errors, and raise_exception() in templates
            raise TrainerError(TEMPLATE, f"{type(error).__name__}: {error}") from error

    def _probe(self) -> TemplateSupport:
        name = PROBE_TOOL["function"]["name"]
        user = {"role": "user", "content": "hello"}
        try:
            tools = name in self._render([user], tools=[PROBE_TOOL])
        except Exception:
            tools = False
        call = {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": name, "arguments": {}}}],
        }
        try:
            tool_calls = name in self._render([user, call])
        except Exception:
            tool_calls = False
        try:
            answer = {"role": "tool", "content": "gradcap_probe_result", "tool_call_id": "c1", "name": name}
            tool_role = "gradcap_probe_result" in self._render([user, call, answer])
        except Exception:
            tool_role = False
        return TemplateSupport(tools=tools, tool_calls=tool_calls, tool_role=tool_role)

    # Normalising ------------------------------------------------------------------------------

    def normalise(self, messages: list[dict], tools: list | None) -> tuple[list[dict], list | None, list[bool]]:
        """Messages in the shape this template renders, the tools to pass it (None when they went into
        the system message), and for each message whether it is learned."""
        support = self.support
        names: dict[str, str] = {}
        out: list[dict] = []
        learned: list[bool] = []
        for message in messages:
            role = message.get("role")
            content = _text(message.get("content"))
            if role == "developer":
                role = "system"  # OpenAI's newer name for the system message; templates know "system"
            if role == "assistant":
                converted: dict[str, Any] = {"role": "assistant", "content": content}
                calls = message.get("tool_calls") or []
                for call in calls:
                    names[call.get("id", "")] = call["function"]["name"]
                if calls and support.tool_calls:
                    converted["tool_calls"] = [
                        {
                            "id": call.get("id", ""),
                            "type": "function",
                            "function": {
                                "name": call["function"]["name"],
                                "arguments": _arguments(call["function"].get("arguments")),
                            },
                        }
                        for call in calls
                    ]
                elif calls:
                    written = [_hermes_call(call["function"]) for call in calls]
                    converted["content"] = "\n".join(([content] if content else []) + written)
                out.append(converted)
                learned.append(message.get("weight", 1) != 0)
            elif role == "tool":
                call_id = message.get("tool_call_id", "")
                if support.tool_role:
                    converted = {"role": "tool", "content": content, "tool_call_id": call_id}
                    if call_id in names:
                        converted["name"] = names[call_id]
                else:
                    converted = {"role": "user", "content": f"<tool_response>\n{content}\n</tool_response>"}
                out.append(converted)
                learned.append(False)
            else:
                out.append({"role": role, "content": content})
                learned.append(False)
        if tools and not support.tools:
            block = (
                "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
                "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
                + "\n".join(json.dumps(tool, ensure_ascii=False) for tool in tools)
                + "\n</tools>\n\nFor each function call, return a json object with function name and arguments "
                "within <tool_call></tool_call> XML tags:\n<tool_call>\n"
                '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
            )
            if out and out[0]["role"] == "system":
                out[0] = {**out[0], "content": f"{out[0]['content']}\n\n{block}" if out[0]["content"] else block}
            else:
                out.insert(0, {"role": "system", "content": block})
                learned.insert(0, False)
            tools = None
        return out, (tools or None), learned

    # Supervised -------------------------------------------------------------------------------

    def supervised(self, example: dict) -> "Tokenized":
        messages, tools, learned = self.normalise(example.get("messages") or [], example.get("tools"))
        text = self._render(messages, tools=tools)
        spans = []
        for index, message in enumerate(messages):
            if message["role"] != "assistant" or not learned[index]:
                continue
            before = self._render(messages[:index], tools=tools, generation=True)
            through = self._render(messages[: index + 1], tools=tools)
            if not (through.startswith(before) and text.startswith(through)):
                raise TrainerError(
                    TEMPLATE,
                    "the chat template renders earlier turns differently once later turns follow, "
                    "so the learned turns cannot be masked exactly",
                )
            spans.append((len(before), len(through)))
        encoded = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        input_ids = list(encoded["input_ids"])
        labels = [-100] * len(input_ids)
        for position, (start, _end) in enumerate(encoded["offset_mapping"]):
            if any(low <= start < high for low, high in spans):
                labels[position] = input_ids[position]
        return Tokenized(input_ids=input_ids, labels=labels)

    # Preference pairs -------------------------------------------------------------------------

    def preference(self, pair: dict) -> dict:
        """TRL's conversational preference example, and its longest tokenized length."""
        source = pair.get("input") or {}
        prompt, tools, _learned = self.normalise(source.get("messages") or [], source.get("tools"))
        answers = {}
        for key, side in (("chosen", "preferred_output"), ("rejected", "non_preferred_output")):
            outputs = pair.get(side) or []
            normalised, _tools, _ = self.normalise(list(outputs), None)
            answers[key] = [message for message in normalised if message["role"] == "assistant"]
        longest = max(
            len(self.tokenizer(self._render(prompt + answers[key], tools=tools), add_special_tokens=False)["input_ids"])
            for key in ("chosen", "rejected")
        )
        row: dict[str, Any] = {"prompt": prompt, "chosen": answers["chosen"], "rejected": answers["rejected"]}
        if tools:
            row["tools"] = json.dumps(tools, ensure_ascii=False)
        return {"row": row, "length": longest}


@dataclass
class Tokenized:
    input_ids: list[int]
    labels: list[int]

    @property
    def learned_tokens(self) -> int:
        return sum(1 for label in self.labels if label != -100)


@dataclass
class Prepared:
    """The examples of one file that will be trained on, and those left out (by line number)."""

    rows: list[dict] = field(default_factory=list)
    tokens: int = 0
    longest: int = 0
    too_long: list[int] = field(default_factory=list)
    nothing_to_learn: list[int] = field(default_factory=list)


def prepare_supervised(renderer: Renderer, lines: Iterable[tuple[int, dict]], *, max_length: int) -> Prepared:
    prepared = Prepared()
    for number, example in lines:
        tokenized = renderer.supervised(example)
        length = len(tokenized.input_ids)
        prepared.longest = max(prepared.longest, length)
        if length > max_length:
            prepared.too_long.append(number)
        elif not tokenized.learned_tokens:
            prepared.nothing_to_learn.append(number)
        else:
            prepared.rows.append({"input_ids": tokenized.input_ids, "labels": tokenized.labels})
            prepared.tokens += length
    return prepared


def prepare_preference(renderer: Renderer, lines: Iterable[tuple[int, dict]], *, max_length: int) -> Prepared:
    prepared = Prepared()
    for number, pair in lines:
        result = renderer.preference(pair)
        prepared.longest = max(prepared.longest, result["length"])
        if result["length"] > max_length:
            prepared.too_long.append(number)
        else:
            prepared.rows.append(result["row"])
            prepared.tokens += result["length"]
    return prepared
