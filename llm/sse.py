"""Streamed answers read as plain JSON events, without the SDK's typed models.

The SDK still sends the request (its retries, timeouts and status errors hold, through
`with_streaming_response`); only the events come as dicts. A chat answer is one event per token,
and building a typed model for each cost about a third of a chat stream's CPU. Transport errors
mid-stream become the SDK's own exceptions, as its typed streams raise them.
"""

import json
from collections.abc import AsyncIterator

import httpx2
import openai


async def stream_events(response) -> AsyncIterator[dict]:
    """The JSON payloads of an SSE stream (an SDK `AsyncAPIResponse`), up to `[DONE]`.

    An `{"error": ...}` payload (Chat Completions reports a failure mid-stream so) raises
    openai.APIError, as the SDK's typed stream does."""
    request = response.http_request
    data: list[str] = []
    try:
        async for line in response.iter_lines():
            if line.startswith("data:"):
                data.append(line[6:] if line.startswith("data: ") else line[5:])
                continue
            if line or not data:
                continue  # event:, id:, comments; or a blank line with nothing to dispatch
            payload = "\n".join(data)
            data = []
            if payload.startswith("[DONE]"):
                return
            event = json.loads(payload)
            if isinstance(event, dict) and event.get("error") and "type" not in event:
                error = event["error"]
                message = error.get("message") if isinstance(error, dict) else None
                raise openai.APIError(
                    message=message if isinstance(message, str) and message else "An error occurred during streaming",
                    request=request,
                    body=error,
                )
            yield event
    except httpx2.TimeoutException as exc:
        raise openai.APITimeoutError(request=request) from exc
    except httpx2.RequestError as exc:
        raise openai.APIConnectionError(request=request) from exc
