"""Fine-tuning tests: a course with an assistant on the sandbox (served over HTTP by uvicorn) and a
dataset of ready examples made with the curation services."""

import pytest

from assistants.services import assistant_create
from dialogs.datasets import services as curation
from dialogs.models import Example
from finetune import services, tracking
from finetune.models import Evaluation, EvaluationItem, Run, TrainedModel
from finetune.plans import training_plan
from llm.models import Provider

BASE_MODEL = "gpt-4.1-mini-2025-04-14"
TOPICS = ["loops", "functions", "lists", "dictionaries", "classes", "modules", "tuples", "sets", "strings", "files"]


def example_rows(count: int = 12) -> list[dict]:
    """Distinct chat examples without a system message (the assistant's instructions apply)."""
    return [
        {
            "messages": [
                {"role": "user", "content": f"What are {TOPICS[n % 10]} for? (question {n})"},
                {"role": "assistant", "content": f"{TOPICS[n % 10].title()} are taught in week {n}.", "weight": 1},
            ]
        }
        for n in range(count)
    ]


def served_provider(url: str, **fields) -> Provider:
    fields.setdefault("timeout_seconds", 5)
    fields.setdefault("max_retries", 0)
    return Provider.objects.create(name="Sandbox", kind=Provider.Kind.SANDBOX, base_url=f"{url}/sandbox/v1/", **fields)


@pytest.fixture
def provider(asgi_server) -> Provider:
    return served_provider(asgi_server.url)


@pytest.fixture
def assistant(course, curator, provider):
    return assistant_create(
        course=course, name="Tutor", provider=provider, model=BASE_MODEL, instructions="Answer briefly.", user=curator
    )


@pytest.fixture
def dataset(course, curator, assistant):
    dataset = curation.dataset_create(course=course, name="Tutor examples", user=curator, assistant=assistant)
    dataset.validation_percent = 25
    dataset.save()
    curation.examples_create(dataset=dataset, rows=example_rows(60), user=curator, summary="test")
    return dataset


def start_run(dataset, provider, user, **options):
    """Start a run as the start page does (the submission runs inline: test settings are sync)."""
    return services.run_start(
        dataset=dataset,
        provider=provider,
        base_model=options.pop("base_model", BASE_MODEL),
        method=options.pop("method", "supervised"),
        hyperparameters=options.pop("hyperparameters", {}),
        suffix=options.pop("suffix", "tutor"),
        user=user,
    )


def unsubmitted_run(dataset, provider, user):
    """A run as `run_start` makes it, before its submission task has run."""
    plan = training_plan(dataset=dataset, method="supervised", base_model=BASE_MODEL)
    snapshot = services.snapshot_create(dataset=dataset, plan=plan, user=user)
    return Run.objects.create(
        course=dataset.course, dataset=dataset, snapshot=snapshot, provider=provider, base_model=BASE_MODEL, suffix="t"
    )


def set_aside_for_validation(dataset) -> None:
    """Every fourth example (15 of the fixture's 60) goes to validation by hand, the rest to
    training: the automatic split draws by primary key, and primary keys differ from database to
    database and with the tests run before, so a draw could leave fewer than 10 validation examples
    (no validation file) or set aside every example of a topic that a test asks the model about."""
    pks = list(dataset.examples.order_by("pk").values_list("pk", flat=True))
    dataset.examples.filter(pk__in=pks[3::4]).update(split=Example.Split.VALIDATION)
    dataset.examples.exclude(pk__in=pks[3::4]).update(split=Example.Split.TRAIN)


def trained_model(dataset, provider, user) -> TrainedModel:
    """A run started and synced until the sandbox reports the tuned model, with 15 validation
    examples to evaluate with."""
    set_aside_for_validation(dataset)
    run = start_run(dataset, provider, user)
    return tracking.run_sync(run=Run.objects.select_related("provider", "course").get(pk=run.pk)).trained_model


def running_evaluation(trained, curator, questions: list[str]) -> Evaluation:
    """An evaluation as evaluation_start leaves it before the worker answers (tests run tasks inline)."""
    evaluation = Evaluation.objects.create(
        trained_model=trained, total=len(questions), status=Evaluation.Status.RUNNING, created_by=curator
    )
    EvaluationItem.objects.bulk_create(
        EvaluationItem(evaluation=evaluation, position=n, messages=[{"role": "user", "content": q}], expected="A")
        for n, q in enumerate(questions)
    )
    return evaluation
