"""Database connections in async views.

An async view runs its database work in a thread of the request (sync_to_async), and that
thread's connection stays checked out until the whole response has been sent — for a streamed
answer, many seconds. With a connection pool, 50 streams would hold 50 connections and starve
everything else. `released` gives the connection back as soon as the work is done.
"""

import functools
from collections.abc import Callable

from django.db import connections


def release_connections() -> None:
    """Close this thread's connections (a pooled one goes back to the pool)."""
    for connection in connections.all(initialized_only=True):
        # Inside a transaction (a test's, or a caller's) the connection is not ours to close.
        if not connection.in_atomic_block:
            connection.close()


def released[**P, R](function: Callable[P, R]) -> Callable[P, R]:
    """Wrap a sync function run by sync_to_async: release its connections when it returns."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        finally:
            release_connections()

    return wrapper
