"""What every sandbox endpoint shares: the key check, injected faults, OpenAI's error bodies,
JSON bodies and cursor pagination."""

import asyncio
import functools
import hmac
import json
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core.db import database

from . import faults
from .errors import SandboxError, invalid


def _check_key(request: HttpRequest) -> None:
    """401 unless the request carries SANDBOX_API_KEY (as a bearer token, or Azure's api-key header)."""
    authorization = request.headers.get("Authorization", "")
    key = authorization.removeprefix("Bearer ").strip() if authorization.startswith("Bearer ") else ""
    key = key or request.headers.get("api-key", "")
    if not key:
        raise SandboxError(
            "You didn't provide an API key. You need to provide your API key in an Authorization header "
            "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            status=401,
        )
    if not hmac.compare_digest(key.encode(), settings.SANDBOX_API_KEY.encode()):
        shown = f"{key[:3]}***{key[-4:]}" if len(key) > 8 else "***"
        raise SandboxError(
            f"Incorrect API key provided: {shown}. The sandbox accepts the key in SANDBOX_API_KEY.",
            status=401,
            code="invalid_api_key",
        )


def endpoint(*methods: str, handles_slow: bool = False) -> Callable:
    """Make a function view a sandbox endpoint.

    The returned view is async, so that injected delays never hold a server thread; a sync view
    body runs in core.db's database threads. `handles_slow` views apply the "slow" fault themselves (at
    their first token); for the others it delays the whole answer.
    """

    def decorate(view: Callable) -> Callable:
        view_is_async = iscoroutinefunction(view)
        run = view if view_is_async else functools.partial(database, view)

        @functools.wraps(view)
        async def wrapper(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise SandboxError(
                        f"Invalid method for URL ({request.method} {request.path}).",
                        status=405,
                        code="method_not_allowed",
                    )
                _check_key(request)
                fault = await faults.fault_for_request(request)
                await faults.fault_raise(fault)
                request.sandbox_fault = fault
                if fault is not None and fault.kind == "slow" and not handles_slow:
                    await asyncio.sleep(fault.slow_seconds)
                return await run(request, **kwargs)
            except SandboxError as error:
                return error.response()

        return csrf_exempt(wrapper)

    return decorate


BODY_MAX_BYTES = 64 * 1024 * 1024  # a request with images: OpenAI takes up to 50 MB of them in all


def json_body(request: HttpRequest) -> dict:
    """The request's JSON object (an empty body counts as {}). Read with read(), not .body, whose
    DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) would refuse a question with a photo."""
    raw = request.read(BODY_MAX_BYTES + 1)
    if len(raw) > BODY_MAX_BYTES:
        raise invalid(f"The request body is larger than {BODY_MAX_BYTES} bytes.")
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise invalid(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your "
            "HTTP library correctly. The OpenAI API expects a JSON payload.)"
        ) from None
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    return body


def required(body: dict, name: str) -> Any:
    value = body.get(name)
    if value in (None, ""):
        raise invalid(f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")
    return value


def int_param(request: HttpRequest, name: str, default: int, *, low: int = 1, high: int = 10_000) -> int:
    raw = request.GET.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"Invalid '{name}': expected an integer.", param=name) from None
    if not low <= value <= high:
        raise invalid(f"Invalid '{name}': must be between {low} and {high}.", param=name)
    return value


def cursor_page(
    request: HttpRequest,
    queryset: QuerySet,
    serialize: Callable[[Any], dict],
    *,
    default_limit: int = 20,
    default_order: str = "desc",
    extra: dict | None = None,
    id_field: str = "public_id",
) -> JsonResponse:
    """A page of `queryset` as OpenAI lists them: limit, after=<id>, order=asc|desc, has_more."""
    limit = int_param(request, "limit", default_limit)
    order = request.GET.get("order", default_order)
    if order not in ("asc", "desc"):
        raise invalid("Invalid 'order': expected 'asc' or 'desc'.", param="order")
    queryset = queryset.order_by("pk" if order == "asc" else "-pk")
    after = request.GET.get("after")
    if after:
        anchor = queryset.filter(**{id_field: after}).values_list("pk", flat=True).first()
        if anchor is not None:
            queryset = queryset.filter(pk__gt=anchor) if order == "asc" else queryset.filter(pk__lt=anchor)
    rows = list(queryset[: limit + 1])
    data = [serialize(row) for row in rows[:limit]]
    page = {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": len(rows) > limit,
    }
    return JsonResponse({**page, **(extra or {})})


def deleted(object_id: str, object_name: str) -> JsonResponse:
    return JsonResponse({"id": object_id, "object": object_name, "deleted": True})
