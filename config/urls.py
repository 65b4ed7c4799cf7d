from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("courses.urls")),
]

if settings.SANDBOX_ENABLED:
    # Mounted only where enabled: never in production unless SANDBOX_ENABLED says so.
    urlpatterns.append(path("sandbox/v1/", include("sandbox.urls")))
