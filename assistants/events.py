"""What the chat engine yields: text as it comes, citations, tool calls, and the turn it completes or fails."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class CitationAdded:
    number: int  # footnote number: one per cited file (hosted search), per cited passage (gradcap's)
    file_id: str
    filename: str
    index: int  # position in the answer's text
    passage_id: int | None = None  # gradcap's passage, where known
    quote: str = ""


@dataclass(frozen=True)
class ToolCalled:
    call_id: str
    name: str
    arguments: str
    output: dict


@dataclass
class Turn:
    """Everything known about the answer so far; complete once the stream ends."""

    text: str = ""
    citations: list[dict] = field(default_factory=list)
    tool_calls: list[dict] = field(default_factory=list)
    search_results: list[dict] = field(default_factory=list)
    passages: list[dict] = field(default_factory=list)  # gradcap's, numbered as the model saw them
    question_sent: str = ""  # the last question with the passages sent along (context mode)
    raw_events: list[dict] = field(default_factory=list)
    model: str = ""
    wire_api: str = ""
    response_ids: list[str] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    first_token_ms: int | None = None
    total_ms: int | None = None


@dataclass(frozen=True)
class Completed:
    turn: Turn


# Failed.code of a question with images for a model that cannot see them (nothing was sent).
IMAGES_NOT_SEEN = "images_not_seen"


@dataclass(frozen=True)
class Failed:
    turn: Turn  # the partial answer, kept
    message: str  # for the learner
    detail: str  # for curators and logs
    code: str = ""  # what went wrong, where the caller acts on it (IMAGES_NOT_SEEN)


Event = TextDelta | CitationAdded | ToolCalled | Completed | Failed
