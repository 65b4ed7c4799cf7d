from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.views import admin_login
from dialogs import api

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
    # Browsers ask for /favicon.ico on pages without an icon link (the admin's).
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
]

if settings.SANDBOX_ENABLED:
    # Mounted only where enabled: never in production unless SANDBOX_ENABLED says so.
    urlpatterns.append(path("sandbox/v1/", include("sandbox.urls")))
