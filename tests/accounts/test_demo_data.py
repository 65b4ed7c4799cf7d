import pytest
from django.core.management import call_command

from accounts.models import User
from courses.models import Course, Membership
from llm.models import Provider


@pytest.mark.smoke
def test_it_creates_the_demo_and_is_safe_to_run_twice(db, capsys):
    call_command("demo_data")
    first = (User.objects.count(), Course.objects.count(), Membership.objects.count(), Provider.objects.count())
    user = User.objects.get(email="learner@example.com")
    user.set_password("changed-by-the-learner")
    user.save()

    call_command("demo_data")
    second = (User.objects.count(), Course.objects.count(), Membership.objects.count(), Provider.objects.count())

    assert first == second == (3, 1, 2, 2)
    assert User.objects.get(email="learner@example.com").check_password("changed-by-the-learner")
    assert Provider.objects.get(is_default=True).kind == Provider.Kind.SANDBOX
    # This machine trains too: a self-hosted provider with the demo's base model, checked as it loads.
    own = Provider.objects.get(kind=Provider.Kind.SELF_HOSTED)
    assert own.base_models.get().context_length == 8192
    output = capsys.readouterr().out
    assert "curator@example.com" in output and "gradcap-demo" in output


def test_it_uses_openai_when_a_key_is_configured(db, settings):
    settings.OPENAI_API_KEY = "sk-from-the-environment-0000"
    call_command("demo_data")
    provider = Provider.objects.get(is_default=True)
    assert provider.kind == Provider.Kind.OPENAI
    assert provider.api_key == "sk-from-the-environment-0000"
