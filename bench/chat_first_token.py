"""First-token overhead of gradcap's chat over a direct SDK call to the same sandbox model.

Runs the production server command (uvicorn, production settings, sandbox enabled) on a
throwaway database. Each round: a direct streamed call through the openai SDK on the wire API asked
for (`responses.create`, or `chat.completions.create` with `--wire chat_completions`), and
gradcap's chat (the question is posted, then the answer's Server-Sent Events stream is opened);
both are timed to their first text delta. The overhead is gradcap's stream-to-first-delta minus
the direct call's, per round (the question's POST is reported too, but it comes before the stream).

    .venv/bin/python bench/chat_first_token.py [--rounds 60] [--wire responses|chat_completions|both]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/chat_first_token.py

Exits 0 when the p50 overhead is at most 10 ms (on each wire measured).
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
    first = None
    if assistant.provider.effective_wire_api == "chat_completions":
        stream = client.chat.completions.create(
            model=assistant.model,
            messages=[{"role": "system", "content": assistant.instructions}, {"role": "user", "content": QUESTION}],
            temperature=assistant.temperature,
            stream=True,
            stream_options={"include_usage": True},
        )
        for chunk in stream:
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter() - started
        return first
    stream = client.responses.create(
        model=assistant.model,
        instructions=assistant.instructions,
        input=[{"role": "user", "content": QUESTION}],
        temperature=assistant.temperature,
        store=False,
        stream=True,
    )
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


def measure(http: httpx2.Client, course, assistant, headers: dict, wire_api: str, rounds: int) -> float:
    """Print one wire's figures; the p50 overhead in ms."""
    from llm.clients import client_for

    assistant.provider.wire_api = wire_api
    assistant.provider.save(update_fields=["wire_api"])  # the server reads it with each question
    client = client_for(assistant.provider)
    for _ in range(5):  # warm up both paths
        direct_first_token(client, assistant)
        gradcap_first_token(http, course, headers)
    direct, posts, streams, overheads = [], [], [], []
    for _ in range(rounds):
        d = direct_first_token(client, assistant)
        p, s = gradcap_first_token(http, course, headers)
        direct.append(d * 1000)
        posts.append(p * 1000)
        streams.append(s * 1000)
        overheads.append((s - d) * 1000)
    print(f"wire API: {wire_api}")
    print(f"  direct SDK call, first token:    p50 {median(direct):6.1f} ms  p95 {percentile(direct, 0.95):6.1f} ms")
    print(f"  gradcap stream, first token:     p50 {median(streams):6.1f} ms  p95 {percentile(streams, 0.95):6.1f} ms")
    print(f"  gradcap posting the question:    p50 {median(posts):6.1f} ms  p95 {percentile(posts, 0.95):6.1f} ms")
    print(
        f"  overhead (stream - direct):      p50 {median(overheads):6.1f} ms  p95 {percentile(overheads, 0.95):6.1f} ms"
    )
    return median(overheads)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--wire", choices=["responses", "chat_completions", "both"], default="both")
    args = parser.parse_args()
    wires = ["responses", "chat_completions"] if args.wire == "both" else [args.wire]
    with throwaway_database() as database_url:
        setup_django(database_url)
        print(f"rounds: {args.rounds}, database: {database_url.split(':', 1)[0]}")
        with production_server(database_url) as url, httpx2.Client(base_url=url, timeout=30) as http:
            course, assistant, (headers,) = chat_fixture(server_url=url)
            overheads = {wire: measure(http, course, assistant, headers, wire, args.rounds) for wire in wires}
    worst = max(overheads, key=overheads.get)
    return finish(
        goal=f"first-token overhead p50 <= {GOAL_MS:.0f} ms (worst wire: {worst})",
        measured=overheads[worst],
        limit=GOAL_MS,
        unit=" ms",
    )


if __name__ == "__main__":
    sys.exit(main())
