"""The walk over one example: its format checks, its texts for the tokenizer and its fingerprints.

The format checks are those of OpenAI's chat fine-tuning data-preparation guide (data type,
messages list, message keys, roles, content, an assistant message), extended to today's format
(developer and tool roles, tool calls, `weight`) and to DPO pairs.
"""

import hashlib

from django.utils.translation import gettext as _

from llm.catalog import DPO
from llm.tokens import TOKENS_PER_EXAMPLE, TOKENS_PER_MESSAGE
from llm.vision import ImageCost

from .counting import canonical, count_repeated_text, extra_tokens, tokens_of_roles, value_tokens
from .duplicates import near_duplicate_key
from .pii import find_pii, may_hold_number, pii_messages
from .reports import ERROR, WARNING, ExampleReport, Issue, names_listed
from .shapes import (
    DPO_INPUT_KEYS,
    DPO_KEYS,
    DPO_OUTPUT_KEYS,
    INSTRUCTION_ROLES,
    MESSAGE_KEYS,
    PLAIN_KEYS,
    ROLE_ONLY_KEYS,
    ROLES,
    SUPERVISED_KEYS,
    example_kind,
)
from .tool_checks import ToolChecks
from .vision import PartChecks


class Inspection(ToolChecks, PartChecks):
    """One pass over one example: issues, the texts to tokenize and duplicate fingerprints together.

    `run` checks the example and collects its learner and assistant texts; the caller tokenizes
    them (for a dataset, many examples' at once) and hands the counts to `report`, which adds
    them up and checks the token limit. The common message, {"role", "content"} with text, takes
    a short path; anything else (weights, names, tool calls, mistakes) goes through the detailed
    checks.
    """

    def __init__(
        self,
        key: object,
        *,
        count_tokens: bool = True,
        scan_text: bool = True,
        stored: bool = False,
        image_cost: ImageCost | None = None,
    ):
        self.key = key
        self.count_tokens = count_tokens
        self.scan_text = scan_text  # personal data and duplicate fingerprints
        self.stored = stored  # fingerprints to store, the same in every process (slower than `hash`)
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
        self.image_cost = image_cost  # what the base model's images cost (llm.vision); None: gpt-4o's
        self.images = 0
        self.image_keys: list[bytes] = []  # digests of the image URLs, for the near-duplicate fingerprint

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
        if self.images:
            self._check_image_count()
        if self.scan_text and self.texts:
            self._scan_text()

    def report(self, text_tokens: list[int], *, token_limit: int | None) -> ExampleReport:
        """The report, given the token count of each of `texts` (as `count_text` counts)."""
        total_tokens = self.fixed_tokens + sum(text_tokens)
        if token_limit is not None and total_tokens > token_limit:
            # Longer examples get cut from the end, which is where the answer to learn is.
            self.error("token_limit", token_limit_message(total_tokens, token_limit))
        assistant_tokens = sum(map(text_tokens.__getitem__, self.assistant_texts))
        return ExampleReport(
            self.key, self.kind, tuple(self.issues), self.messages, total_tokens, assistant_tokens, self.images
        )

    # Supervised examples

    def _check_supervised(self, example: dict) -> None:
        if not example.keys() <= SUPERVISED_KEYS:
            unknown = sorted(set(example) - SUPERVISED_KEYS, key=str)
            self.error(
                "unrecognized_key", _("Unknown keys in the example: %(keys)s.") % {"keys": names_listed(unknown)}
            )
        messages = example.get("messages")
        if not isinstance(messages, list) or not messages:
            self.error("missing_messages_list", _("The example has no list of messages."))
            return
        tools = example.get("tools")
        tool_names = self._check_tools(tools)
        parallel = example.get("parallel_tool_calls")
        if parallel is not None and not isinstance(parallel, bool):
            self.error("bad_parallel_tool_calls", _("“parallel_tool_calls” must be true or false."))
        self.exact_parts.append((parallel, canonical(tools) if tools is not None else None))
        if self.count_tokens:
            self.fixed_tokens = TOKENS_PER_EXAMPLE + (value_tokens(tools) if tools is not None else 0)
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

    def _check_messages(self, messages: list, tool_names: set[str] | None) -> tuple[int, int]:
        """Check every message and collect its text; returns how many assistant turns there are,
        and are learned."""
        assistants = learned = tokens = 0
        pending_calls: dict[str, str] = {}  # tool call id → function name, until a tool message answers it
        answered: set[str] = set()
        # This loop runs for every message of every example: names it uses are bound locally.
        count_tokens = self.count_tokens
        role_tokens = tokens_of_roles()
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
                    tokens += count_repeated_text(role) if type(role) is str else value_tokens(role)
            elif count_tokens:
                tokens += tokens_of_role
            if pending_calls and role != "tool":
                self.error(
                    "unanswered_tool_call",
                    _("Tool calls %(ids)s get no tool answer before this message.")
                    % {"ids": names_listed(pending_calls)},
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
                    tokens += extra_tokens(message)
            if role == "assistant":
                assistants += 1
                learned += is_learned

            text_may_be_empty = False
            if type(content) is list:  # parts: text and images (trainingfiles.vision)
                content, text_may_be_empty = self._check_parts(content, role, index)
            if type(content) is str:
                if (not content or content.isspace()) and role != "tool" and not has_calls and not text_may_be_empty:
                    # An empty tool result is a real answer; an empty turn of anyone else is a mistake.
                    if role == "assistant":
                        self.error("empty_content", _("The assistant answer is empty."), index)
                    else:
                        self.error("empty_content", _("The message is empty."), index)
                if tokens_of_role is not None and role in INSTRUCTION_ROLES:
                    if count_tokens:
                        tokens += count_repeated_text(content)
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
                    tokens += value_tokens(content)
            add_part(role)
            add_part(content)
        if pending_calls and isinstance(messages[-1], dict) and messages[-1].get("role") == "tool":
            message = _("Tool calls %(ids)s get no tool answer.") % {"ids": names_listed(pending_calls)}
            self.error("unanswered_tool_call", message, len(messages) - 1)
        self.messages += len(messages)
        if count_tokens:
            self.fixed_tokens += tokens + TOKENS_PER_MESSAGE * len(messages)
        return assistants, learned

    def _check_role(self, role: object, index: int) -> None:
        if role is None:
            self.error("message_missing_key", _("The message has no “role”."), index)
        else:
            message = _("“%(role)s” is not a role; use one of %(roles)s.") % {
                "role": role,
                "roles": names_listed(ROLES),
            }
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
                _("Unknown keys in the message: %(keys)s.") % {"keys": names_listed(unknown)},
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

    def _scan_text(self) -> None:
        """Personal data and the duplicate fingerprints, from the example's text taken as a whole."""
        text = "\n".join(self.texts)
        near_key = near_duplicate_key(text)
        if ("@" in text or may_hold_number(near_key)) and find_pii(text):
            self._report_pii()
        if self.image_keys:  # the same words about other pictures are not a near-duplicate
            near_key += b"\0" + b"".join(self.image_keys)
        if self.exact_parts and not self.has_errors:
            if self.stored:
                self.exact_fingerprint = fingerprint(repr(tuple(self.exact_parts)).encode("utf-8", "surrogatepass"))
                self.near_fingerprint = fingerprint(near_key)
            else:
                self.exact_fingerprint = hash(tuple(self.exact_parts))
                self.near_fingerprint = hash(near_key)

    def _report_pii(self) -> None:
        # The example's text holds personal data: find out which messages do.
        messages = pii_messages()
        for text, index in zip(self.texts, self.text_indexes, strict=True):
            kinds = {match.kind for match in find_pii(text)}
            for kind in ("email", "phone", "card"):
                if kind in kinds:
                    self.warning(f"pii_{kind}", messages[kind], index)

    # DPO pairs

    def _check_dpo(self, example: dict) -> None:
        if unknown := sorted(set(example) - DPO_KEYS, key=str):
            self.error("unrecognized_key", _("Unknown keys in the pair: %(keys)s.") % {"keys": names_listed(unknown)})
        prompt = example.get("input")
        messages = prompt.get("messages") if isinstance(prompt, dict) else None
        if not isinstance(messages, list) or not messages:
            self.error("missing_messages_list", _("The pair has no “input” with a list of messages."))
            return
        if unknown := sorted(set(prompt) - DPO_INPUT_KEYS, key=str):
            self.error("unrecognized_key", _("Unknown keys in the input: %(keys)s.") % {"keys": names_listed(unknown)})
        tools = prompt.get("tools")
        tool_names = self._check_tools(tools)
        self.exact_parts.append(canonical(tools) if tools is not None else None)
        if self.count_tokens:
            self.fixed_tokens = TOKENS_PER_EXAMPLE + (value_tokens(tools) if tools is not None else 0)
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
            self.fixed_tokens += TOKENS_PER_MESSAGE + count_repeated_text("assistant")
        self.exact_parts.append(content)
        self.assistant_texts.append(len(self.texts))
        self.texts.append(content)
        self.text_indexes.append(None)
        return content


def token_limit_message(tokens: int, limit: int) -> str:
    return _("The example has %(tokens)s tokens; the base model trains on at most %(limit)s.") % {
        "tokens": tokens,
        "limit": limit,
    }


def fingerprint(data: bytes) -> int:
    """A signed 64-bit digest, the same in every process (unlike `hash`, salted per process):
    fingerprints are stored with each example and compared in the database."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big", signed=True)


def _extras(message: dict) -> tuple:
    """A message's keys besides role and content, hashable, for the duplicate fingerprint."""
    return tuple(
        sorted(
            (key, canonical(value) if isinstance(value, (list, dict)) else value)
            for key, value in message.items()
            if key not in PLAIN_KEYS
        )
    )
