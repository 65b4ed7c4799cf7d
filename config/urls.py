from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from accounts.views import admin_login
from dialogs.chat import api


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico on pages without an icon link (the admin's). The icon's URL is
    looked up per request: production's manifest exists only once collectstatic has run."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


urlpatterns = [
    # Before the admin's own: its login form is not throttled, the product's sign-in page is.
    path("admin/login/", admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("c/<slug:slug>/assistants/", include("assistants.urls")),
    path("c/<slug:slug>/training/", include("finetune.urls")),
    path("c/<slug:slug>/", include("dialogs.urls")),
    path("api/v1/assistants/<int:assistant_id>/messages", api.api_message, name="api_message"),
    path("api/v1/openapi.json", api.api_openapi, name="api_openapi"),
    path("", include("courses.urls")),
    path("favicon.ico", favicon),
]

if settings.SANDBOX_ENABLED:
    # Mounted only where enabled: never in production unless SANDBOX_ENABLED says so.
    urlpatterns.append(path("sandbox/v1/", include("sandbox.urls")))
