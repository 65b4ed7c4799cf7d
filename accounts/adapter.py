from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Schools often invite people instead of letting anyone register.
        return settings.ACCOUNT_ALLOW_REGISTRATION
