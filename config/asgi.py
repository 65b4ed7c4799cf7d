import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.prod")
django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does

from config.handlers import ASGIHandler  # noqa: E402 -- Django is set up first

application = ASGIHandler()
