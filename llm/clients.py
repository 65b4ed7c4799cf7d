"""The one way gradcap builds OpenAI SDK clients. No other module constructs them."""

from typing import Any

import httpx2
import openai

from .models import Provider


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
    return openai.OpenAI(**_client_kwargs(provider, timeout=timeout, max_retries=max_retries), http_client=http_client)


def async_client_for(
    provider: Provider,
    *,
    timeout: float | None = None,
    max_retries: int | None = None,
    http_client: httpx2.AsyncClient | None = None,
) -> openai.AsyncOpenAI:
    """An asynchronous client for `provider` (chat streaming)."""
    return openai.AsyncOpenAI(
        **_client_kwargs(provider, timeout=timeout, max_retries=max_retries), http_client=http_client
    )
