"""Fault injection for reliability tests: the X-Sandbox-Fault request header.

    X-Sandbox-Fault: 429 | 500 | slow | hang | midstream [;times=N] [;key=NAME] [;delay=SECONDS]

- 429: rate limited, with retry-after; 500: server error; slow: the first token comes late;
  hang: no answer until the client gives up; midstream: a stream starts, then fails
  (response.failed / an error chunk).
- times=N: only the first N requests of the series NAME (default: the header itself) fail; the
  count is kept in the database, so it holds across processes and the SDK's retries.
- delay: overrides SANDBOX_FAULT_SLOW_SECONDS for slow.

Per provider: put the header in a Provider's extra_headers, which its clients send every time.
"""

import asyncio
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F

from core.db import database

from .errors import SandboxError, invalid
from .models import FaultCounter

HEADER = "X-Sandbox-Fault"
KINDS = ("429", "500", "slow", "hang", "midstream")


@dataclass(frozen=True)
class Fault:
    kind: str
    times: int | None = None
    key: str = ""
    delay: float | None = None

    @property
    def slow_seconds(self) -> float:
        return settings.SANDBOX_FAULT_SLOW_SECONDS if self.delay is None else self.delay


def fault_parse(value: str) -> Fault | None:
    """The fault a header value asks for; None for an empty header."""
    parts = [part.strip() for part in value.split(";") if part.strip()]
    if not parts:
        return None
    kind, options = parts[0].lower(), {}
    if kind not in KINDS:
        raise invalid(f"Unknown {HEADER} '{kind}'; use one of {', '.join(KINDS)}.", param=HEADER)
    for part in parts[1:]:
        name, _, option = part.partition("=")
        options[name.strip().lower()] = option.strip()
    try:
        times = int(options["times"]) if "times" in options else None
        delay = float(options["delay"]) if "delay" in options else None
    except ValueError:
        raise invalid(f"Invalid {HEADER} options: '{value}'.", param=HEADER) from None
    return Fault(kind=kind, times=times, key=options.get("key") or value, delay=delay)


def fault_fires(fault: Fault) -> bool:
    """Count this request in its series; true while the series has failed fewer than `times` times."""
    if fault.times is None:
        return True
    with transaction.atomic():
        counter, _ = FaultCounter.objects.select_for_update().get_or_create(key=fault.key[:200])
        FaultCounter.objects.filter(pk=counter.pk).update(count=F("count") + 1)
    return counter.count < fault.times


async def fault_for_request(request) -> Fault | None:
    """The fault this request should suffer, if any (counting it in its series)."""
    fault = fault_parse(request.headers.get(HEADER, ""))
    if fault is None or not await database(fault_fires, fault):
        return None
    return fault


async def fault_raise(fault: Fault | None) -> None:
    """Fail the request before it is answered: 429, 500 or hang (slow and midstream are the
    answering view's business, since only it knows where its first token is)."""
    if fault is None:
        return
    retry_after = settings.SANDBOX_FAULT_RETRY_AFTER_SECONDS
    # retry-after-ms lets the SDK retry after a fraction of a second (fast tests).
    retry_headers = {"retry-after": str(max(1, round(retry_after))), "retry-after-ms": str(int(retry_after * 1000))}
    if fault.kind == "429":
        raise SandboxError(
            "Rate limit reached (sandbox fault injection).",
            status=429,
            code="rate_limit_exceeded",
            headers=retry_headers,
        )
    if fault.kind == "500":
        raise SandboxError(
            "The server had an error while processing your request (sandbox fault injection).",
            status=500,
            code="server_error",
            headers=retry_headers,
        )
    if fault.kind == "hang":
        # Bounded, so that the server's worker is freed even if the client never gives up.
        await asyncio.sleep(settings.SANDBOX_FAULT_HANG_SECONDS)
        raise SandboxError("The sandbox hung as asked (sandbox fault injection).", status=500, code="server_error")
