"""Warnings about an assistant that later apps contribute (fine-tuning: "trained with another
prompt", "its model stops serving"), without assistants importing them: they register a callable in
their `ready()`. A notice may offer actions: forms that POST `data` to `url`."""

from collections.abc import Callable
from dataclasses import dataclass, field

from .models import Assistant


@dataclass(frozen=True)
class NoticeAction:
    label: str
    url: str
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Notice:
    text: str
    actions: tuple[NoticeAction, ...] = ()

    def __str__(self) -> str:
        return self.text


NoticeSource = Callable[[Assistant], list[Notice | str]]
_sources: list[NoticeSource] = []


def notice_source_register(source: NoticeSource) -> None:
    if source not in _sources:
        _sources.append(source)


def assistant_notices(assistant: Assistant) -> list[Notice]:
    return [
        notice if isinstance(notice, Notice) else Notice(text=str(notice))
        for source in _sources
        for notice in source(assistant)
    ]
