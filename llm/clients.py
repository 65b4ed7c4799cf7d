"""The one way gradcap builds OpenAI SDK clients. No other module constructs them.

Building an HTTP client costs ~20 ms (TLS context, connection pool), more than a chat's whole
first-token budget, so the SDK clients share one HTTP client per process (sync) and per event loop
(async); connections are reused. Timeouts and retries stay per provider: the SDK applies them to
each request.
"""

import asyncio
import threading
import weakref
from typing import Any

import httpx2
import openai

from .models import Provider

_lock = threading.Lock()
_sync_http: httpx2.Client | None = None
_async_http: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx2.AsyncClient]" = weakref.WeakKeyDictionary()


def _shared_sync_http() -> httpx2.Client:
    global _sync_http
    with _lock:
        if _sync_http is None:
            _sync_http = openai.DefaultHttpx2Client()
        return _sync_http


def _shared_async_http() -> httpx2.AsyncClient | None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None  # outside an event loop: the SDK makes its own
    with _lock:
        client = _async_http.get(loop)
        if client is None:
            client = _async_http[loop] = openai.DefaultAsyncHttpx2Client()
        return client


def _client_kwargs(provider: Provider, *, timeout: float | None, max_retries: int | None) -> dict[str, Any]:
    headers = dict(provider.extra_headers or {})
    api_key = provider.api_key
    if provider.kind == Provider.Kind.AZURE:
        # Azure's v1 endpoint takes the key in its own header; the bearer token is ignored there.
        headers.setdefault("api-key", api_key)
    return {
        "api_key": api_key or "none",  # OpenAI-compatible servers often need no key; the SDK needs one
        "base_url": provider.effective_base_url,
        "organization": provider.organization or None,
        "project": provider.project or None,
        "timeout": provider.timeout_seconds if timeout is None else timeout,
        "max_retries": provider.max_retries if max_retries is None else max_retries,
        "default_headers": headers or None,
    }


def client_for(
    provider: Provider,
    *,
    timeout: float | None = None,
    max_retries: int | None = None,
    http_client: httpx2.Client | None = None,
) -> openai.OpenAI:
    """A synchronous client for `provider`. `timeout`/`max_retries` override the provider's own."""
    return openai.OpenAI(
        **_client_kwargs(provider, timeout=timeout, max_retries=max_retries),
        http_client=http_client or _shared_sync_http(),
    )


def async_client_for(
    provider: Provider,
    *,
    timeout: float | None = None,
    max_retries: int | None = None,
    http_client: httpx2.AsyncClient | None = None,
) -> openai.AsyncOpenAI:
    """An asynchronous client for `provider` (chat streaming)."""
    return openai.AsyncOpenAI(
        **_client_kwargs(provider, timeout=timeout, max_retries=max_retries),
        http_client=http_client or _shared_async_http(),
    )
