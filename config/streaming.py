"""Temporary: stream_for lives in core.streaming. Only dialogs/datasets.py still imports it from
here (that file is being changed on another branch); delete this module once it imports
core.streaming."""

from core.streaming import stream_for

__all__ = ["stream_for"]
