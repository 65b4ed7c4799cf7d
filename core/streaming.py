"""Streamed downloads that stay streamed under ASGI."""

from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest


def stream_for(request: HttpRequest, chunks: Iterator[bytes]) -> Iterator[bytes] | AsyncIterator[bytes]:
    """Under ASGI Django would read a plain iterator to the end before sending it (all in memory):
    there, hand it an async iterator that pulls one chunk at a time (in the request's thread, so a
    database connection the chunks use stays the same throughout)."""
    if not isinstance(request, ASGIRequest):
        return chunks

    async def pull() -> AsyncIterator[bytes]:
        take = sync_to_async(lambda: next(chunks, None))
        while (chunk := await take()) is not None:
            yield chunk

    return pull()
