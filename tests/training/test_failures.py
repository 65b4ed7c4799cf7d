"""What a curator meets when self-hosted training cannot go on: each a clear message on the run page
(and the trainer's log), nothing lost. Every case is real: a missing model, long examples, a CPU
host told to use a GPU, a memory limit, a full disk, a trainer that crashes."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse

from finetune.models import Run
from tests.fixtures.images import image_data_url
from tests.fixtures.training import FACTS, SMOL, dataset_of, fact_rows, job_of, start

LONG_ANSWER = " ".join(["The course covers loops, functions, lists and dictionaries in depth."] * 12)


def _run(course, curator, tutor, capture, rows=None, **hyper) -> Run:
    dataset = dataset_of(course, curator, rows or fact_rows(FACTS[:2]), assistant=tutor)
    return start(dataset, tutor.provider, curator, capture, n_epochs=1, **hyper)


def test_it_a_missing_base_model_says_where_it_was_looked_for(
    client, course, curator, tutor, smol, work_dir, django_capture_on_commit_callbacks
):
    smol.source = "/srv/models/not-there"
    smol.save()
    run = _run(course, curator, tutor, django_capture_on_commit_callbacks)
    assert run.status == Run.Status.FAILED
    assert "The base model SmolLM2-135M-Instruct was not found on training host" in run.error
    assert "/srv/models/not-there" in run.error and "Base models" in run.error
    client.force_login(curator)
    page = client.get(run.get_absolute_url()).content.decode()
    assert "was not found on training host" in page


def test_it_over_long_examples_are_left_out_and_named_before_training(
    course, curator, tutor, smol, work_dir, django_capture_on_commit_callbacks
):
    rows = fact_rows(FACTS[:2]) + fact_rows([("Tell me everything about the course.", LONG_ANSWER)])
    run = _run(course, curator, tutor, django_capture_on_commit_callbacks, rows=rows, max_length=128)
    assert run.status == Run.Status.SUCCEEDED, run.error
    warning = run.events.get(level="warn")
    assert warning.message.startswith(
        "Left out, longer than the maximum length of 128 tokens: 1 training examples (lines 3)."
    )
    prepared = run.events.get(message__startswith="Tokenized with")
    assert prepared.created_at <= run.events.filter(type="metrics").earliest("created_at").created_at
    assert job_of(run).manifest["examples"] == {"trained": 2, "too_long": [3], "nothing_to_learn": [], "validation": 0}


def test_it_nothing_left_to_train_on_fails_with_what_to_change(
    course, curator, tutor, smol, work_dir, django_capture_on_commit_callbacks
):
    rows = fact_rows([("Tell me everything about the course.", LONG_ANSWER)])
    run = _run(course, curator, tutor, django_capture_on_commit_callbacks, rows=rows, max_length=64)
    assert run.status == Run.Status.FAILED
    assert "No example is left to train on" in run.error and "64 tokens" in run.error


def test_it_images_fail_with_what_the_trainer_cannot_do_even_for_a_model_that_sees_them(
    course, curator, tutor, smol, work_dir, django_capture_on_commit_callbacks
):
    # The start page lets images through to a base model registered as seeing them; the trainer
    # renders text only so far and refuses them before it loads the model, rather than drop them.
    smol.multimodal = True
    smol.save()
    question = [
        {"type": "text", "text": "What is on this slide?"},
        {"type": "image_url", "image_url": {"url": image_data_url()}},
    ]
    answer = {"role": "assistant", "content": "A red square."}
    rows = [*fact_rows(FACTS[:1]), {"messages": [{"role": "user", "content": question}, answer]}]
    run = _run(course, curator, tutor, django_capture_on_commit_callbacks, rows=rows)
    assert run.status == Run.Status.FAILED
    assert run.error.startswith("The examples hold images, and gradcap's trainer trains on text only so far")
    assert f"cannot train {SMOL} on images" in run.error
    assert not run.events.filter(message__startswith="Base model loaded").exists()


def test_it_a_host_told_to_train_on_a_gpu_it_lacks_says_so(
    course, curator, tutor, smol, work_dir, settings, django_capture_on_commit_callbacks
):
    settings.TRAINING_DEVICE = "cuda"
    run = _run(course, curator, tutor, django_capture_on_commit_callbacks)
    assert run.status == Run.Status.FAILED
    assert "has no GPU that torch can use" in run.error and "TRAINING_DEVICE=cuda" in run.error


def test_it_a_host_without_the_trainers_environment_says_how_to_install_it(
    course, curator, tutor, smol, work_dir, settings, django_capture_on_commit_callbacks
):
    settings.TRAINER_PYTHON = "/opt/nowhere/bin/python"
    run = _run(course, curator, tutor, django_capture_on_commit_callbacks)
    assert run.status == Run.Status.FAILED
    assert "The trainer's environment is missing" in run.error and "bin/setup-trainer" in run.error


def test_it_out_of_memory_says_which_settings_to_lower(
    course, curator, tutor, smol, work_dir, settings, monkeypatch, django_capture_on_commit_callbacks
):
    # The host's memory, as the trainer may use it: room for the model, not for this batch.
    settings.TRAINING_MEMORY_LIMIT_MB = 4500
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # each thread reserves memory of its own
    rows = fact_rows([(f"Tell me everything, part {n}.", LONG_ANSWER * 2) for n in range(8)])
    run = _run(course, curator, tutor, django_capture_on_commit_callbacks, rows=rows, batch_size=8, max_length=2048)
    assert run.status == Run.Status.FAILED
    assert "ran out of memory" in run.error
    assert "Lower the batch size (now 8) or the maximum length (now 2048)" in run.error


def test_it_a_crashing_trainer_shows_its_last_log_lines_and_its_whole_log(
    client, course, curator, tutor, smol, work_dir, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setenv("TRAINER_FAULT", "crash@1")
    run = _run(course, curator, tutor, django_capture_on_commit_callbacks)
    assert run.status == Run.Status.FAILED
    assert run.error.startswith("The trainer crashed: RuntimeError: injected fault at step 1")
    client.force_login(curator)
    page = client.get(run.get_absolute_url()).content.decode()
    assert 'id="trainer-log"' in page and "Traceback" in page
    log = client.get(reverse("finetune:run_log", args=[course.slug, run.pk]))
    text = b"".join(log.streaming_content).decode()
    assert log["Content-Disposition"].startswith("attachment") and "injected fault at step 1" in text


@pytest.fixture
def small_disk(tmp_path):
    """A 24 MB file system for the trainer's work folder: room for the model's inputs, not for a
    checkpoint. Mounting needs root (as in CI)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run([shutil.which("mount"), "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], check=True)
    yield Path(mount)
    subprocess.run([shutil.which("umount"), "-l", str(mount)], check=False)


def test_it_a_full_disk_says_where_to_free_space(
    course, curator, tutor, smol, settings, small_disk, django_capture_on_commit_callbacks
):
    settings.TRAINING_WORK_DIR = small_disk
    settings.TRAINING_CHECKPOINT_SECONDS = 0  # a checkpoint after the first step
    run = _run(course, curator, tutor, django_capture_on_commit_callbacks, lora_rank=64)
    assert run.status == Run.Status.FAILED
    assert "is full" in run.error and str(small_disk) in run.error
