from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.db import OperationalError
from django.http import HttpResponse, JsonResponse
from django.middleware import clickjacking, common, csp, csrf, locale, security
from django.utils.translation import gettext as _
from psycopg_pool import PoolTimeout
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, usable in async mode too.

    WhiteNoise's middleware is sync-only, so under ASGI every request would hop to a thread and
    back just to learn that it is not a static file — a few milliseconds on each chat stream.
    This looks the path up first and only then serves or passes the request on in its own mode.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        super().__init__(get_response)
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return super().__call__(request)

    async def __acall__(self, request):
        static_file = self.find_file(request.path_info) if self.autorefresh else self.files.get(request.path_info)
        if static_file is not None:
            return self.serve(static_file, request)
        return await self.get_response(request)


# Django's own middleware, without a thread hop per hook --------------------------------------
#
# Under ASGI, Django's MiddlewareMixin runs every process_request/process_response of a sync
# middleware through sync_to_async: about seventeen hops to a thread and back per request before
# an async view (the chat stream) runs, a few milliseconds in all. The hooks below do no I/O (they
# read headers and cookies, set headers, make lazy objects), so in async mode they run inline.
# Hooks that may touch the database (saving a modified session, messages kept in the session)
# still go to a thread, only when they will.


class InlineHooksMixin:
    async def __acall__(self, request):
        response = self.process_request(request) if hasattr(self, "process_request") else None
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = await self._aprocess_response(request, response)
        return response

    async def _aprocess_response(self, request, response):
        return self.process_response(request, response)


class SecurityMiddleware(InlineHooksMixin, security.SecurityMiddleware):
    pass


class LocaleMiddleware(InlineHooksMixin, locale.LocaleMiddleware):
    pass


class CommonMiddleware(InlineHooksMixin, common.CommonMiddleware):
    pass


class CsrfViewMiddleware(InlineHooksMixin, csrf.CsrfViewMiddleware):
    """Inline only while the CSRF token lives in a cookie (CSRF_USE_SESSIONS would read the session).

    The check itself (process_view) is inline too: Django would run it in a thread of the request,
    and that thread would then live as long as the response, a whole chat stream."""

    def __init__(self, get_response):
        super().__init__(get_response)
        if iscoroutinefunction(self) and not settings.CSRF_USE_SESSIONS:
            self.process_view = self._aprocess_view

    async def _aprocess_view(self, request, callback, callback_args, callback_kwargs):
        # Reads headers, cookies and the already received form body: no I/O.
        return csrf.CsrfViewMiddleware.process_view(self, request, callback, callback_args, callback_kwargs)

    async def __acall__(self, request):
        if settings.CSRF_USE_SESSIONS:
            return await csrf.CsrfViewMiddleware.__acall__(self, request)
        return await super().__acall__(request)


class AuthenticationMiddleware(InlineHooksMixin, auth.AuthenticationMiddleware):
    pass  # request.user stays lazy: the view loads it (in its thread) when it needs it


class XFrameOptionsMiddleware(InlineHooksMixin, clickjacking.XFrameOptionsMiddleware):
    pass


class ContentSecurityPolicyMiddleware(InlineHooksMixin, csp.ContentSecurityPolicyMiddleware):
    pass


class SessionMiddleware(InlineHooksMixin, sessions.SessionMiddleware):
    async def _aprocess_response(self, request, response):
        session = request.session
        if session.modified or settings.SESSION_SAVE_EVERY_REQUEST:
            return await sync_to_async(self.process_response)(request, response)  # saves it
        return self.process_response(request, response)  # only headers and cookies


class MessageMiddleware(InlineHooksMixin, messages.MessageMiddleware):
    async def _aprocess_response(self, request, response):
        storage = getattr(request, "_messages", None)
        if storage is not None and (storage.used or storage.added_new):
            return await sync_to_async(self.process_response)(request, response)  # may use the session
        return self.process_response(request, response)


class DatabaseBusyMiddleware:
    """Past capacity, a clear "busy, try again" (503 with Retry-After) instead of a server error.

    When every pooled connection stays taken for the pool's whole timeout, or SQLite stays locked
    for its busy timeout, the request fails with OperationalError. That is overload, not a bug: the
    learner gets a message to try again (the chat keeps the typed question, and a stream tries
    again by itself), and nothing was written by the failed request.
    """

    sync_capable = True
    async_capable = True
    RETRY_AFTER_SECONDS = 5

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_overload(exception):
            return None
        message = _("Too many people are asking at once. Please try again in a few seconds.")
        if "application/json" in request.headers.get("Accept", ""):
            response = JsonResponse({"errors": [message]}, status=503)
        else:
            response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(self.RETRY_AFTER_SECONDS)
        return response


def is_overload(exception: BaseException) -> bool:
    """A database error that means "too busy now", not "wrong": a pool timeout, a locked SQLite."""
    if not isinstance(exception, OperationalError):
        return False
    cause = exception.__cause__ or exception.__context__
    return isinstance(cause, PoolTimeout) or "database is locked" in str(exception)
