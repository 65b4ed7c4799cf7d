"""A plain TRL script, as a practitioner would write it: the yardstick of bench/train_overhead.py.

Runs in the trainer's environment (`.venv-trainer/bin/python bench/plain_trl.py ...`), knows nothing of
gradcap: reads the snapshot's JSONL, trains a LoRA adapter with TRL's SFTTrainer on the same base model
with the same hyperparameters, saves the adapter, prints one JSON line with its figures.
"""

import argparse
import json
import time

started = time.monotonic()

import torch
from datasets import Dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("train_file")
    parser.add_argument("output_dir")
    parser.add_argument("--hyperparameters", required=True, help="JSON, as gradcap resolved them")
    args = parser.parse_args()
    hyper = json.loads(args.hyperparameters)

    with open(args.train_file, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    # TRL's conversational format: role and content only.
    conversations = [
        {"messages": [{"role": m["role"], "content": m.get("content") or ""} for m in row["messages"]]} for row in rows
    ]
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    trainer = SFTTrainer(
        model=model,
        args=SFTConfig(
            output_dir=args.output_dir,
            num_train_epochs=hyper["n_epochs"],
            per_device_train_batch_size=hyper["batch_size"],
            learning_rate=hyper["learning_rate"],
            lr_scheduler_type="linear",
            max_length=hyper["max_length"],
            seed=42,
            report_to=[],
            save_strategy="no",
            use_cpu=True,
            # The same precision and memory trade-off as gradcap's trainer on a CPU. TRL's defaults
            # (bf16 autocast, activation checkpointing) made each step about 14 times slower here.
            bf16=False,
            gradient_checkpointing=False,
            include_num_input_tokens_seen="non_padding",
            disable_tqdm=True,
        ),
        train_dataset=Dataset.from_list(conversations),
        processing_class=tokenizer,
        peft_config=LoraConfig(
            r=hyper["lora_rank"],
            lora_alpha=hyper["lora_alpha"],
            lora_dropout=hyper["lora_dropout"],
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        ),
    )
    result = trainer.train()
    trainer.model.save_pretrained(f"{args.output_dir}/adapter")
    state = trainer.state
    print(
        json.dumps(
            {
                "steps": state.global_step,
                "tokens": state.num_input_tokens_seen,
                "train_loss": result.training_loss,
                "seconds_in_process": round(time.monotonic() - started, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
