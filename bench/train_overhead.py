"""What gradcap's self-hosted training costs over a plain TRL script, side by side in one run.

Both train the same snapshot (curated examples frozen by gradcap) on the same base model (the demo's
SmolLM2-135M-Instruct) with the same hyperparameters, on this machine's CPU:

- gradcap: the curator's "Start training" (`run_start`), the submission, the job on the training
  queue taken by a real training worker (`Q_CLUSTER_NAME=training manage.py qcluster`, a process of its
  own), the trainer in its environment, progress into the run's events, the adapter into storage —
  timed from the start until the run's job has succeeded;
- plain: `bench/plain_trl.py` in the trainer's environment, timed from its start to its exit.

The two alternate (`--rounds`, plain first), and the medians are compared. Prints both wall times, the
tokens per second of each, and the ratio; the goal is gradcap ≤ 1.10 × plain.

    .venv/bin/python bench/train_overhead.py [--examples 48] [--epochs 3] [--rounds 2]

Needs bin/setup-trainer (bin/test and bin/demo run it).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import PYTHON, ROOT, finish, median, setup_django, throwaway_database

GOAL = 1.10


def make_dataset(count: int):
    from django.conf import settings

    from courses.models import Course
    from dialogs.datasets import services as curation
    from llm.models import Provider
    from training.models import BaseModel

    course = Course.objects.create(title="Bench", slug="bench")
    provider = Provider.objects.create(name="Self", kind=Provider.Kind.SELF_HOSTED, base_url="http://127.0.0.1:9/v1/")
    BaseModel.objects.create(
        provider=provider,
        name="SmolLM2-135M-Instruct",
        source=str(settings.TRAINING_DEMO_MODEL_DIR),
        context_length=8192,
    )
    dataset = curation.dataset_create(course=course, name="Bench", user=None)
    dataset.validation_percent = 0
    dataset.save()
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"Question {n}: when is the lesson on topic {n} and who teaches it?"},
                {
                    "role": "assistant",
                    "content": f"The lesson on topic {n} is in week {n % 12 + 1}, taught by tutor {n}.",
                },
            ]
        }
        for n in range(count)
    ]
    curation.examples_create(dataset=dataset, rows=rows, user=None, summary="bench")
    return dataset, provider


def run_gradcap(dataset, provider, hyper: dict) -> dict:
    from finetune import services
    from training.models import TrainingJob

    started = time.monotonic()
    run = services.run_start(
        dataset=dataset, provider=provider, base_model="SmolLM2-135M-Instruct",
        hyperparameters=hyper, suffix="bench", user=None,
    )  # fmt: skip
    services.run_submit(run_id=run.pk)  # what the ordinary worker does at once
    run.refresh_from_db()
    while True:
        job = TrainingJob.objects.get(public_id=run.job_id)
        if job.status in TrainingJob.FINISHED:
            break
        time.sleep(0.1)
    seconds = time.monotonic() - started
    if job.status != TrainingJob.Status.SUCCEEDED:
        raise SystemExit(f"gradcap's run failed: {job.error}")
    return {"seconds": seconds, "tokens": job.trained_tokens, "steps": job.step, "snapshot": run.snapshot, "job": job}


def run_plain(snapshot, hyper: dict, folder: Path) -> dict:
    from django.conf import settings

    train = folder / "train.jsonl"
    with snapshot.training_file.open("rb") as source:
        train.write_bytes(source.read())
    started = time.monotonic()
    result = subprocess.run(
        [settings.TRAINER_PYTHON, str(ROOT / "bench" / "plain_trl.py"), str(settings.TRAINING_DEMO_MODEL_DIR),
         str(train), str(folder / "plain"), "--hyperparameters", json.dumps(hyper)],
        capture_output=True, check=False, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
    )  # fmt: skip
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(result.stderr.decode()[-3000:])
    for line in reversed(result.stdout.decode().splitlines()):
        try:
            figures = json.loads(line)
            break
        except ValueError:
            continue
    return {"seconds": seconds, "tokens": figures["tokens"], "steps": figures["steps"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=48)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    with throwaway_database() as database_url, tempfile.TemporaryDirectory(prefix="gradcap-train-bench-") as tmp:
        folder = Path(tmp)
        os.environ["GRADCAP_VAR_DIR"] = str(folder / "var")
        os.environ["MEDIA_ROOT"] = str(folder / "media")
        os.environ["TRAINING_WORK_DIR"] = str(folder / "work")
        os.environ["TRAINING_DEMO_MODEL_DIR"] = str(ROOT / "var" / "models" / "SmolLM2-135M-Instruct")
        setup_django(database_url)
        from django.conf import settings

        if not Path(settings.TRAINER_PYTHON).exists():
            raise SystemExit("The trainer's environment is missing: run bin/setup-trainer.")
        dataset, provider = make_dataset(args.examples)
        hyper = {"n_epochs": args.epochs, "batch_size": 4, "learning_rate": 2e-4, "lora_rank": 16}
        worker = subprocess.Popen(
            [PYTHON, "manage.py", "qcluster"],
            cwd=ROOT,
            env={**os.environ, "Q_CLUSTER_NAME": "training", "LOG_LEVEL": "WARNING"},
            start_new_session=True,
        )
        try:
            from finetune.plans import run_plan
            from finetune.services import snapshot_create

            plan = run_plan(dataset=dataset, provider=provider, base_model="SmolLM2-135M-Instruct")
            snapshot = snapshot_create(dataset=dataset, plan=plan, user=None)  # what every gradcap run freezes too
            resolved = _resolved(dataset, hyper)
            plain, ours = [], []
            for round_number in range(1, args.rounds + 1):
                plain.append(run_plain(snapshot, resolved, folder))
                ours.append(run_gradcap(dataset, provider, hyper))
                assert ours[-1]["snapshot"].training_sha256 == snapshot.training_sha256
                print(
                    f"round {round_number}: plain TRL {plain[-1]['seconds']:.1f} s, gradcap {ours[-1]['seconds']:.1f} s"
                    f" ({ours[-1]['steps']} steps each)",
                    flush=True,
                )
        finally:
            worker.terminate()
            worker.wait(timeout=60)

    plain_seconds = median([r["seconds"] for r in plain])
    our_seconds = median([r["seconds"] for r in ours])
    print(f"plain TRL: {plain_seconds:.1f} s, {plain[-1]['tokens'] / plain_seconds:.0f} tokens/s")
    print(f"gradcap:   {our_seconds:.1f} s, {ours[-1]['tokens'] / our_seconds:.0f} tokens/s (start to succeeded run)")
    return finish(goal=f"gradcap's wall time ≤ {GOAL} × plain TRL", measured=our_seconds / plain_seconds, limit=GOAL)


def _resolved(dataset, hyper: dict) -> dict:
    """The hyperparameters as gradcap resolves them (the plain script gets every value spelled out)."""
    from training.hyperparameters import resolve

    examples = dataset.examples.count()
    return resolve(hyper, examples=examples, context_length=8192, method="supervised")


if __name__ == "__main__":
    sys.exit(main())
