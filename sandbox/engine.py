"""The sandbox's deterministic "models".

- After a function call's output arrives, a model answers with that output; numbered passages
  from a search function it quotes, citing the best one as "[n]", as a model told to cite does.
- When the input clearly asks for what a declared function does (its name's words, or several
  words of its description), it calls the function with arguments that fit its schema. A base
  model that is offered a search function (`search…` with a `query`) searches with the question.
- Numbered passages sent with the question ("[1] file — place", then the passage) are quoted the
  same way.
- A fine-tuned model answers with the assistant turn of its nearest training example.
- A base model quotes the best file_search passage (citing the file), or says plainly that it
  is the sandbox and found nothing.

A learner's message may carry images ("images": [vision.SeenImage]): a text answer then says what
the model saw ("I see a 640×480 image, mostly red."), which is how a test shows an image arrived.

Input is a list of plain messages: {"role", "content": str, "images"?: [...]} plus, for tool traffic,
{"role": "assistant", "tool_calls": [{"call_id", "name", "arguments"}]} and
{"role": "tool", "call_id", "content"}.
"""

import datetime
import difflib
import json
import re
from dataclasses import dataclass, field

from llm.catalog import ModelInfo, get_model
from llm.tokens import count_messages, count_text

from . import search
from .errors import SandboxError
from .finetuning import job_find_tuned_model
from .models import FineTuningJob, LoraAdapter
from .vectorstores import SearchHit, vector_stores_search
from .vision import what_was_seen

SANDBOX_NOTE = "(gradcap sandbox — a stand-in for a real model)"
# Verbs that almost every function name starts with: they say nothing about what it does.
GENERIC_NAME_WORDS = frozenset(
    "get set list find fetch lookup look up create update delete make do run call check add remove".split()  # noqa: SIM905
)


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    description: str = ""
    parameters: dict = field(default_factory=dict)
    strict: bool = False


@dataclass
class Citation:
    file_id: str
    filename: str
    index: int


@dataclass
class Answer:
    text: str = ""
    citations: list[Citation] = field(default_factory=list)
    search_query: str | None = None  # file_search ran with this query
    search_hits: list[SearchHit] = field(default_factory=list)
    function_name: str | None = None
    arguments: str | None = None  # JSON

    @property
    def output_tokens(self) -> int:
        return count_text(self.arguments or self.text)


@dataclass(frozen=True)
class SandboxModel:
    name: str
    info: ModelInfo
    job: FineTuningJob | None  # set for a fine-tuned model


ADAPTER_BASE_MODEL = "gpt-4.1-mini-2025-04-14"  # what a runtime LoRA adapter's answers are modelled on


def model_resolve(name: str) -> SandboxModel:
    """A catalog model, or a model fine-tuned here; 404 (as OpenAI answers) for anything else."""
    if name.startswith("ft:"):
        job = job_find_tuned_model(name)
        if job is not None:
            return SandboxModel(name=name, info=get_model(job.model), job=job)
    else:
        info = get_model(name)
        if info is not None:
            return SandboxModel(name=name, info=info, job=None)
    if LoraAdapter.objects.filter(name=name).exists():  # answers as the sandbox's base model does
        return SandboxModel(name=name, info=get_model(ADAPTER_BASE_MODEL), job=None)
    raise SandboxError(
        f"The model `{name}` does not exist or you do not have access to it.",
        status=404,
        param="model",
        code="model_not_found",
    )


# Words and their rough stems: "orders" and "order", "погоды" and "погода" meet.


def _stem(word: str) -> str:
    return word[:5] if len(word) > 5 else word


def _stems(text: str) -> set[str]:
    return {_stem(word) for word in search.terms(text)}


def _name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("_", " ").replace("-", " ").lower()
    return [word for word in spaced.split() if word not in GENERIC_NAME_WORDS and len(word) > 2]


def _function_score(function: FunctionSpec, asked: set[str]) -> int:
    """How clearly the input asks for this function: 0 when it does not."""
    name_hits = len({_stem(word) for word in _name_words(function.name)} & asked)
    description_hits = len({s for s in _stems(function.description) if len(s) > 3} & asked)
    if name_hits == 0 and description_hits < 2:
        return 0
    return 3 * name_hits + description_hits


def _function_choose(functions: list[FunctionSpec], text: str, tool_choice) -> FunctionSpec | None:
    if not functions or tool_choice == "none":
        return None
    if isinstance(tool_choice, dict) and tool_choice.get("name"):
        return next((f for f in functions if f.name == tool_choice["name"]), None)
    if isinstance(tool_choice, dict) and isinstance(tool_choice.get("function"), dict):  # chat completions' shape
        return next((f for f in functions if f.name == tool_choice["function"].get("name")), None)
    asked = _stems(text)
    scored = sorted(((_function_score(f, asked), i) for i, f in enumerate(functions)), key=lambda s: (-s[0], s[1]))
    if scored and scored[0][0] > 0:
        return functions[scored[0][1]]
    return functions[0] if tool_choice == "required" else None


# Arguments that fit a JSON schema, taken from the input where it says something about them.


def _number_in(text: str) -> str | None:
    match = re.search(r"-?\d+(?:[.,]\d+)?", text)
    return match.group().replace(",", ".") if match else None


def _string_value(name: str, schema: dict, text: str, skip: set[str]) -> str:
    if schema.get("format") == "date":
        match = re.search(r"\d{4}-\d{2}-\d{2}", text)
        return match.group() if match else datetime.date.today().isoformat()
    quoted = re.search(r"[\"«“']([^\"»”']{1,200})[\"»”']", text)
    if quoted:
        return quoted.group(1)
    if any(part in name.lower() for part in ("id", "number", "code")):
        match = re.search(r"[A-Za-z]*-?\d[\w-]*", text)
        if match:
            return match.group()
    # Proper names (capitalised words past the first word) are what a question is usually about.
    words = re.findall(r"\w+", text)
    capitalised = [w for w in words[1:] if w[:1].isupper() and w.lower() not in skip]
    if capitalised:
        return " ".join(capitalised[:3])
    rest = [w for w in words if w.lower() not in skip and w.lower() not in search.STOPWORDS]
    return " ".join(rest[:8]) or text[:100]


def _value(name: str, schema: dict, text: str, skip: set[str]):
    if schema.get("enum"):
        lowered = text.lower()
        return next((v for v in schema["enum"] if str(v).lower() in lowered), schema["enum"][0])
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object":
        return _arguments(schema, text, skip)
    if kind == "array":
        return [_value(name, schema.get("items") or {}, text, skip)] * int(schema.get("minItems", 0))
    if kind == "boolean":
        return bool(re.search(r"\b(yes|true|да)\b", text.lower()))
    if kind in ("integer", "number"):
        found = _number_in(text)
        value = float(found) if found else float(schema.get("minimum", 0))
        value = max(value, float(schema.get("minimum", value)))
        value = min(value, float(schema.get("maximum", value)))
        return int(value) if kind == "integer" else value
    return _string_value(name, schema, text, skip)


def _arguments(schema: dict, text: str, skip: set[str], *, everything: bool = False) -> dict:
    properties = schema.get("properties") or {}
    wanted = list(properties) if everything else list(schema.get("required") or [])
    return {name: _value(name, properties.get(name) or {}, text, skip) for name in wanted}


def function_arguments(function: FunctionSpec, text: str) -> str:
    """JSON arguments for `function` that satisfy its parameters schema (strict: every property)."""
    skip = set(_name_words(function.name)) | GENERIC_NAME_WORDS
    arguments = _arguments(function.parameters or {}, text, skip, everything=function.strict)
    return json.dumps(arguments, ensure_ascii=False)


# Answers


def _last_user_text(messages: list[dict]) -> str:
    return next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")


def _pending_tool_outputs(messages: list[dict]) -> list[dict]:
    """Function outputs that arrived after the last user message (the model has not used them yet)."""
    outputs = []
    for message in reversed(messages):
        if message.get("role") == "tool":
            outputs.append(message)
        elif message.get("role") == "user" or (message.get("role") == "assistant" and message.get("content")):
            break
    return list(reversed(outputs))


def _describe_output(output: str) -> str:
    try:
        value = json.loads(output)
    except ValueError:
        return output.strip()
    if isinstance(value, dict):
        return ", ".join(f"{key}: {item}" for key, item in value.items())
    return json.dumps(value, ensure_ascii=False)


def _search_results(output: str) -> list[dict] | None:
    """Passages returned by a search function: {"results": [{"n", "file", "text"}, ...]}."""
    try:
        value = json.loads(output)
    except ValueError:
        return None
    results = value.get("results") if isinstance(value, dict) else None
    if not isinstance(results, list) or not all(isinstance(r, dict) and "text" in r for r in results):
        return None
    return results


def _answer_from_passages(passages: list[dict], query: str) -> Answer:
    """Quote the passage that best answers `query`, with its number, as a citing model would."""
    if not passages:
        return _fallback(query, searched=True)
    hits = search.bm25_rank(query, [p["text"] for p in passages])
    best = passages[hits[0].index if hits else 0]
    quote = search.best_passage(best["text"], query)
    return Answer(text=f'From {best.get("file", "the knowledge files")}: "{quote}" [{best.get("n", 1)}]')


_PROMPT_PASSAGE = re.compile(r"^\[(\d+)\] ([^\n]+)\n(.+?)(?=\n\n)", re.MULTILINE | re.DOTALL)
_PROMPT_QUESTION = re.compile(r"^Question: (.+)\Z", re.MULTILINE | re.DOTALL)


def _passages_in_prompt(text: str) -> tuple[str, list[dict]] | None:
    """Numbered passages sent before the question, and the question; None for a plain question."""
    question = _PROMPT_QUESTION.search(text)
    passages = [
        {"n": int(n), "file": heading.split(" — ")[0], "text": body.strip()}
        for n, heading, body in _PROMPT_PASSAGE.findall(text)
    ]
    if question is None or not passages:
        return None
    return question.group(1).strip(), passages


def _search_function(functions: list[FunctionSpec]) -> FunctionSpec | None:
    for function in functions:
        properties = (function.parameters or {}).get("properties") or {}
        if function.name.lower().startswith("search") and "query" in properties:
            return function
    return None


def _answer_from_outputs(messages: list[dict], outputs: list[dict]) -> Answer:
    found = [results for o in outputs if (results := _search_results(o.get("content") or "")) is not None]
    if found:
        return _answer_from_passages([p for results in found for p in results], _last_user_text(messages))
    names = {
        call["call_id"]: call["name"] for m in messages for call in m.get("tool_calls") or [] if call.get("call_id")
    }
    parts = [
        f"{names.get(o.get('call_id'), 'the tool')} returned {_describe_output(o.get('content') or '')}"
        for o in outputs
    ]
    return Answer(text=f"Here is what I found: {'; '.join(parts)}.")


def _answer_from_training(job: FineTuningJob, text: str) -> Answer:
    pairs = job.examples or []
    if not pairs:
        return Answer(text=f"{SANDBOX_NOTE} This tuned model has no examples to answer from.")
    hits = search.bm25_rank(text, [pair["prompt"] for pair in pairs])
    if hits:
        best = hits[0].index
    else:  # no shared word: the most similar spelling wins
        ratios = [difflib.SequenceMatcher(None, text.lower(), pair["prompt"].lower()).ratio() for pair in pairs]
        best = ratios.index(max(ratios))
    return Answer(text=pairs[best]["answer"])


def _answer_from_files(hits: list[SearchHit], query: str) -> Answer:
    best = hits[0]
    text = f'From {best.filename}: "{search.best_passage(best.chunk.text, query)}"'
    citations = [Citation(file_id=best.file_id, filename=best.filename, index=len(text))]
    other = next((hit for hit in hits if hit.file_id != best.file_id), None)
    if other is not None:
        text += f" See also {other.filename}."
        citations.append(Citation(file_id=other.file_id, filename=other.filename, index=len(text)))
    return Answer(text=text, citations=citations)


def _fallback(query: str, searched: bool) -> Answer:
    if searched:
        shown = query if len(query) <= 80 else query[:77] + "…"
        return Answer(text=f'{SANDBOX_NOTE} I found nothing about "{shown}" in the knowledge files.')
    return Answer(
        text=f"{SANDBOX_NOTE} I answer from knowledge files and fine-tuning examples only; "
        "connect a real provider for open-ended answers."
    )


def answer_for(**kwargs) -> Answer:
    """What the sandbox model says next (`_answer_for`), saying what it saw of the learner's images."""
    answer = _answer_for(**kwargs)
    seen = what_was_seen(kwargs["messages"])
    if seen and not answer.function_name:  # after the text: citation offsets stay where they are
        answer.text = f"{answer.text} {seen}" if answer.text else seen
    return answer


def _answer_for(
    *,
    model: SandboxModel,
    messages: list[dict],
    functions: list[FunctionSpec] = (),
    tool_choice="auto",
    vector_store_ids: list[str] = (),
    max_results: int = 10,
) -> Answer:
    """What the sandbox model `model` says next."""
    outputs = _pending_tool_outputs(messages)
    if outputs:
        return _answer_from_outputs(messages, outputs)
    text = _last_user_text(messages)
    prompted = _passages_in_prompt(text)
    if prompted is not None and model.job is None:
        return _answer_from_passages(prompted[1], prompted[0])
    function = _function_choose(list(functions), text, tool_choice)
    if function is not None:
        return Answer(function_name=function.name, arguments=function_arguments(function, text))
    searcher = _search_function(list(functions)) if tool_choice != "none" else None
    if searcher is not None and model.job is None:
        return Answer(function_name=searcher.name, arguments=json.dumps({"query": text}, ensure_ascii=False))
    if model.job is not None:
        return _answer_from_training(model.job, text)
    if vector_store_ids:
        hits = vector_stores_search(store_ids=list(vector_store_ids), query=text, max_results=max_results)
        answer = _answer_from_files(hits, text) if hits else _fallback(text, searched=True)
        answer.search_query, answer.search_hits = text, hits
        return answer
    return _fallback(text, searched=False)


def input_tokens(
    messages: list[dict], *, instructions: str = "", tools: list | None = None, model: SandboxModel | None = None
) -> int:
    """Prompt tokens, counted with tiktoken as OpenAI's guide counts a chat, images as OpenAI bills them."""
    cost = model.info.image_cost if model is not None else None
    images = sum(image.tokens(cost) for m in messages for image in m.get("images") or ())
    plain = [{"role": m.get("role", "user"), "content": m.get("content") or ""} for m in messages]
    for message in messages:
        for call in message.get("tool_calls") or []:
            plain.append({"role": "assistant", "content": f"{call['name']}({call['arguments']})"})
    if instructions:
        plain.insert(0, {"role": "system", "content": instructions})
    return count_messages(plain, tools=tools or None) + images
