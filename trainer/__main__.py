"""`python -m trainer <command>`: the trainer's command line (run by gradcap's training runner).

- `train JOB.json`: one training run (`trainer.train`); progress as JSON lines on stdout.
- `check SOURCE [--revision R] [--chat-template FILE]`: can this base model be trained? One JSON line.
- `labels SOURCE FILE.jsonl`: the learned text of each supervised example, decoded from its labels.
- `generate SOURCE [--adapter DIR] --messages JSON`: a greedy answer (tests and the demo's proof).
- `merge SOURCE ADAPTER OUT`: the adapter merged into the base model, saved as a plain model directory.
- `import-gguf GGUF_FILE OUT`: a GGUF checkpoint as a plain model directory (the demo's SmolLM2).

Failures end with one `error` line and exit status 3 (`trainer.protocol`).
"""

import argparse
import errno
import json
import shutil
import sys
import traceback

from .protocol import CRASH, DISK_FULL, EXIT_ERROR, OUT_OF_MEMORY, TrainerError, emit, is_out_of_memory


def _spec(args):
    from .models import BaseModelSpec

    template = ""
    if getattr(args, "chat_template", None):
        with open(args.chat_template, encoding="utf-8") as handle:
            template = handle.read()
    return BaseModelSpec(name=args.source, source=args.source, revision=args.revision or "", chat_template=template)


def command_train(args) -> None:
    from .train import run

    with open(args.job, encoding="utf-8") as handle:
        job = json.load(handle)
    run(job)


def command_check(args) -> None:
    from .models import check

    emit("checked", **check(_spec(args)))


def command_labels(args) -> None:
    from .data import Renderer, read_jsonl
    from .models import load_tokenizer

    tokenizer = load_tokenizer(_spec(args))
    renderer = Renderer(tokenizer)
    for number, example in read_jsonl(args.file):
        tokenized = renderer.supervised(example)
        # Consecutive labelled tokens decode together: one string per learned stretch.
        pieces, current = [], []
        for token, label in zip(tokenized.input_ids, tokenized.labels, strict=True):
            if label != -100:
                current.append(token)
            elif current:
                pieces.append(tokenizer.decode(current))
                current = []
        if current:
            pieces.append(tokenizer.decode(current))
        emit(
            "labels",
            line=number,
            learned=pieces,
            text=tokenizer.decode(tokenized.input_ids),
            tokens=len(tokenized.input_ids),
            template_tools=renderer.support.tools,
        )


def command_generate(args) -> None:
    import torch

    from .data import Renderer
    from .models import load_model, load_tokenizer

    spec = _spec(args)
    tokenizer = load_tokenizer(spec)
    model, _seconds = load_model(spec, device="cpu", dtype=torch.float32)
    if args.adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, args.adapter)
    model.eval()
    renderer = Renderer(tokenizer)
    for conversation in json.loads(args.messages):
        # The conversation as the model was trained on it (tools and tool calls where the template lacks them).
        messages, tools, _learned = renderer.normalise(conversation, None)
        inputs = tokenizer.apply_chat_template(
            messages, tools=tools, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        with torch.no_grad():
            output = model.generate(**inputs, max_new_tokens=args.max_new_tokens, do_sample=False)
        text = tokenizer.decode(output[0][inputs["input_ids"].shape[1] :], skip_special_tokens=True)
        emit("generated", text=text)


def command_merge(args) -> None:
    from peft import PeftModel

    from .models import load_model, load_tokenizer

    spec = _spec(args)
    tokenizer = load_tokenizer(spec)
    model, _seconds = load_model(spec, device="cpu", dtype="auto")
    merged = PeftModel.from_pretrained(model, args.adapter).merge_and_unload()
    merged.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    emit("merged", path=args.out)


def command_import_gguf(args) -> None:
    import os

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = os.path.split(os.path.abspath(args.gguf))
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.bfloat16)
    # A GGUF-loaded model refuses save_pretrained ("quantized with gguf"); its tensors are plain
    # once dequantized, so drop the marker and save a normal directory.
    del model.config.quantization_config
    model.hf_quantizer = None
    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    emit("imported", path=args.out)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trainer")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train")
    train.add_argument("job")
    train.set_defaults(run=command_train)

    for name, function in (("check", command_check), ("labels", command_labels), ("generate", command_generate)):
        sub = commands.add_parser(name)
        sub.add_argument("source")
        sub.add_argument("--revision", default="")
        sub.add_argument("--chat-template", default="")
        sub.set_defaults(run=function)
        if name == "labels":
            sub.add_argument("file")
        if name == "generate":
            sub.add_argument("--adapter", default="")
            sub.add_argument("--messages", required=True, help="a JSON list of conversations")
            sub.add_argument("--max-new-tokens", type=int, default=48)

    merge = commands.add_parser("merge")
    merge.add_argument("source")
    merge.add_argument("adapter")
    merge.add_argument("out")
    merge.add_argument("--revision", default="")
    merge.set_defaults(run=command_merge)

    gguf = commands.add_parser("import-gguf")
    gguf.add_argument("gguf")
    gguf.add_argument("out")
    gguf.set_defaults(run=command_import_gguf)
    return parser


LOW_DISK_BYTES = 64 * 1024 * 1024


def _disk_nearly_full(folder: str) -> bool:
    try:
        return shutil.disk_usage(folder).free < LOW_DISK_BYTES
    except OSError:
        return False


def classify(error: BaseException, *, output_dir: str = "") -> TrainerError:
    """Failures a curator can act on get their own code; the rest are crashes (see the log)."""
    if isinstance(error, TrainerError):
        return error
    name = type(error).__name__
    text = str(error)
    first = (text.strip().splitlines() or [name])[0][:500]
    if is_out_of_memory(error):
        return TrainerError(OUT_OF_MEMORY, first, phase="training")
    # torch reports a failed write without its errno ("file write failed"): a full disk says why.
    no_space = (isinstance(error, OSError) and error.errno == errno.ENOSPC) or "No space left" in text
    if no_space or ("write" in text.lower() and output_dir and _disk_nearly_full(output_dir)):
        return TrainerError(DISK_FULL, first)
    return TrainerError(CRASH, f"{name}: {first}")


def _output_dir(args) -> str:
    try:
        with open(args.job, encoding="utf-8") as handle:
            return json.load(handle).get("output_dir", "")
    except (AttributeError, OSError, ValueError):
        return getattr(args, "out", "")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        args.run(args)
    except KeyboardInterrupt:
        raise
    except BaseException as error:
        if isinstance(error, SystemExit):
            raise
        traceback.print_exc(file=sys.stderr)
        failure = classify(error, output_dir=_output_dir(args))
        emit("error", code=failure.code, detail=failure.detail, **failure.fields)
        return EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
