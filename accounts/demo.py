"""Demo users, one per role. Passwords are set only when a user is created, so a rerun never
undoes a password someone changed."""

from django.contrib.auth.models import Group

from .models import Role, User

DEMO_PASSWORD = "gradcap-demo"  # noqa: S105 -- printed for the demo on purpose
ADMIN_EMAIL = "admin@example.com"
CURATOR_EMAIL = "curator@example.com"
LEARNER_EMAIL = "learner@example.com"


def load(*, stdout) -> None:
    admin = _user(ADMIN_EMAIL, first_name="Ada", last_name="Admin", is_staff=True, is_superuser=True)
    admin.groups.add(Group.objects.get(name=Role.ADMIN))
    _user(CURATOR_EMAIL, first_name="Katya", last_name="Curator")
    _user(LEARNER_EMAIL, first_name="Lev", last_name="Learner")
    stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for email, role in ((ADMIN_EMAIL, "admin"), (CURATOR_EMAIL, "curator"), (LEARNER_EMAIL, "learner")):
        stdout.write(f"  {role:<8} {email}")


def _user(email: str, **fields) -> User:
    user, created = User.objects.get_or_create(email=email, defaults=fields)
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user
