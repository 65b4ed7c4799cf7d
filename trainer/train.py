"""One training run: a job description in, a LoRA adapter and its manifest out.

The job description (JSON, written by `training/runner.py`)::

    {"job": "trainjob-…", "method": "supervised" | "dpo",
     "base_model": {"name", "source", "revision", "chat_template"},
     "init_adapter": "<dir of an earlier adapter to go on training>" | "",
     "training_file": "<path>.jsonl", "validation_file": "<path>.jsonl" | "",
     "hyperparameters": {"n_epochs", "batch_size", "learning_rate", "lora_rank", "lora_alpha",
                         "lora_dropout", "max_length", "beta"},
     "output_dir": "<work dir>", "resume_from": "<checkpoint dir>" | "",
     "device": "auto" | "cpu" | "cuda", "seed": 42, "checkpoint_seconds": 600,
     "snapshot": {"training_sha256", "validation_sha256"}}

Control: the runner writes `{"action": "pause" | "cancel"}` to `<output_dir>/control.json`; the run
stops at the end of the current step (pause writes a checkpoint first). Progress goes to stdout as
JSON lines (`trainer.protocol`).
"""

import datetime
import json
import math
import os
import platform
import time
from typing import Any

from . import protocol
from .data import Renderer, prepare_preference, prepare_supervised, read_jsonl
from .models import BaseModelSpec, choose_device, fingerprint, load_model, load_tokenizer
from .protocol import NO_EXAMPLES, emit

CONTROL_FILE = "control.json"
ADAPTER_DIR = "adapter"
EVAL_POINTS = 10  # validation loss this many times in a run
# Fault injection for tests, like the sandbox's X-Sandbox-Fault: "crash@<step>" fails as a bug would.
FAULT = os.environ.get("TRAINER_FAULT", "")


def read_control(output_dir: str) -> str:
    try:
        with open(os.path.join(output_dir, CONTROL_FILE), encoding="utf-8") as handle:
            return json.load(handle).get("action", "")
    except (OSError, ValueError):
        return ""


def _agreed(action: str) -> str:
    """Every process of a distributed run must stop at the same step: rank 0 decides."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        box = [action]
        dist.broadcast_object_list(box, src=0)
        return box[0]
    return action


def make_progress_callback(job: dict):
    from transformers import TrainerCallback

    output_dir = job["output_dir"]
    every = float(job.get("checkpoint_seconds") or 600)

    class Progress(TrainerCallback):
        """Metrics, checkpoints and the runner's pause/cancel requests, once per step."""

        def __init__(self):
            self.stopped = ""
            self.pending: dict[str, Any] | None = None
            self.started = time.monotonic()
            self.first_step = 0
            self.last_save = time.monotonic()
            self.last_tokens: tuple[float, int] | None = None

        def on_train_begin(self, args, state, control, **kwargs):
            self.started = time.monotonic()
            self.first_step = state.global_step  # above 0 when resumed from a checkpoint
            self.last_tokens = (self.started, state.num_input_tokens_seen)
            emit("started", step=state.global_step, total_steps=state.max_steps)

        def on_step_end(self, args, state, control, **kwargs):
            if f"crash@{state.global_step}" == FAULT:
                raise RuntimeError(f"injected fault at step {state.global_step} (TRAINER_FAULT)")
            action = _agreed(read_control(output_dir) if protocol.is_main_process() else "")
            if action in ("pause", "cancel"):
                self.stopped = action
                control.should_training_stop = True
                control.should_save = action == "pause"
            elif time.monotonic() - self.last_save >= every:
                control.should_save = True
            return control

        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs or {}
            if "loss" in logs:
                now = time.monotonic()
                tokens = state.num_input_tokens_seen
                rate = None
                if self.last_tokens and now > self.last_tokens[0]:
                    rate = (tokens - self.last_tokens[1]) / (now - self.last_tokens[0])
                self.last_tokens = (now, tokens)
                done = state.global_step - self.first_step
                eta = (now - self.started) / done * (state.max_steps - state.global_step) if done else None
                self.pending = {
                    "step": state.global_step,
                    "total_steps": state.max_steps,
                    "train_loss": logs["loss"],
                    "learning_rate": logs.get("learning_rate"),
                    "train_mean_token_accuracy": logs.get("mean_token_accuracy"),
                    "epoch": logs.get("epoch"),
                    "tokens_seen": tokens,
                    "tokens_per_second": round(rate, 1) if rate is not None else None,
                    "eta_seconds": round(eta, 1) if eta is not None else None,
                }
                if not control.should_evaluate:
                    self.flush()
            elif "eval_loss" in logs:
                if self.pending is None or self.pending["step"] != state.global_step:
                    self.flush()
                    self.pending = {"step": state.global_step, "total_steps": state.max_steps}
                self.pending["valid_loss"] = logs["eval_loss"]
                self.flush()

        def on_save(self, args, state, control, **kwargs):
            self.last_save = time.monotonic()
            emit("checkpoint", step=state.global_step, path=os.path.join(output_dir, f"checkpoint-{state.global_step}"))

        def on_train_end(self, args, state, control, **kwargs):
            self.flush()

        def flush(self):
            if self.pending:
                emit("metrics", **{key: value for key, value in self.pending.items() if value is not None})
            self.pending = None

    return Progress()


def _library_versions() -> dict[str, str]:
    import accelerate
    import peft
    import torch
    import transformers
    import trl

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "trl": trl.__version__,
        "peft": peft.__version__,
        "accelerate": accelerate.__version__,
    }


def _prepare(job: dict, renderer: Renderer, max_length: int):
    prepare = prepare_preference if job["method"] == "dpo" else prepare_supervised
    training = prepare(renderer, read_jsonl(job["training_file"]), max_length=max_length)
    validation = None
    if job.get("validation_file"):
        validation = prepare(renderer, read_jsonl(job["validation_file"]), max_length=max_length)
    return training, validation


def _total_steps(examples: int, batch_size: int, epochs: int, world_size: int) -> int:
    per_step = batch_size * max(1, world_size)
    return math.ceil(examples / per_step) * epochs


def run(job: dict) -> None:
    from datasets import Dataset
    from peft import LoraConfig, PeftModel

    hyper = job["hyperparameters"]
    spec = BaseModelSpec.from_job(job["base_model"])
    device = choose_device(job.get("device") or "auto")
    os.makedirs(job["output_dir"], exist_ok=True)

    tokenizer = load_tokenizer(spec)
    renderer = Renderer(tokenizer)
    max_length = int(hyper["max_length"])
    training, validation = _prepare(job, renderer, max_length)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    batch_size = int(hyper["batch_size"])
    epochs = int(hyper["n_epochs"])
    emit(
        "prepared",
        examples=len(training.rows),
        validation_examples=len(validation.rows) if validation else 0,
        too_long=training.too_long,
        validation_too_long=validation.too_long if validation else [],
        nothing_to_learn=training.nothing_to_learn,
        max_length=max_length,
        longest=max(training.longest, validation.longest if validation else 0),
        tokens=training.tokens,
        epochs=epochs,
        batch_size=batch_size,
        total_steps=_total_steps(len(training.rows), batch_size, epochs, world_size),
        template_tools=renderer.support.tools,
    )
    if not training.rows:
        raise protocol.TrainerError(NO_EXAMPLES, "no example is left to train on")
    if read_control(job["output_dir"]) in ("pause", "cancel"):
        emit("stopped", reason=read_control(job["output_dir"]), step=0)
        return

    model, seconds = load_model(spec, device=device)
    if job.get("init_adapter"):
        model = PeftModel.from_pretrained(model, job["init_adapter"], is_trainable=True)
        peft_config = None
    else:
        peft_config = LoraConfig(
            r=int(hyper["lora_rank"]),
            lora_alpha=int(hyper["lora_alpha"]),
            lora_dropout=float(hyper["lora_dropout"]),
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        )
    dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
    emit(
        "loaded",
        parameters=sum(parameter.numel() for parameter in model.parameters()),
        device=device,
        dtype=dtype,
        seconds=round(seconds, 1),
    )

    total = _total_steps(len(training.rows), batch_size, epochs, world_size)
    common: dict[str, Any] = {
        "output_dir": job["output_dir"],
        "num_train_epochs": epochs,
        "per_device_train_batch_size": batch_size,
        "per_device_eval_batch_size": batch_size,
        "learning_rate": float(hyper["learning_rate"]),
        "lr_scheduler_type": "linear",
        "logging_steps": 1,
        "save_strategy": "no",  # the progress callback asks for checkpoints (time-based and on pause)
        "save_total_limit": 2,
        "eval_strategy": "steps" if validation and validation.rows else "no",
        "eval_steps": max(1, total // EVAL_POINTS),
        "report_to": [],
        "seed": int(job.get("seed", 42)),
        "disable_tqdm": True,
        "use_cpu": device == "cpu",
        "bf16": device == "cuda" and dtype == "bfloat16",
        "fp16": device == "cuda" and dtype == "float16",
        "include_num_input_tokens_seen": "non_padding",
        # Recomputing activations saves memory on a GPU; on the CPU it only costs time.
        "gradient_checkpointing": device == "cuda",
        "dataloader_num_workers": 0,
        "max_length": None,  # over-long examples were left out above, never cut
    }
    progress = make_progress_callback(job)
    train_set = Dataset.from_list(training.rows)
    eval_set = Dataset.from_list(validation.rows) if validation and validation.rows else None
    if job["method"] == "dpo":
        from trl import DPOConfig, DPOTrainer

        trainer = DPOTrainer(
            model=model,
            args=DPOConfig(beta=float(hyper.get("beta") or 0.1), **common),
            train_dataset=train_set,
            eval_dataset=eval_set,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=[progress],
        )
    else:
        from trl import SFTConfig, SFTTrainer

        trainer = SFTTrainer(
            model=model,
            args=SFTConfig(packing=False, **common),
            train_dataset=train_set,
            eval_dataset=eval_set,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=[progress],
        )
    # Without tqdm the trainer prints each log as a dict to stdout, which is the runner's channel.
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)
    started = time.monotonic()
    result = trainer.train(resume_from_checkpoint=job.get("resume_from") or None)
    state = trainer.state
    if progress.stopped:
        checkpoint = os.path.join(job["output_dir"], f"checkpoint-{state.global_step}")
        emit(
            "stopped",
            reason=progress.stopped,
            step=state.global_step,
            checkpoint=checkpoint if progress.stopped == "pause" else "",
        )
        return

    adapter_dir = os.path.join(job["output_dir"], ADAPTER_DIR)
    if protocol.is_main_process():
        trainer.model.save_pretrained(adapter_dir)
        tokenizer.save_pretrained(adapter_dir)
    losses = [entry for entry in state.log_history if "loss" in entry]
    evals = [entry for entry in state.log_history if "eval_loss" in entry]
    seconds = time.monotonic() - started
    manifest = {
        "format": "gradcap-adapter/1",
        "job": job.get("job", ""),
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "base_model": {
            "name": spec.name,
            "source": spec.source,
            "revision": spec.revision or (fingerprint(spec.source) if spec.is_local else ""),
            "chat_template_overridden": bool(spec.chat_template),
        },
        "continued_from": job.get("init_adapter_name", ""),
        "method": job["method"],
        "snapshot": job.get("snapshot", {}),
        "hyperparameters": hyper,
        "examples": {
            "trained": len(training.rows),
            "too_long": training.too_long,
            "nothing_to_learn": training.nothing_to_learn,
            "validation": len(validation.rows) if validation else 0,
        },
        "libraries": _library_versions(),
        "device": device,
        "metrics": {
            "steps": state.global_step,
            "train_loss": losses[-1]["loss"] if losses else None,
            "valid_loss": evals[-1]["eval_loss"] if evals else None,
            "trained_tokens": state.num_input_tokens_seen,
            "seconds": round(seconds, 1),
            "tokens_per_second": round(result.metrics.get("train_tokens_per_second") or 0, 1) or None,
        },
    }
    if protocol.is_main_process():
        with open(os.path.join(adapter_dir, "gradcap-manifest.json"), "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, ensure_ascii=False, indent=2)
    emit("done", adapter_dir=adapter_dir, manifest=manifest)
