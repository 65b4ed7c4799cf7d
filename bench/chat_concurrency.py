"""Many learners chatting at once, against a model server in a process of its own.

Two servers run as production runs them, each on a throwaway database of its own:
- the model server: the sandbox (uvicorn, one worker), standing in for a provider or a school's
  vLLM; it shares nothing with gradcap but the machine;
- gradcap (uvicorn, production settings, `--workers 2` on this 2-core machine).

For each of two models, a fast one and one whose first token takes `--slow` seconds (the sandbox's
"slow" fault, set in the provider's headers), in one run:
1. the model's own first-token time: N direct streamed calls through the openai SDK at once;
2. gradcap: N learners at once each post a question and read the streamed answer to its end.
   The first token is timed as the learner sees it, from sending the question to the first delta.

Printed per model: gradcap's first token, the model's own, gradcap's overhead (the difference, at
p50 and p95), errors (a non-2xx answer, a broken stream, an answer recorded as failed) and gradcap's
server CPU per chat (every process of the server, user + system, over the chats' phase).

    .venv/bin/python bench/chat_concurrency.py [--chats 300] [--slow 3] [--workers 2]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/chat_concurrency.py
    .venv/bin/python bench/chat_concurrency.py --server-root /tmp/before   # another checkout's server
    .venv/bin/python bench/chat_concurrency.py --baseline-root /tmp/before # and one to compare, same run

Each checkout's server runs on a database migrated, with a fixture made, by its own code.

Goals (exit 0 when all are met): no error; the p95 overhead with the slow model at most 1.25 × the
p95 overhead with the fast one; at most 22 ms of server CPU per chat, or, with a baseline, at most
half of the baseline's (the 22 ms of issue 15 were half of what it measured on its machine).
"""

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2

from bench.harness import (
    CSRF_TOKEN,
    PYTHON,
    ROOT,
    SECRET_KEY,
    cpu_seconds,
    finish,
    median,
    migrate,
    percentile,
    production_server,
    setup_django,
    throwaway_database,
)

QUESTION = "How do loops work?"
INSTRUCTIONS = "Be brief."
MODEL = "gpt-4.1-mini-2025-04-14"
OVERHEAD_RATIO_LIMIT = 1.25
CPU_MS_LIMIT = 22.0


# Made by the measured checkout's own code, in a process of its own: an older checkout (a baseline)
# has its own models and migrations.
FIXTURE = r"""
import json, sys
import django

django.setup()
from django.test import Client

from accounts.models import User
from assistants.services import assistant_create
from courses.models import Course, Membership
from llm.models import Provider

options = json.loads(sys.argv[1])
course = Course.objects.create(title="Bench", slug="bench")
assistants = {}
for name, headers in (("fast", {}), ("slow", {"X-Sandbox-Fault": f"slow;delay={options['slow']}"})):
    provider = Provider.objects.create(
        name=f"Model server ({name})",
        kind=Provider.Kind.SANDBOX,
        base_url=f"{options['model_url']}/sandbox/v1/",
        extra_headers=headers,
        max_retries=0,
        timeout_seconds=120,
    )
    assistant = assistant_create(
        course=course, name=name, provider=provider, model=options["model"], instructions=options["instructions"]
    )
    assistants[name] = {"pk": assistant.pk, "headers": headers}
users = User.objects.bulk_create([User(email=f"learner{n}@example.com") for n in range(options["learners"])])
Membership.objects.bulk_create([Membership(course=course, user=u, role=Membership.Role.LEARNER) for u in users])
sessions = []
for user in users:
    client = Client()
    client.force_login(user)
    sessions.append(client.cookies["sessionid"].value)
print(json.dumps({"course": course.slug, "assistants": assistants, "sessions": sessions}))
"""


@dataclass(frozen=True)
class Fixture:
    """A course with two sandbox assistants (fast, slow) and logged-in learners' request headers."""

    course: str  # its slug
    assistants: dict[str, dict]  # name → {"pk", "headers" (the provider's extra headers)}
    headers: list[dict]


def fixture(*, root: Path, database_url: str, model_url: str, learners: int, slow: float) -> Fixture:
    options = {"model_url": model_url, "learners": learners, "slow": slow, "model": MODEL, "instructions": INSTRUCTIONS}
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "SECRET_KEY": SECRET_KEY,  # the server's: its sessions are signed with it
    }
    made = subprocess.run(
        [PYTHON, "-c", FIXTURE, json.dumps(options)], cwd=root, env=env, check=True, capture_output=True, text=True
    )
    data = json.loads(made.stdout.strip().splitlines()[-1])
    headers = [
        {
            "Cookie": f"sessionid={session}; csrftoken={CSRF_TOKEN}",
            "X-CSRFToken": CSRF_TOKEN,
            "Accept": "application/json",
        }
        for session in data["sessions"]
    ]
    return Fixture(course=data["course"], assistants=data["assistants"], headers=headers)


async def direct_chat(client, start: asyncio.Event) -> dict:
    """The model's own first token: one streamed Responses call through the SDK."""
    await start.wait()
    started = time.perf_counter()
    result = {"first": None, "error": None}
    try:
        stream = await client.responses.create(
            model=MODEL,
            instructions=INSTRUCTIONS,
            input=[{"role": "user", "content": QUESTION}],
            temperature=1.0,
            store=False,
            stream=True,
        )
        async for event in stream:
            if result["first"] is None and event.type == "response.output_text.delta":
                result["first"] = time.perf_counter() - started
    except Exception as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    return result


async def gradcap_chat(
    http: httpx2.AsyncClient, course: str, assistant: int, headers: dict, start: asyncio.Event
) -> dict:
    await start.wait()
    started = time.perf_counter()
    result = {"first": None, "error": None}
    try:
        data = {"content": QUESTION, "assistant": assistant}
        asked = await http.post(f"/c/{course}/chat/ask/", data=data, headers=headers)
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
        detail = f" {exc.response.status_code}" if isinstance(exc, httpx2.HTTPStatusError) else ""
        result["error"] = f"{type(exc).__name__}{detail}"
    return result


async def at_once(make_tasks) -> tuple[list[dict], float]:
    start = asyncio.Event()
    tasks = [asyncio.create_task(task(start)) for task in make_tasks]
    await asyncio.sleep(0.5)  # every task is waiting: let them all go at once
    began = time.perf_counter()
    start.set()
    results = await asyncio.gather(*tasks)
    return results, time.perf_counter() - began


async def measure(url: str, model_url: str, made: Fixture, name: str, headers: list[dict], server_pid: int) -> dict:
    from llm.clients import async_client_for
    from llm.models import Provider

    chats = len(headers)
    limits = httpx2.Limits(max_connections=chats * 2, max_keepalive_connections=chats * 2)
    assistant = made.assistants[name]
    async with httpx2.AsyncClient(base_url=url, timeout=180, limits=limits) as http:
        model_server = Provider(
            kind=Provider.Kind.SANDBOX,
            base_url=f"{model_url}/sandbox/v1/",
            extra_headers=assistant["headers"],
            max_retries=0,
            timeout_seconds=120,
        )
        client = async_client_for(model_server)
        direct, _wall = await at_once([lambda start: direct_chat(client, start) for _ in range(chats)])
        await asyncio.sleep(1)
        cpu_before = cpu_seconds(server_pid)
        chats_done, wall = await at_once(
            [lambda start, h=h: gradcap_chat(http, made.course, assistant["pk"], h, start) for h in headers]
        )
        cpu = cpu_seconds(server_pid) - cpu_before
    return {"direct": direct, "gradcap": chats_done, "wall": wall, "cpu_ms_per_chat": cpu * 1000 / chats}


def report(name: str, figures: dict) -> dict:
    direct = [r["first"] * 1000 for r in figures["direct"] if r["first"] is not None]
    gradcap = [r["first"] * 1000 for r in figures["gradcap"] if r["first"] is not None]
    errors = [r["error"] for r in figures["direct"] + figures["gradcap"] if r["error"]]
    out = {"errors": len(errors), "cpu": figures["cpu_ms_per_chat"]}
    print(f"{name} model: all {len(figures['gradcap'])} chats answered in {figures['wall']:.1f} s")
    if direct and gradcap:
        for label, q in (("p50", 0.5), ("p95", 0.95)):
            g, d = percentile(gradcap, q), percentile(direct, q)
            out[label] = g - d
            print(f"  first token {label}: gradcap {g:7.0f} ms, the model itself {d:7.0f} ms, overhead {g - d:7.0f} ms")
        print(f"  first token p50 as learners see it: {median(gradcap):.0f} ms")
    print(f"  server CPU per chat: {figures['cpu_ms_per_chat']:.1f} ms")
    print(f"  errors: {len(errors)}")
    for error in sorted(set(errors)):
        print(f"    {errors.count(error)} × {error}")
    return out


def run(root: Path, *, model_url: str, args) -> dict[str, dict]:
    """Both models against the server of the checkout at `root`, on a database of its own."""
    results = {}
    with throwaway_database() as database_url:
        migrate(database_url, root=root)
        made = fixture(root=root, database_url=database_url, model_url=model_url, learners=args.chats, slow=args.slow)
        pid: list[int] = []
        with production_server(database_url, workers=args.workers, root=root, pid=pid) as url:
            # Warm both servers' processes (imports, connections, templates) with a few chats.
            asyncio.run(measure(url, model_url, made, "fast", made.headers[:8], pid[0]))
            print(f"{args.chats} learners at once; gradcap: {args.workers} workers, {root}")
            print(f"database: {database_url.split(':', 1)[0]}; model server: the sandbox in a process of its own")
            for name in ("fast", "slow"):
                figures = asyncio.run(measure(url, model_url, made, name, made.headers, pid[0]))
                results[name] = report(name if name == "fast" else f"{args.slow:g} s", figures)
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--slow", type=float, default=3.0, help="the slow model's first-token delay, in seconds")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server-root", type=Path, default=ROOT, help="the checkout whose server is measured")
    parser.add_argument(
        "--baseline-root",
        type=Path,
        help="a checkout measured in the same run for comparison (e.g. a git worktree of an older commit); "
        "the CPU goal is then at most half of its CPU per chat",
    )
    args = parser.parse_args()
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # not a line per request
    with throwaway_database() as model_database_url:
        setup_django(model_database_url)  # this process's own Django: only the SDK client is made with it
        with production_server(model_database_url, workers=1) as model_url:
            results = run(args.server_root, model_url=model_url, args=args)
            baseline = run(args.baseline_root, model_url=model_url, args=args) if args.baseline_root else None
    fast, slow = results["fast"], results["slow"]
    errors = fast["errors"] + slow["errors"]
    cpu = max(fast["cpu"], slow["cpu"])
    ratio = slow.get("p95", float("inf")) / max(fast.get("p95", 0.0), 1.0)
    print(f"overhead p95, slow ÷ fast: {ratio:.2f} (limit {OVERHEAD_RATIO_LIMIT})")
    cpu_limit = CPU_MS_LIMIT
    if baseline is not None:
        before = max(baseline["fast"]["cpu"], baseline["slow"]["cpu"])
        cpu_limit = before / 2
        print(f"server CPU per chat: {cpu:.1f} ms; the baseline's {before:.1f} ms; now ÷ baseline {cpu / before:.2f}")
    codes = [
        finish(goal="no failed chat", measured=errors, limit=0),
        finish(goal=f"server CPU per chat <= {cpu_limit:.1f} ms", measured=cpu, limit=cpu_limit, unit=" ms"),
        finish(
            goal=f"overhead p95 with the {args.slow:g} s model <= {OVERHEAD_RATIO_LIMIT} × with the fast one",
            measured=ratio,
            limit=OVERHEAD_RATIO_LIMIT,
        ),
    ]
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
