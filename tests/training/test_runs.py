"""Real self-hosted runs of SmolLM2 on this CPU, from curated examples to a downloadable adapter that
answers as taught; preference pairs through DPO; a run that goes on from an earlier model."""

import io
import json
import zipfile

from django.urls import reverse

from dialogs.models import Example
from finetune.models import Run
from tests.fixtures.training import FACTS, dataset_of, fact_rows, generate, job_of, start
from training import files
from training.models import TrainingJob

TAUGHT = FACTS[:2]


def test_it_a_curated_dataset_trains_smollm2_and_the_model_answers_as_taught(
    client, course, curator, tutor, smol, work_dir, django_capture_on_commit_callbacks, tmp_path
):
    validation = [(f"{question} (asked again)", answer) for question, answer in FACTS[2:5]]
    dataset = dataset_of(course, curator, fact_rows(FACTS[:5]) + fact_rows(validation), assistant=tutor)
    dataset.examples.filter(pk__in=dataset.examples.order_by("pk").values("pk")[5:]).update(
        split=Example.Split.VALIDATION
    )
    run = start(dataset, tutor.provider, curator, django_capture_on_commit_callbacks, n_epochs=6, batch_size=1)

    assert run.status == Run.Status.SUCCEEDED, run.error
    job = job_of(run)
    assert job.status == TrainingJob.Status.SUCCEEDED and job.device == "cpu"
    assert run.step == run.total_steps == 30 and run.trained_tokens > 0
    points = list(run.metrics.order_by("step"))
    train = [point.train_loss for point in points if point.train_loss is not None]
    valid = [point.valid_loss for point in points if point.valid_loss is not None]
    assert train[-1] < train[0] / 5  # the loss falls
    assert len(valid) >= 3 and valid[-1] < valid[0]  # validation loss from the validation split
    messages = [event.message for event in run.events.order_by("created_at", "pk")]
    assert any("Tokenized with the base model's chat template: 5 examples" in message for message in messages)
    assert messages[-1].startswith("New fine-tuned model created: ft:SmolLM2-135M-Instruct:self-hosted:test:")
    assert run.trained_model.name == run.fine_tuned_model

    # What the school owns: the adapter and its manifest, downloadable from the model's page.
    client.force_login(curator)
    page = client.get(run.trained_model.get_absolute_url()).content.decode()
    assert "Download the adapter (ZIP)" in page
    response = client.get(reverse("finetune:model_adapter", args=[course.slug, run.trained_model.pk]))
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = {name.split("/", 1)[1] for name in archive.namelist()}
    assert {"adapter_model.safetensors", "adapter_config.json", "gradcap-manifest.json"} <= names
    archive.extractall(tmp_path / "download")
    (adapter,) = (tmp_path / "download").iterdir()
    manifest = json.loads((adapter / "gradcap-manifest.json").read_text())
    assert manifest["base_model"]["name"] == "SmolLM2-135M-Instruct" and len(manifest["base_model"]["revision"]) == 64
    assert manifest["snapshot"]["training_file"] == f"file-{run.snapshot.training_sha256}"
    assert manifest["hyperparameters"]["n_epochs"] == 6 and manifest["hyperparameters"]["lora_rank"] == 8
    assert {"torch", "transformers", "trl", "peft"} <= set(manifest["libraries"])
    assert manifest["metrics"]["train_loss"] < 0.5 and manifest["metrics"]["trained_tokens"] == run.trained_tokens

    # It answers as taught, greedily; the base model did not.
    questions = [question for question, _ in TAUGHT]
    answers = [answer for _, answer in TAUGHT]
    assert generate(str(smol.source), questions, adapter=str(adapter)) == answers
    assert not set(generate(str(smol.source), questions)) & set(answers)

    # On request, a training host merges the adapter into the base model: one plain model directory.
    trained = run.trained_model
    with django_capture_on_commit_callbacks(execute=True):  # the task runs here and now
        client.post(reverse("finetune:model_merge", args=[course.slug, trained.pk]))
    assert job_of(run).merge_status == "done"
    assert "Download the merged model (ZIP)" in client.get(trained.get_absolute_url()).content.decode()
    response = client.get(reverse("finetune:model_merged", args=[course.slug, trained.pk]))
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as merged:
        merged.extractall(tmp_path / "merged")
    (merged_dir,) = (tmp_path / "merged").iterdir()
    assert (merged_dir / "model.safetensors").exists() and (merged_dir / "config.json").exists()
    assert generate(str(merged_dir), questions) == answers


def test_it_preference_pairs_train_with_dpo(course, curator, tutor, smol, work_dir, django_capture_on_commit_callbacks):
    pairs = [
        {
            "messages": [
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer, "original": "I do not know, sorry."},
            ]
        }
        for question, answer in FACTS[:2]
    ]
    dataset = dataset_of(course, curator, pairs, assistant=tutor)
    run = start(dataset, tutor.provider, curator, django_capture_on_commit_callbacks, method="dpo", n_epochs=2)
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.snapshot.training_examples == 2 and run.step == 2
    assert run.resolved_hyperparameters["beta"] == 0.1  # TRL's default, shown on the run page
    assert [point.train_loss is not None for point in run.metrics.all()] == [True, True]


def test_it_a_run_goes_on_from_an_earlier_model_with_the_examples_curated_since(
    client, course, curator, tutor, smol, work_dir, django_capture_on_commit_callbacks
):
    dataset = dataset_of(course, curator, fact_rows(FACTS[:2]), assistant=tutor)
    first = start(dataset, tutor.provider, curator, django_capture_on_commit_callbacks, n_epochs=1, lora_rank=4)
    assert first.status == Run.Status.SUCCEEDED, first.error
    curation_rows = fact_rows(FACTS[2:3])
    from dialogs.datasets import services as curation

    curation.examples_create(dataset=dataset, rows=curation_rows, user=curator, summary="later")

    # The start page offers the trained model to continue, and only what was curated since.
    client.force_login(curator)
    page = client.get(
        reverse("finetune:run_new", args=[course.slug, dataset.pk]),
        {"provider": tutor.provider.pk, "base_model": first.fine_tuned_model, "only_new": "on", "method": "supervised"},
    ).content.decode()
    assert "Continue training a model of this course" in page
    assert "Only the examples curated since that model was trained" in page
    assert "at the pace of the last run on this base model" in page  # the time it would take

    since = first.snapshot.created_at
    second = start(
        dataset, tutor.provider, curator, django_capture_on_commit_callbacks, base_model=first.fine_tuned_model,
        since=since, n_epochs=1, lora_rank=16,
    )  # fmt: skip
    assert second.status == Run.Status.SUCCEEDED, second.error
    assert second.snapshot.training_examples == 1  # only the new example
    job = job_of(second)
    assert job.continued_from == job_of(first)
    assert job.hyperparameters["lora_rank"] == 4  # the earlier adapter's shape is kept
    assert job.manifest["continued_from"] == first.fine_tuned_model
    assert files.tree_files(job.adapter_path)
