"""Evaluation: the snapshot's validation examples answered by the base model and by the tuned model,
then judged blind by curators (which answer is better, or a tie)."""

import json
import random
from dataclasses import dataclass

import httpx2
import openai
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.tasks import async_task

from accounts.models import User
from core.background import requeue_stalled
from llm.clients import client_for
from trainingfiles.vision import content_text

from .models import Evaluation, EvaluationItem, TrainedModel

MAX_ITEMS = 50
ANSWER_ROLES = ("user", "assistant")


def _prompt_and_expected(line: dict) -> tuple[list[dict], str] | None:
    """A validation line as (the conversation before its last answer, that answer); None when the
    line is not a conversation of text (and of images in its questions): tool calls, DPO pairs."""
    messages = line.get("messages")
    if not isinstance(messages, list) and isinstance(line.get("input"), dict):
        messages = [*line["input"].get("messages", []), *line.get("preferred_output", [])]
    if not messages or messages[-1].get("role") != "assistant" or not isinstance(messages[-1].get("content"), str):
        return None
    if any(m.get("tool_calls") or not _answerable(m) for m in messages):
        return None
    return messages[:-1], messages[-1]["content"]


def _answerable(message: dict) -> bool:
    """Text, or a question's text and image parts (OpenAI's vision format)."""
    content = message.get("content")
    if isinstance(content, str):
        return True
    return (
        message.get("role") == "user"
        and isinstance(content, list)
        and all(isinstance(part, dict) and part.get("type") in ("text", "image_url") for part in content)
    )


def _input_content(content: str | list[dict]) -> str | list[dict]:
    """A message's content as the Responses API takes it: image parts become `input_image`."""
    if isinstance(content, str):
        return content
    return [
        {"type": "input_text", "text": content_text([part])}
        if part["type"] == "text"
        else {"type": "input_image", "image_url": image["url"], "detail": image.get("detail", "auto")}
        for part in content
        if part["type"] == "text" or isinstance(image := part.get("image_url"), dict)
    ]


@transaction.atomic
def evaluation_start(*, trained_model: TrainedModel, user: User | None) -> Evaluation:
    snapshot = trained_model.run.snapshot
    lines = []
    if snapshot.validation_file:
        with snapshot.validation_file.open("rb") as handle:
            lines = [json.loads(line) for line in handle.read().decode().splitlines() if line.strip()]
    pairs = [pair for pair in map(_prompt_and_expected, lines) if pair is not None][:MAX_ITEMS]
    evaluation = Evaluation.objects.create(trained_model=trained_model, total=len(pairs), created_by=user)
    rng = random.SystemRandom()
    EvaluationItem.objects.bulk_create(
        EvaluationItem(
            evaluation=evaluation, position=n, messages=messages, expected=expected, tuned_first=rng.random() < 0.5
        )
        for n, (messages, expected) in enumerate(pairs)
    )
    if not pairs:
        evaluation.status = Evaluation.Status.FAILED
        evaluation.error = _("The snapshot has no validation examples to answer.")
        evaluation.save()
    else:
        transaction.on_commit(lambda: async_task("finetune.tasks.evaluation_answer", evaluation.pk))
    return evaluation


def _answer(client: openai.OpenAI, *, model: str, messages: list[dict]) -> str:
    instructions = "\n\n".join(m["content"] for m in messages if m["role"] in ("system", "developer"))
    items = [
        {"role": m["role"], "content": _input_content(m["content"])} for m in messages if m["role"] in ANSWER_ROLES
    ]
    response = client.responses.create(model=model, instructions=instructions or None, input=items, store=False)
    return response.output_text


def evaluation_answer(*, evaluation_id: int, http_client: httpx2.Client | None = None) -> Evaluation:
    """Answer every item not answered yet (a rerun continues where a killed one stopped)."""
    evaluation = Evaluation.objects.select_related("trained_model__run", "trained_model__provider").get(
        pk=evaluation_id
    )
    if not evaluation.is_active:
        return evaluation  # a second delivery of a task that finished
    trained = evaluation.trained_model
    base_client = client_for(trained.run.provider, http_client=http_client)
    tuned_client = client_for(trained.provider, http_client=http_client)
    current = Evaluation.objects.filter(pk=evaluation.pk)
    current.update(status=Evaluation.Status.RUNNING, updated_at=timezone.now())
    try:
        for item in evaluation.items.filter(answered=False).order_by("position"):
            base_answer = _answer(base_client, model=trained.base_model, messages=item.messages)
            tuned_answer = _answer(tuned_client, model=trained.name, messages=item.messages)
            # Recorded once: a second task that answered the same item meanwhile changes nothing.
            recorded = EvaluationItem.objects.filter(pk=item.pk, answered=False).update(
                base_answer=base_answer, tuned_answer=tuned_answer, answered=True
            )
            current.update(done=F("done") + recorded, updated_at=timezone.now())
    except openai.OpenAIError as error:
        message = _("The provider failed while answering: %(error)s") % {"error": error}
        current.update(status=Evaluation.Status.FAILED, error=message, updated_at=timezone.now())
    else:
        current.update(status=Evaluation.Status.DONE, updated_at=timezone.now())
    evaluation.refresh_from_db()
    return evaluation


def evaluations_recover() -> int:
    """Queue the task again for evaluations whose answering lost its task (see core.background)."""
    unfinished = Evaluation.objects.filter(status__in=[Evaluation.Status.PENDING, Evaluation.Status.RUNNING])
    return requeue_stalled(unfinished, "finetune.tasks.evaluation_answer")


def item_judge(*, item: EvaluationItem, choice: str, user: User | None) -> EvaluationItem:
    """`choice` is what the reviewer saw: "first", "second" or "tie"; stored as tuned/base/tie."""
    if choice == "tie":
        verdict = EvaluationItem.Verdict.TIE
    elif choice in ("first", "second"):
        tuned_chosen = (choice == "first") == item.tuned_first
        verdict = EvaluationItem.Verdict.TUNED if tuned_chosen else EvaluationItem.Verdict.BASE
    else:
        raise ValueError(choice)
    item.verdict = verdict
    item.reviewed_by = user
    item.reviewed_at = timezone.now()
    item.save(update_fields=["verdict", "reviewed_by", "reviewed_at"])
    return item


@dataclass(frozen=True)
class WinRate:
    reviewed: int
    tuned: int
    base: int
    tie: int

    @property
    def tuned_percent(self) -> int:
        return round(self.tuned * 100 / self.reviewed) if self.reviewed else 0

    @property
    def base_percent(self) -> int:
        return round(self.base * 100 / self.reviewed) if self.reviewed else 0

    @property
    def tie_percent(self) -> int:
        return round(self.tie * 100 / self.reviewed) if self.reviewed else 0


def win_rate(trained_model: TrainedModel) -> WinRate:
    counts = EvaluationItem.objects.filter(evaluation__trained_model=trained_model).aggregate(
        tuned=Count("pk", filter=Q(verdict=EvaluationItem.Verdict.TUNED)),
        base=Count("pk", filter=Q(verdict=EvaluationItem.Verdict.BASE)),
        tie=Count("pk", filter=Q(verdict=EvaluationItem.Verdict.TIE)),
    )
    return WinRate(reviewed=counts["tuned"] + counts["base"] + counts["tie"], **counts)
