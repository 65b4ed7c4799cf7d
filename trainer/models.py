"""Loading base models and adapters, with failures said in the trainer's error codes."""

import hashlib
import json
import os
import struct
import time
from dataclasses import dataclass

from .protocol import MODEL_MISSING, MODEL_UNLOADABLE, NO_GPU, OUT_OF_MEMORY, TrainerError, is_out_of_memory


@dataclass(frozen=True)
class BaseModelSpec:
    """A registered base model: a local directory or a hub id (with a revision), and an optional
    chat template that replaces the tokenizer's own."""

    name: str
    source: str
    revision: str = ""
    chat_template: str = ""

    @classmethod
    def from_job(cls, data: dict) -> "BaseModelSpec":
        return cls(
            name=data.get("name", ""),
            source=data["source"],
            revision=data.get("revision", ""),
            chat_template=data.get("chat_template", ""),
        )

    @property
    def is_local(self) -> bool:
        return self.source.startswith(("/", ".", "~")) or os.path.isdir(self.source)

    def pretrained_kwargs(self) -> dict:
        kwargs = {}
        if self.revision and not self.is_local:
            kwargs["revision"] = self.revision
        return kwargs

    def check_present(self) -> None:
        if self.is_local and not os.path.isdir(os.path.expanduser(self.source)):
            raise TrainerError(MODEL_MISSING, f"no directory {self.source}")


def choose_device(wanted: str) -> str:
    import torch

    if wanted == "cuda" and not torch.cuda.is_available():
        raise TrainerError(NO_GPU, "torch sees no CUDA device on this host")
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return wanted


def training_dtype(device: str):
    """bf16 where the GPU has it (fp16 otherwise); fp32 on the CPU, where half precision is slow."""
    import torch

    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def load_tokenizer(spec: BaseModelSpec):
    from transformers import AutoTokenizer

    spec.check_present()
    try:
        tokenizer = AutoTokenizer.from_pretrained(os.path.expanduser(spec.source), **spec.pretrained_kwargs())
    except OSError as error:
        code = MODEL_MISSING if not spec.is_local else MODEL_UNLOADABLE
        raise TrainerError(code, str(error)) from error
    except Exception as error:
        raise TrainerError(MODEL_UNLOADABLE, f"{type(error).__name__}: {error}") from error
    if spec.chat_template:
        tokenizer.chat_template = spec.chat_template
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(spec: BaseModelSpec, *, device: str, dtype=None):
    from transformers import AutoModelForCausalLM

    spec.check_present()
    started = time.monotonic()
    try:
        model = AutoModelForCausalLM.from_pretrained(
            os.path.expanduser(spec.source), dtype=dtype or training_dtype(device), **spec.pretrained_kwargs()
        )
    except OSError as error:
        code = MODEL_MISSING if not spec.is_local else MODEL_UNLOADABLE
        raise TrainerError(code, str(error)) from error
    except MemoryError as error:
        raise TrainerError(OUT_OF_MEMORY, "MemoryError", phase="loading") from error
    except (ValueError, KeyError, RuntimeError) as error:
        if is_out_of_memory(error):
            raise TrainerError(OUT_OF_MEMORY, str(error).splitlines()[0], phase="loading") from error
        raise TrainerError(MODEL_UNLOADABLE, f"{type(error).__name__}: {error}") from error
    model.to(device)
    return model, time.monotonic() - started


def fingerprint(source: str) -> str:
    """A cheap identity of a local model directory: the config, and each weight file's name, size and
    safetensors header (tensor names, shapes, dtypes, offsets). Hashing the weights themselves would
    take minutes for a large model."""
    digest = hashlib.sha256()
    root = os.path.expanduser(source)
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if not os.path.isfile(path):
            continue
        if name.endswith(".json"):
            with open(path, "rb") as handle:
                digest.update(name.encode() + b"\0" + handle.read())
        elif name.endswith(".safetensors"):
            with open(path, "rb") as handle:
                (size,) = struct.unpack("<Q", handle.read(8))
                digest.update(name.encode() + b"\0" + str(os.path.getsize(path)).encode() + handle.read(size))
    return digest.hexdigest()


def check(spec: BaseModelSpec) -> dict:
    """What an admin needs to know before registering a base model: that its config, tokenizer and
    chat template load, and that its weights match the architecture (read without allocating them)."""
    from accelerate import init_empty_weights
    from transformers import AutoConfig, AutoModelForCausalLM

    from .data import Renderer

    tokenizer = load_tokenizer(spec)
    try:
        config = AutoConfig.from_pretrained(os.path.expanduser(spec.source), **spec.pretrained_kwargs())
        with init_empty_weights():
            skeleton = AutoModelForCausalLM.from_config(config)
    except (OSError, ValueError, KeyError) as error:
        raise TrainerError(MODEL_UNLOADABLE, f"{type(error).__name__}: {error}") from error
    skeleton.tie_weights()  # tied input and output embeddings are one tensor, counted once
    renderer = Renderer(tokenizer)
    sample = renderer.supervised(
        {"messages": [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi"}]}
    )
    result = {
        "architecture": type(skeleton).__name__,
        "parameters": sum(parameter.numel() for parameter in skeleton.parameters()),
        "context_length": getattr(config, "max_position_embeddings", None),
        "chat_template": tokenizer.chat_template,
        "template_tools": renderer.support.tools,
        "sample_tokens": len(sample.input_ids),
    }
    if spec.is_local:
        weights = [name for name in os.listdir(os.path.expanduser(spec.source)) if name.endswith(".safetensors")]
        if not weights:
            raise TrainerError(MODEL_UNLOADABLE, "the directory holds no .safetensors weights")
        expected = set(skeleton.state_dict().keys())
        found = set()
        for name in weights:
            with open(os.path.join(os.path.expanduser(spec.source), name), "rb") as handle:
                (size,) = struct.unpack("<Q", handle.read(8))
                found.update(key for key in json.loads(handle.read(size)) if key != "__metadata__")
        tied = getattr(config, "tie_word_embeddings", False)
        missing = sorted(key for key in expected - found if not (tied and key == "lm_head.weight"))
        if missing:
            raise TrainerError(MODEL_UNLOADABLE, f"weights missing from the files: {', '.join(missing[:5])}")
        result["fingerprint"] = fingerprint(spec.source)
    return result
