from django import template
from django.conf import settings
from django.utils.translation import pgettext_lazy

from accounts import demo
from accounts.models import User

register = template.Library()

ROLES = (
    (demo.ADMIN_EMAIL, pgettext_lazy("demo account", "admin")),
    (demo.CURATOR_EMAIL, pgettext_lazy("demo account", "curator")),
    (demo.LEARNER_EMAIL, pgettext_lazy("demo account", "learner")),
)


@register.simple_tag
def demo_accounts() -> list[dict]:
    """The demo's accounts for one-click sign-in: only where DEMO_SIGN_IN is on (development
    settings, never production) and only those that still have the demo password."""
    if not settings.DEMO_SIGN_IN:
        return []
    users = {user.email: user for user in User.objects.filter(email__in=[email for email, _role in ROLES])}
    return [
        {"email": email, "role": role, "name": users[email].get_full_name() or email, "password": demo.DEMO_PASSWORD}
        for email, role in ROLES
        if email in users and users[email].check_password(demo.DEMO_PASSWORD)
    ]
