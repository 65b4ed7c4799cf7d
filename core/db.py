"""Database work from async code: in a few threads of its own, with no connection held while a
model thinks.

Django runs an async view's sync_to_async calls in a thread of the request, and that thread's
connection stays checked out until the whole response has been sent: for a streamed answer, the
seconds the model takes to think and then to write. With a pool of 20 connections, 20 learners
waiting for a model would starve everything else (a chat stream is mostly waiting).

`database(function, ...)` runs the function in one of DATABASE_THREADS threads shared by the
process and gives the connection back as soon as it returns, so a chat holds a connection only
for the milliseconds of its queries. Callers beyond DATABASE_THREADS queue here, in order and
without a timeout, rather than in the connection pool: past capacity a chat waits, it does not
fail with a pool timeout. The threads keep their SQLite connections open (opening one costs
milliseconds, and SQLite has no pool); other connections go back to the pool, or are closed.

Called from sync code through async_to_sync (the test client, a WSGI server) the function runs
in the caller's thread, as Django's own sync_to_async would, so it sees the caller's transaction.
"""

import functools
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import AsyncToSync, sync_to_async
from django.conf import settings
from django.db import connections

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_kept: "weakref.WeakSet" = weakref.WeakSet()  # the SQLite connections the database threads keep open


def release_connections(*, keep_sqlite: bool = False) -> None:
    """Close this thread's connections (a pooled one goes back to the pool). With `keep_sqlite`,
    a healthy SQLite connection stays open for the thread's next call."""
    for connection in connections.all(initialized_only=True):
        # Inside a transaction (a test's, or a caller's) the connection is not ours to close.
        if connection.in_atomic_block:
            continue
        if keep_sqlite and connection.vendor == "sqlite" and not connection.errors_occurred:
            _kept.add(connection)
            continue
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


def _in_database_thread[**P, R](function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    try:
        return function(*args, **kwargs)
    finally:
        release_connections(keep_sqlite=True)


def database_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=settings.DATABASE_THREADS, thread_name_prefix="database")
        return _executor


def database_threads_stop() -> None:
    """Stop the database threads and close the connections they kept (the next call starts new
    threads). Tests call it before their database goes: an SQLite file whose connections were never
    closed leaves its -wal file behind, for a later database of the same name to pick up."""
    global _executor
    with _executor_lock:
        executor, _executor = _executor, None
    if executor is not None:
        executor.shutdown(wait=True)
    for connection in list(_kept):  # their threads have ended: nobody else uses them
        if connection.connection is not None:
            connection.connection.close()
            connection.connection = None
    _kept.clear()


async def database[**P, R](function: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Run `function(*args, **kwargs)`, sync database work, from async code (see the module's doc)."""
    if getattr(AsyncToSync.executors, "current", None) is not None:  # a sync caller waits above us
        return await sync_to_async(released(function))(*args, **kwargs)
    run = sync_to_async(_in_database_thread, thread_sensitive=False, executor=database_executor())
    return await run(function, *args, **kwargs)
