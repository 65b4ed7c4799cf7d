"""Where a chat's server CPU goes: gradcap under a profiler, against a model server of its own.

The model server (the sandbox, uvicorn) runs as in bench/chat_concurrency.py; gradcap runs as one
uvicorn process under a CPU sampler (bench/profiled_server.py). `--chats` learners ask in waves
of `--at-once`; then the profile is read and each chat's CPU is broken down two ways:
- by part of the work (inclusive CPU of gradcap's functions: the question's POST, the stream's
  set-up, the claim, the SDK call and its event parsing, recording, rendering the answer);
- by the code that spends it (own CPU grouped by library).
The sampler reads clocks, it does not trace calls: the code runs at its usual speed.

    .venv/bin/python bench/chat_profile.py [--chats 200] [--at-once 10] [--top 25]
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx2

from bench.chat_concurrency import fixture, gradcap_chat
from bench.harness import ROOT, cpu_seconds, migrate, production_server, setup_django, throwaway_database

# Inclusive CPU of these functions: the parts of one chat (module suffix, function name).
PARTS = [
    ("POST /ask/: the view", "dialogs/views.py", "chat_ask"),
    ("    recording the question", "dialogs/chat.py", "dialog_ask"),
    ("    the stream's ticket", "dialogs/tickets.py", "ticket_issue"),
    ("    rendering the turn", "django/template/loader.py", "render_to_string"),
    ("stream: opening (ticket, access)", "dialogs/views.py", "_stream_inputs"),
    ("stream: the claim", "dialogs/chat.py", "answer_claim"),
    ("stream: the engine (SDK call, events)", "assistants/engine.py", "chat_stream"),
    ("  the SDK's request", "openai/_base_client.py", "AsyncAPIClient.request"),
    ("  the SDK's event parsing", "openai/_streaming.py", "AsyncStream.__stream__"),
    ("stream: recording the answer", "dialogs/chat.py", "answer_record"),
    ("stream: rendering the answer", "dialogs/views.py", "_render_message"),
    ("stream: dropping the ticket", "dialogs/tickets.py", "ticket_drop"),
    ("sessions (both requests)", "django/contrib/sessions/backends/db.py", "SessionStore.load"),
    ("the user (both requests)", "django/contrib/auth/__init__.py", "get_user"),
    (
        "middleware, both requests (inclusive of the views)",
        "django/core/handlers/base.py",
        "BaseHandler.get_response_async",
    ),
]

# Own CPU by library: the first matching path fragment names the group.
LIBRARIES = [
    ("the openai SDK", ("/openai/",)),
    ("pydantic", ("/pydantic",)),
    ("HTTP client (httpx2, httpcore, h11, anyio)", ("/httpx", "/httpcore", "/h11", "/anyio", "/sniffio")),
    ("uvicorn", ("/uvicorn/",)),
    (
        "Django templates",
        ("/django/template", "/django/templatetags", "/django/utils/html", "/django/utils/safestring"),
    ),
    ("Django ORM and database driver", ("/django/db/", "sqlite3", "psycopg")),
    ("Django, the rest (handler, middleware, sessions, auth, forms)", ("/django/",)),
    ("asgiref (thread hops)", ("/asgiref/",)),
    ("asyncio and selectors", ("/asyncio/", "selectors", "_asyncio", "uvloop")),
    ("threads", ("threading", "concurrent/futures", "queue.py")),
    ("markdown and sanitising", ("markdown", "nh3", "bleach")),
    ("json and pickle", ("json", "pickle")),
    (
        "gradcap's code",
        tuple(
            f"{ROOT}/{app}/" for app in ("dialogs", "assistants", "llm", "courses", "accounts", "config", "knowledge")
        ),
    ),
]


def library_of(module: str) -> str:
    for name, fragments in LIBRARIES:
        if any(fragment in module for fragment in fragments):
            return name
    return "other (builtins, stdlib)"


async def waves(url: str, course: str, assistant: int, headers: list[dict], at_once: int) -> list[str]:
    errors = []
    async with httpx2.AsyncClient(base_url=url, timeout=120) as http:
        for start in range(0, len(headers), at_once):
            go = asyncio.Event()
            tasks = [
                asyncio.create_task(gradcap_chat(http, course, assistant, h, go))
                for h in headers[start : start + at_once]
            ]
            go.set()
            errors += [r["error"] for r in await asyncio.gather(*tasks) if r["error"]]
    return errors


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--at-once", type=int, default=10)
    parser.add_argument("--top", type=int, default=25, help="how many of the costliest functions to list")
    args = parser.parse_args()
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as directory:
        stats_file = Path(directory) / "stats.json"
        with throwaway_database() as database_url, throwaway_database() as model_database_url:
            setup_django(database_url)
            migrate(model_database_url)
            with production_server(model_database_url, workers=1) as model_url:
                made = fixture(root=ROOT, database_url=database_url, model_url=model_url, learners=args.chats, slow=0)
                fast, headers = made.assistants["fast"]["pk"], made.headers
                pid: list[int] = []
                with production_server(database_url, profile_stats=stats_file, pid=pid) as url:
                    asyncio.run(waves(url, made.course, fast, headers[:10], args.at_once))  # warm
                    os.kill(pid[0], signal.SIGUSR1)  # the sampler counts from here
                    time.sleep(0.1)
                    cpu_before = cpu_seconds(pid[0])
                    errors = asyncio.run(waves(url, made.course, fast, headers, args.at_once))
                    cpu = cpu_seconds(pid[0]) - cpu_before
        stats = json.loads(stats_file.read_text())
    total = sum(entry["tsub"] for entry in stats)
    per_chat = 1000 / args.chats
    print(f"{args.chats} chats, {args.at_once} at once, errors: {len(errors)}; database: {database_url.split(':')[0]}")
    print(f"server CPU: {cpu * per_chat:.1f} ms per chat (the process), {total * per_chat:.1f} ms sampled")
    print("\nby part of the work (inclusive, ms per chat):")
    for label, module, name in PARTS:
        seconds = sum(e["ttot"] for e in stats if e["module"].endswith(module) and e["name"].endswith(name))
        print(f"  {label:<45} {seconds * per_chat:7.2f}  {seconds / total:6.1%}")
    print("\nby library (own CPU, ms per chat):")
    groups: dict[str, float] = defaultdict(float)
    for entry in stats:
        groups[library_of(entry["module"])] += entry["tsub"]
    for name, seconds in sorted(groups.items(), key=lambda item: -item[1]):
        print(f"  {name:<60} {seconds * per_chat:7.2f}  {seconds / total:6.1%}")
    print(f"\nthe {args.top} functions with the most own CPU (ms per chat):")
    for entry in sorted(stats, key=lambda e: -e["tsub"])[: args.top]:
        module = entry["module"].replace(str(ROOT) + "/", "").split("site-packages/")[-1]
        print(f"  {entry['tsub'] * per_chat:7.2f}  {module}:{entry['line']}:{entry['name']}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
