"""Recorded dialogs and the fine-tuning datasets curated from them.

The pure data layer lives in `formats` (example shapes, import and export), `validation`
(every check before training) and `stats` (token statistics, epochs and cost estimates).
"""
