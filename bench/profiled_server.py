"""gradcap's ASGI server (uvicorn, one process) under a CPU sampler, for bench/chat_profile.py.

    python bench/profiled_server.py --port 8000 --stats /tmp/stats.json

A thread of its own wakes every millisecond, reads each thread's CPU clock and charges the CPU it
used since the last look to the stack it is in now (the event loop's coroutines and the threads of
sync_to_async alike). Deterministic profilers lose their way in coroutines switching among threads;
this one only reads clocks and stacks, and its own CPU is left out. SIGUSR1 starts the count
afresh. On SIGTERM the server stops and writes, per function, its own CPU and its inclusive CPU
(seconds), as JSON, to --stats.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvicorn

INTERVAL = 0.001
SWITCH_INTERVAL = 0.0002  # the GIL passes to the sampler soon after it wakes, not 5 ms later


class Sampler(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True, name="cpu-sampler")
        self.own: dict[tuple, float] = defaultdict(float)
        self.inclusive: dict[tuple, float] = defaultdict(float)
        self.clocks: dict[int, float] = {}
        self.running = True
        self.reset = False

    def run(self) -> None:
        me = threading.get_ident()
        while self.running:
            time.sleep(INTERVAL)
            if self.reset:  # SIGUSR1: start counting now (after a warm-up)
                self.own.clear()
                self.inclusive.clear()
                self.reset = False
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                try:
                    now = time.clock_gettime(time.pthread_getcpuclockid(ident))
                except (OSError, ProcessLookupError):
                    continue
                used = now - self.clocks.get(ident, now)
                self.clocks[ident] = now
                if used <= 0:
                    continue
                seen = set()
                leaf = True
                while frame is not None:
                    code = frame.f_code
                    key = (code.co_filename, code.co_firstlineno, code.co_qualname)
                    if leaf:
                        self.own[key] += used
                        leaf = False
                    if key not in seen:
                        seen.add(key)
                        self.inclusive[key] += used
                    frame = frame.f_back

    def write(self, path: Path) -> int:
        self.running = False
        self.join()
        rows = [
            {"module": module, "line": line, "name": name, "tsub": self.own.get(key, 0.0), "ttot": total}
            for key, total in self.inclusive.items()
            for module, line, name in [key]
        ]
        path.write_text(json.dumps(rows))
        return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stats", type=Path, required=True)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.prod")
    sampler = Sampler()
    sys.setswitchinterval(SWITCH_INTERVAL)
    # uvicorn stops on SIGTERM, then raises it again with the handler it found: this one.
    signal.signal(signal.SIGTERM, lambda _signal, _frame: sys.exit(sampler.write(args.stats)))
    signal.signal(signal.SIGUSR1, lambda _signal, _frame: setattr(sampler, "reset", True))
    sampler.start()
    uvicorn.run("config.asgi:application", host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    sampler.write(args.stats)


if __name__ == "__main__":
    main()
