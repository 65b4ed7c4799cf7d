"""Signing in to the admin goes through the product's own sign-in page, where allauth throttles
failed attempts per account and per address; Django's admin login form has no such limit."""

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def admin_login(request: HttpRequest) -> HttpResponseRedirect:
    """/admin/login/ (GET or POST): to the throttled sign-in page, then back to the admin page asked for."""
    back = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("admin:index")
    return HttpResponseRedirect(f"{reverse('account_login')}?{urlencode({'next': back})}")
