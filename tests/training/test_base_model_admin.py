"""Admins register base models in the Django admin; the form loads each one in the trainer's
environment and refuses what does not load, saying why."""

import shutil

import pytest
from django.conf import settings

from training.models import BaseModel

ADD = "/admin/training/basemodel/add/"


@pytest.fixture
def admin(client, site_admin, trainer_python):
    site_admin.is_superuser = True
    site_admin.save()
    client.force_login(site_admin)
    return client


def _add(client, provider, **fields):
    data = {
        "provider": provider.pk,
        "name": "SmolLM2-135M-Instruct",
        "source": str(settings.TRAINING_DEMO_MODEL_DIR),
        "revision": "",
        "chat_template": "",
        "context_length": "",
        "hosts": "",
        "is_active": "on",
        **fields,
    }
    return client.post(ADD, data)


def test_it_a_model_that_loads_is_registered_with_what_it_is(admin, self_hosted):
    response = _add(admin, self_hosted)
    assert response.status_code == 302, response.content.decode()[-2000:]
    model = BaseModel.objects.get()
    assert model.context_length == 8192  # from the model's configuration
    assert model.architecture == "LlamaForCausalLM" and 130_000_000 < model.parameters < 140_000_000
    assert len(model.fingerprint) == 64 and model.checked_at is not None


def test_it_a_missing_directory_is_refused_with_its_path(admin, self_hosted):
    response = _add(admin, self_hosted, source="/srv/models/nothing-here")
    assert response.status_code == 200
    assert "was not found" in response.content.decode() and "/srv/models/nothing-here" in response.content.decode()
    assert not BaseModel.objects.exists()


def test_it_a_directory_without_weights_is_refused(admin, self_hosted, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        shutil.copy(settings.TRAINING_DEMO_MODEL_DIR / name, broken / name)
    response = _add(admin, self_hosted, source=str(broken))
    assert "could not be loaded" in response.content.decode() and "no .safetensors weights" in response.content.decode()
    assert not BaseModel.objects.exists()


def test_it_a_chat_template_that_fails_is_refused(admin, self_hosted):
    response = _add(admin, self_hosted, chat_template="{{ raise_exception('no system role here') }}")
    assert "cannot be used for training" in response.content.decode()
    assert "no system role here" in response.content.decode()


def test_it_without_the_trainers_environment_here_it_says_how_to_get_it(admin, self_hosted, settings):
    settings.TRAINER_PYTHON = "/opt/nowhere/bin/python"
    response = _add(admin, self_hosted)
    assert "environment is not installed on this host" in response.content.decode()
