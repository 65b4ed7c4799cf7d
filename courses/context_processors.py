from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.models import Role

from .models import Membership


def _site_role(user) -> str | None:
    if not user.is_authenticated:
        return None
    if user.is_site_admin:
        return Role.ADMIN
    roles = set(Membership.objects.filter(user=user).values_list("role", flat=True))
    if Membership.Role.CURATOR in roles:
        return Role.CURATOR
    return Role.LEARNER


def navigation(request: HttpRequest) -> dict:
    """`site_role`: the highest role the user has anywhere, for the navigation bar (lazy)."""
    return {"site_role": SimpleLazyObject(lambda: _site_role(request.user))}
