"""Django's deployment checks for the security, CSRF and clickjacking middleware look for Django's
own dotted paths; gradcap runs subclasses of them (config.middleware). These checks say the same
for the subclasses, and base settings silence Django's three in exchange."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.utils.module_loading import import_string

REQUIRED = {
    "gradcap.W001": (
        "django.middleware.security.SecurityMiddleware",
        "HSTS, nosniff, the referrer policy and the SSL redirect have no effect without it.",
    ),
    "gradcap.W002": (
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        "pages are not served with an X-Frame-Options header without it.",
    ),
    "gradcap.W003": ("django.middleware.csrf.CsrfViewMiddleware", "forms lose their CSRF protection without it."),
}
# The Django checks these replace (silenced in config/settings/base.py).
REPLACED = ["security.W001", "security.W002", "security.W003"]


def _installed(path: str) -> bool:
    wanted = import_string(path)
    entries = (import_string(entry) for entry in settings.MIDDLEWARE)
    return any(isinstance(entry, type) and issubclass(entry, wanted) for entry in entries)


@register(Tags.security, deploy=True)
def check_security_middleware(app_configs=None, **kwargs) -> list[Warning]:
    return [
        Warning(f"No {path} (or a subclass of it) in MIDDLEWARE: {why}", id=check_id)
        for check_id, (path, why) in REQUIRED.items()
        if not _installed(path)
    ]


@register(Tags.security, deploy=True)
def check_demo_sign_in(app_configs=None, **kwargs) -> list[Error]:
    if settings.DEMO_SIGN_IN:
        return [
            Error(
                "DEMO_SIGN_IN shows the demo's passwords on the sign-in page: never in production.", id="gradcap.E001"
            )
        ]
    return []
