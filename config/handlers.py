"""Django's ASGI handler, with each request's sync code in a thread taken from a pool.

Django runs the sync parts of an ASGI request (its request signals, sync middleware and views,
closing the response) in a thread of that request's own: asgiref makes a one-thread executor for
each request and joins its thread when the request ends. Making and joining that thread is most
of the CPU a simple request costs (about 0.6 ms of 0.7 ms, measured in process), and a chat is two
requests. Here each request borrows a one-thread executor from a pool for its whole life, through
asgiref's own `ThreadSensitiveContext(executor=...)`, and gives it back at the end: the same
guarantee (a request's sync code runs in one thread, one call at a time), with threads reused as a
WSGI server reuses its threads. Django's request_finished handlers, run in that thread as the
response closes, leave it with no connection open for the next request.

Idle executors beyond REQUEST_THREADS_IDLE are shut down rather than kept.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext
from django.core.handlers import asgi

REQUEST_THREADS_IDLE = 64

_idle: list[ThreadPoolExecutor] = []
_lock = threading.Lock()


def _take() -> ThreadPoolExecutor:
    with _lock:
        if _idle:
            return _idle.pop()
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")


def _give_back(executor: ThreadPoolExecutor) -> None:
    with _lock:
        if len(_idle) < REQUEST_THREADS_IDLE:
            _idle.append(executor)
            return
    executor.shutdown(wait=False)


def request_threads_stop() -> None:
    """Stop the idle request threads (tests call it before their database goes)."""
    with _lock:
        idle, _idle[:] = list(_idle), []
    for executor in idle:
        executor.shutdown(wait=True)


class ASGIHandler(asgi.ASGIHandler):
    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = _take()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            _give_back(executor)
