"""50 learners chatting at once against the production server command.

Starts uvicorn as production runs it (production settings, `--workers 2` on this 2-core machine,
the sandbox enabled as the model provider) on a throwaway database, then 50 learners each post a
question and read the streamed answer to its end, all at the same moment. Counts errors (a
non-2xx answer, a broken stream, an answer recorded as failed) and times the first token as the
learner sees it: from sending the question to the first text delta.

    .venv/bin/python bench/chat_concurrency.py [--chats 50] [--workers 2]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/chat_concurrency.py

Exits 0 when no chat failed.
"""

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2

from bench.harness import chat_fixture, finish, median, percentile, production_server, setup_django, throwaway_database


async def one_chat(http: httpx2.AsyncClient, course, headers: dict, start: asyncio.Event) -> dict:
    await start.wait()
    started = time.perf_counter()
    result = {"first": None, "total": None, "error": None}
    try:
        asked = await http.post(f"/c/{course.slug}/chat/ask/", data={"content": "How do loops work?"}, headers=headers)
        asked.raise_for_status()
        stream_url = asked.json()["html"].split('data-stream-url="', 1)[1].split('"', 1)[0]
        async with http.stream("GET", stream_url, headers=headers) as response:
            response.raise_for_status()
            event = None
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    event = line[len("event: ") :]
                    if event == "delta" and result["first"] is None:
                        result["first"] = time.perf_counter() - started
                elif line.startswith("data: ") and event == "done":
                    if "status-complete" not in line:
                        result["error"] = "the answer was recorded as failed"
                    break
            else:
                result["error"] = "the stream ended without 'done'"
    except (httpx2.HTTPError, KeyError, IndexError, ValueError) as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    result["total"] = time.perf_counter() - started
    return result


async def run(url: str, course, headers: list[dict]) -> list[dict]:
    limits = httpx2.Limits(max_connections=len(headers) * 2, max_keepalive_connections=len(headers) * 2)
    async with httpx2.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        start = asyncio.Event()
        tasks = [asyncio.create_task(one_chat(http, course, h, start)) for h in headers]
        await asyncio.sleep(0.2)  # every task is waiting: let them all go at once
        start.set()
        return await asyncio.gather(*tasks)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with throwaway_database() as database_url:
        setup_django(database_url)
        with production_server(database_url, workers=args.workers) as url:
            course, _assistant, headers = chat_fixture(server_url=url, learners=args.chats)
            began = time.perf_counter()
            results = asyncio.run(run(url, course, headers))
            wall = time.perf_counter() - began
    errors = [r["error"] for r in results if r["error"]]
    firsts = [r["first"] * 1000 for r in results if r["first"] is not None]
    totals = [r["total"] * 1000 for r in results]
    print(f"chats: {args.chats} at once, server workers: {args.workers}, database: {database_url.split(':', 1)[0]}")
    print(f"all answered in {wall:.2f} s")
    if firsts:
        p50, p95 = median(firsts), percentile(firsts, 0.95)
        print(f"first token (question sent → first delta): p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    print(f"whole answer: p50 {median(totals):.0f} ms, p95 {percentile(totals, 0.95):.0f} ms")
    print(f"errors: {len(errors)}")
    for error in sorted(set(errors)):
        print(f"  {errors.count(error)} × {error}")
    return finish(goal=f"0 failed chats out of {args.chats} at once", measured=len(errors), limit=0)


if __name__ == "__main__":
    sys.exit(main())
