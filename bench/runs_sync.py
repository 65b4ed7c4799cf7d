"""Syncing many active fine-tuning runs: provider calls per run and the time a sync round takes.

Runs the production server command (uvicorn, production settings, sandbox enabled, hour-long
sandbox jobs) on a throwaway database. Creates `--runs` sandbox jobs halfway through their
training (so each has dozens of metrics events) and a gradcap run for each, then times
`runs_sync_active` — what the every-minute schedule runs — twice:

1. the first sync of every run (all events are new: the longest event pages),
2. a steady-state sync one simulated minute later (a few new events per run).

Provider calls are counted with an httpx event hook on the HTTP client the bench gives the
backends (every request the SDK sends, retries included).

    .venv/bin/python bench/runs_sync.py [--runs 200]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/runs_sync.py

Exits 0 when both rounds take at most 30 s and cost at most 2 provider calls per run.
"""

import argparse
import os
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import finish, production_server, setup_django, throwaway_database

GOAL_SECONDS = 30.0
GOAL_CALLS = 2.0
JOB_SECONDS = 3600  # sandbox jobs stay running through the bench
BASE_MODEL = "gpt-4.1-mini-2025-04-14"


def make_runs(*, server_url: str, count: int):
    """A course, a snapshot and `count` runs, each with its own sandbox job, halfway through."""
    import openai
    from django.core.files.base import ContentFile
    from django.db.models import F

    from courses.models import Course
    from finetune.backends import RUN_METADATA_KEY
    from finetune.models import Run, Snapshot
    from llm.clients import client_for
    from llm.models import Provider
    from sandbox.models import FineTuningJob

    course = Course.objects.create(title="Bench", slug="bench")
    provider = Provider.objects.create(
        name="Sandbox", kind=Provider.Kind.SANDBOX, base_url=f"{server_url}/sandbox/v1/", max_retries=0
    )
    lines = "".join(
        f'{{"messages": [{{"role": "user", "content": "Question {n}?"}}, '
        f'{{"role": "assistant", "content": "Answer {n}."}}]}}\n'
        for n in range(200)
    ).encode()
    snapshot = Snapshot(
        course=course,
        dataset_name="Bench",
        method="supervised",
        training_sha256="-",
        training_examples=200,
        training_tokens=0,
    )
    snapshot.training_file.save("train.jsonl", ContentFile(lines), save=False)
    snapshot.save()
    client = client_for(provider, http_client=openai.DefaultHttpx2Client())
    training_file = client.files.create(file=("train.jsonl", lines), purpose="fine-tune").id
    runs = []
    for _ in range(count):
        run = Run(
            course=course, snapshot=snapshot, provider=provider, base_model=BASE_MODEL, training_file_id=training_file
        )
        job = client.fine_tuning.jobs.create(
            model=BASE_MODEL, training_file=training_file, metadata={RUN_METADATA_KEY: str(run.key)}
        )
        run.job_id = job.id
        run.status = Run.Status.VALIDATING
        runs.append(run)
    Run.objects.bulk_create(runs)
    job_age(JOB_SECONDS / 2, FineTuningJob, F)
    return runs


def job_age(seconds: float, FineTuningJob, F) -> None:
    """Let time pass for every sandbox job without sleeping."""
    FineTuningJob.objects.update(created_at=F("created_at") - timedelta(seconds=seconds))


def sync_round(http_client, requests: list) -> tuple[float, float, int]:
    """(seconds, provider calls per run, runs synced) for one `runs_sync_active`."""
    from finetune.tracking import runs_sync_active

    requests.clear()
    started = time.perf_counter()
    synced = runs_sync_active(http_client=http_client)
    seconds = time.perf_counter() - started
    return seconds, len(requests) / max(synced, 1), synced


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    os.environ["SANDBOX_FINE_TUNING_SECONDS"] = str(JOB_SECONDS)  # for the server process
    with throwaway_database() as database_url:
        setup_django(database_url)
        import openai
        from django.db.models import F

        from finetune.models import Run, RunEvent
        from sandbox.models import FineTuningJob

        with production_server(database_url) as url:
            runs = make_runs(server_url=url, count=args.runs)
            requests: list = []
            http_client = openai.DefaultHttpx2Client(event_hooks={"request": [requests.append]})
            first_seconds, first_calls, synced = sync_round(http_client, requests)
            first_events = RunEvent.objects.count()
            per_job = Counter(r.url.path.split("/fine_tuning/jobs/")[1].split("/")[0] for r in requests)
            job_age(60, FineTuningJob, F)
            steady_seconds, steady_calls, _ = sync_round(http_client, requests)
            steady_events = RunEvent.objects.count() - first_events
            statuses = Counter(Run.objects.values_list("status", flat=True))
            problems = Run.objects.exclude(sync_error="").count()
            http_client.close()
    print(f"runs: {len(runs)} synced: {synced}, database: {database_url.split(':', 1)[0]}, statuses: {dict(statuses)}")
    print(
        f"first sync:   {first_seconds:6.2f} s, {first_calls:.2f} provider calls per run, {first_events} events stored"
    )
    print(
        f"steady sync:  {steady_seconds:6.2f} s, {steady_calls:.2f} provider calls per run, {steady_events} new events"
    )
    print(f"calls per job in the first round: max {max(per_job.values())}, min {min(per_job.values())}")
    print(f"runs with a refresh problem: {problems}")
    seconds, calls = max(first_seconds, steady_seconds), max(first_calls, steady_calls)
    worst = max(seconds / GOAL_SECONDS, calls / GOAL_CALLS, 0 if synced == len(runs) and not problems else 99)
    return finish(
        goal=(
            f"{len(runs)} active runs synced in <= {GOAL_SECONDS:.0f} s (worst round {seconds:.1f} s) with "
            f"<= {GOAL_CALLS:.0f} provider calls per run (worst {calls:.2f}); worst share of a limit"
        ),
        measured=worst,
        limit=1.0,
    )


if __name__ == "__main__":
    sys.exit(main())
