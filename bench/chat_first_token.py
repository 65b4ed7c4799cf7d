"""First-token overhead of gradcap's chat over a direct SDK call to the same sandbox model.

Runs the production server command (uvicorn, production settings, sandbox enabled) on a
throwaway database. Each round: a direct streamed `responses.create` through the openai SDK, and
gradcap's chat (the question is posted, then the answer's Server-Sent Events stream is opened);
both are timed to their first text delta. The overhead is gradcap's stream-to-first-delta minus
the direct call's, per round (the question's POST is reported too, but it comes before the stream).

    .venv/bin/python bench/chat_first_token.py [--rounds 60]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/chat_first_token.py

Exits 0 when the p50 overhead is at most 10 ms.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2
import openai

from bench.harness import (
    chat_fixture,
    finish,
    median,
    percentile,
    production_server,
    setup_django,
    throwaway_database,
)

GOAL_MS = 10.0
QUESTION = "What is a loop?"


def direct_first_token(client: openai.OpenAI, assistant) -> float:
    started = time.perf_counter()
    stream = client.responses.create(
        model=assistant.model,
        instructions=assistant.instructions,
        input=[{"role": "user", "content": QUESTION}],
        temperature=assistant.temperature,
        store=False,
        stream=True,
    )
    first = None
    for event in stream:
        if first is None and event.type == "response.output_text.delta":
            first = time.perf_counter() - started
    return first


def gradcap_first_token(http: httpx2.Client, course, headers: dict) -> tuple[float, float]:
    """(seconds to post the question, seconds from opening the stream to the first delta)."""
    started = time.perf_counter()
    asked = http.post(f"/c/{course.slug}/chat/ask/", data={"content": QUESTION}, headers=headers)
    asked.raise_for_status()
    html = asked.json()["html"]
    stream_url = html.split('data-stream-url="', 1)[1].split('"', 1)[0]
    posted = time.perf_counter() - started
    started = time.perf_counter()
    first = None
    with http.stream("GET", stream_url, headers=headers) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if first is None and line == "event: delta":
                first = time.perf_counter() - started
    return posted, first


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    with throwaway_database() as database_url:
        setup_django(database_url)
        with production_server(database_url) as url:
            course, assistant, (headers,) = chat_fixture(server_url=url)
            from llm.clients import client_for

            client = client_for(assistant.provider)
            with httpx2.Client(base_url=url, timeout=30) as http:
                for _ in range(5):  # warm up both paths
                    direct_first_token(client, assistant)
                    gradcap_first_token(http, course, headers)
                direct, posts, streams, overheads = [], [], [], []
                for _ in range(args.rounds):
                    d = direct_first_token(client, assistant)
                    p, s = gradcap_first_token(http, course, headers)
                    direct.append(d * 1000)
                    posts.append(p * 1000)
                    streams.append(s * 1000)
                    overheads.append((s - d) * 1000)
    print(f"rounds: {args.rounds}, database: {database_url.split(':', 1)[0]}")
    print(f"direct SDK call, first token:      p50 {median(direct):6.1f} ms  p95 {percentile(direct, 0.95):6.1f} ms")
    print(f"gradcap stream, first token:       p50 {median(streams):6.1f} ms  p95 {percentile(streams, 0.95):6.1f} ms")
    print(f"gradcap posting the question:      p50 {median(posts):6.1f} ms  p95 {percentile(posts, 0.95):6.1f} ms")
    print(
        f"overhead (stream - direct):        p50 {median(overheads):6.1f} ms  p95 {percentile(overheads, 0.95):6.1f} ms"
    )
    return finish(
        goal=f"first-token overhead p50 <= {GOAL_MS:.0f} ms", measured=median(overheads), limit=GOAL_MS, unit=" ms"
    )


if __name__ == "__main__":
    sys.exit(main())
