"""Server time of a dataset's page, and of one example edit, for a large dataset.

Fills a throwaway database with one dataset (Russian and English examples from
bench/dataset_export.py's generator: tool rounds, weights, system messages of their own on a
third, plus a share of exact and near duplicates, personal data and empty answers, drafts and
hand-set splits), stores every example's checks with the worker's own full re-validation (timed),
ANALYZEs, then, as a logged-in curator through Django's test Client in process:
1. what each page load cost before the checks were stored: one validation of every ready example
   (`validate_dataset` and the token statistics, as the page made them), timed once;
2. the page now, for realistic requests (no filter, 25 rows, with issues, a split, drafts, a far
   page), timing each, and its queries for 25 and for 100 rows;
3. one example edit through the editor's service (`example_change`: a new answer text, its checks
   stored), timed for many random examples.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/dataset_page.py
    .venv/bin/python bench/dataset_page.py            # SQLite: 10k examples
    options: --examples N --rounds R --edits E

Exits 0 when the page's p95 is at most 300 ms with as many queries for 100 rows as for 25, and an
edit's p95 is at most 50 ms.
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dataset_export import make_examples
from bench.harness import finish, median, percentile, setup_django, throwaway_database, time_requests

PAGE_MS = 300.0
EDIT_MS = 50.0
MODEL = "gpt-4.1-mini-2025-04-14"


def make_world(count: int, seed: int = 7):
    from accounts.models import User
    from courses.models import Course, Membership
    from dialogs.datasets import services as curation
    from dialogs.models import Example
    from llm.models import Provider

    course = Course.objects.create(title="Bench", slug="bench")
    provider = Provider.objects.create(name="Sandbox", kind=Provider.Kind.SANDBOX)
    assistant = course.assistants.create(
        name="Tutor", instructions="You are the tutor of the Python course.", provider=provider, model=MODEL
    )
    curator = User.objects.create_user(email="curator@example.com")
    Membership.objects.create(course=course, user=curator, role=Membership.Role.CURATOR)
    dataset = curation.dataset_create(course=course, name="Bench", user=curator, assistant=assistant)
    rng = random.Random(seed)
    batch = 2_000
    for start in range(0, count, batch):
        rows = make_examples(min(batch, count - start), seed=seed + start, system_prompts="none")
        examples = []
        for row in rows:
            messages = row["messages"]
            draw = rng.random()
            if draw < 0.01:  # an exact duplicate of the first question and answer
                messages = [{"role": "user", "content": "Что такое список?"}, {"role": "assistant", "content": "Ok."}]
            elif draw < 0.02:  # the same words, other case and punctuation
                messages = [{"role": "user", "content": "что такое СПИСОК"}, {"role": "assistant", "content": "ok"}]
            elif draw < 0.03:
                messages[0]["content"] += " Пишите мне на ivan.petrov@example.com"
            elif draw < 0.035:
                messages[-1]["content"] = "   "  # an empty answer: a blocking error
            system = rng.random() < 0.33
            examples.append(
                Example(
                    dataset=dataset,
                    status=Example.Status.DRAFT if rng.random() < 0.02 else Example.Status.READY,
                    split=Example.Split.VALIDATION if rng.random() < 0.01 else Example.Split.AUTO,
                    messages=messages,
                    system="Отвечай по-русски, коротко." if system else "",
                    system_overridden=system,
                )
            )
        Example.objects.bulk_create(examples, batch_size=1000)
    return course, curator, dataset


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def validate_whole(dataset) -> float:
    """What each load of the page did before: validate every ready example, then the statistics."""
    from dialogs.datasets import lines
    from llm.catalog import get_model
    from trainingfiles.stats import dataset_stats
    from trainingfiles.validation import validate_dataset

    started = time.perf_counter()
    rows = ((example.pk, lines.training_row(example, system)) for example, system in _with_system(dataset))
    report = validate_dataset(rows, base_model=get_model(dataset.base_model))
    dataset_stats(report.examples, provider_kind="sandbox")
    return (time.perf_counter() - started) * 1000


def _with_system(dataset):
    from dialogs.datasets import lines

    for example in lines.dataset_examples(dataset):
        yield example, lines.system_message(example, dataset)


def requests(dataset) -> list[tuple[str, str]]:
    url = f"/c/{dataset.course.slug}/datasets/{dataset.pk}/"
    far = max(1, dataset.examples.count() // 100 // 2)
    return [
        ("no filter (100 rows)", url),
        ("25 rows", url + "?per_page=25"),
        ("with issues", url + "?issues=yes"),
        ("without issues", url + "?issues=no"),
        ("validation split", url + "?split=validation"),
        ("drafts", url + "?status=draft"),
        (f"page {far}", url + f"?page={far}"),
    ]


def query_counts(client, dataset) -> dict[int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for size in (25, 100):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/c/{dataset.course.slug}/datasets/{dataset.pk}/?per_page={size}")
        rows = response.content.decode().count('<tr id="example-')
        if rows != size:
            raise SystemExit(f"expected {size} rows, the page shows {rows}")
        counts[size] = len(queries)
    return counts


def time_edits(dataset, curator, edits: int, seed: int = 11) -> list[float]:
    from dialogs.datasets import edits as changes
    from dialogs.datasets import services as curation
    from dialogs.models import Example

    rng = random.Random(seed)
    pks = list(dataset.examples.values_list("pk", flat=True))
    timings = []
    for number in range(edits):
        example = Example.objects.get(pk=rng.choice(pks))
        index = max(i for i, message in enumerate(example.messages) if message.get("role") == "assistant")
        started = time.perf_counter()
        curation.example_change(
            example=example,
            version=example.version,
            user=curator,
            change=changes.set_content(index, f"Исправленный ответ {number}: используйте enumerate(items)."),
        )
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    postgresql = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
    parser.add_argument("--examples", type=int, default=100_000 if postgresql else 10_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--edits", type=int, default=100)
    args = parser.parse_args()
    os.environ["DEBUG"] = "false"  # as in production: no debug query log
    os.environ["ALLOWED_HOSTS"] = "testserver"
    with throwaway_database() as database_url:
        setup_django(database_url)
        from django.core.management import call_command
        from django.test import Client

        from dialogs.datasets import checks, report

        call_command("collectstatic", interactive=False, verbosity=0)
        started = time.perf_counter()
        _course, curator, dataset = make_world(args.examples)
        filled = time.perf_counter() - started
        started = time.perf_counter()
        checks.dataset_revalidate(dataset)
        revalidated = time.perf_counter() - started
        analyze()
        check = report.dataset_check(dataset)
        print(
            f"database: {database_url.split(':', 1)[0]}; examples: {dataset.examples.count()} "
            f"({check.train + check.validation} ready); filled in {filled:.1f} s; "
            f"full re-validation (the worker's): {revalidated:.1f} s, {args.examples / revalidated:.0f} examples/s"
        )
        print(f"report: {check.report.error_count} errors, {check.report.warning_count} warnings")
        before = validate_whole(dataset)
        print(f"before: each page load validated every ready example: {before:.0f} ms")
        client = Client()
        client.force_login(curator)
        timings = time_requests(client, requests(dataset), args.rounds)
        counts = query_counts(client, dataset)
        edits = time_edits(dataset, curator, args.edits)
    everything = [ms for values in timings.values() for ms in values]
    for name, values in timings.items():
        print(f"  {name:<22} p50 {median(values):6.1f} ms  p95 {percentile(values, 0.95):6.1f} ms")
    page_p95 = percentile(everything, 0.95)
    print(f"all {len(everything)} page loads: p50 {median(everything):.1f} ms, p95 {page_p95:.1f} ms")
    print(f"before ÷ now (p50): {before / median(everything):.0f}×")
    print(f"queries per page: {counts[25]} for 25 rows, {counts[100]} for 100 rows")
    edit_p95 = percentile(edits, 0.95)
    print(f"one example edit, its checks stored: p50 {median(edits):.1f} ms, p95 {edit_p95:.1f} ms")
    equal = counts[25] == counts[100]
    counted = "equal" if equal else "NOT equal"
    page = finish(
        goal=f"dataset page p95 <= {PAGE_MS:.0f} ms and equal query counts for 25 and 100 rows ({counted})",
        measured=page_p95 if equal else float("inf"),
        limit=PAGE_MS,
        unit=" ms",
    )
    edit = finish(goal=f"example edit p95 <= {EDIT_MS:.0f} ms", measured=edit_p95, limit=EDIT_MS, unit=" ms")
    return page or edit


if __name__ == "__main__":
    sys.exit(main())
