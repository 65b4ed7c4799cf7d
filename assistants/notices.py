"""Warnings about an assistant that later apps contribute (fine-tuning: "trained with another
prompt"), without assistants importing them: they register a callable in their `ready()`."""

from collections.abc import Callable

from .models import Assistant

NoticeSource = Callable[[Assistant], list[str]]
_sources: list[NoticeSource] = []


def notice_source_register(source: NoticeSource) -> None:
    if source not in _sources:
        _sources.append(source)


def assistant_notices(assistant: Assistant) -> list[str]:
    return [notice for source in _sources for notice in source(assistant)]
