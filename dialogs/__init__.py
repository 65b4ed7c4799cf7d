"""Recorded dialogs and the fine-tuning datasets curated from them.

The training-file library they rely on (example shapes, import and export, validation, token
statistics and cost estimates) lives apart, in `trainingfiles`: pure functions over plain data.
"""
