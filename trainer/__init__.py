"""gradcap's trainer: LoRA fine-tuning with TRL and PEFT, in an environment of its own.

This package runs under the trainer's virtual environment (`.venv-trainer`, Python 3.11 with torch,
transformers, TRL and PEFT; see `requirements-trainer.txt`), started as a subprocess by the
`training` app's runner: `python -m trainer <command> ...`. It never imports Django, and gradcap's
web process and ordinary worker never import it. The contract between the two is a job description
(JSON, see `trainer.jobs`) and JSON lines on stdout (`trainer.protocol`).
"""
