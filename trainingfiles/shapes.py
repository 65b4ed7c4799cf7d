"""The keys and roles of the two kinds of fine-tuning example (see `formats` for whole lines)."""

from llm.catalog import DPO, SFT

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
# The common message: a role and a content, nothing else.
PLAIN_KEYS = frozenset({"role", "content"})


def example_kind(example: object) -> str | None:
    """SFT for a chat example, DPO for a preference pair, None when it is neither."""
    if not isinstance(example, dict):
        return None
    if "messages" in example:
        return SFT
    if not DPO_KEYS.isdisjoint(example):
        return DPO
    return None
