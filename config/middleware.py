from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.middleware import clickjacking, common, csp, csrf, locale, security
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
    """Inline only while the CSRF token lives in a cookie (CSRF_USE_SESSIONS would read the session)."""

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
