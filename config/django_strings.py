"""Django's and allauth's own strings that gradcap's pages show but their Russian catalogs lack
(Django 6's new blank-choice label): named here so that makemessages keeps them in gradcap's catalog,
which comes first (LOCALE_PATHS). bin/check-translations then fails if they lose their translation."""

from django.utils.translation import gettext_noop

DJANGO_STRINGS = [
    gettext_noop("- Select an option -"),  # django.db.models.fields.BLANK_CHOICE_LABEL
]
