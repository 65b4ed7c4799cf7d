from assistants.models import ApiKey
from assistants.services import api_key_authenticate, api_key_create


def test_it_shows_a_new_key_once_and_stores_only_its_hash(client, curator, assistant):
    client.force_login(curator)
    response = client.post(f"{assistant.get_absolute_url()}keys/", {"name": "Telegram bot"}, follow=True)
    key = ApiKey.objects.get()
    shown = response.context["new_api_key"]["key"]
    assert shown in response.text
    assert shown.startswith("gck_")
    assert key.key_hash != shown and shown not in key.key_hash
    assert api_key_authenticate(shown) == key
    # The next visit does not show it again.
    assert shown not in client.get(assistant.get_absolute_url()).text


def test_it_revokes_a_key(client, curator, assistant):
    key, raw_key = api_key_create(assistant=assistant, name="bot", user=curator)
    client.force_login(curator)
    client.post(f"{assistant.get_absolute_url()}keys/{key.pk}/revoke/")
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api_key_authenticate(raw_key) is None


def test_it_refuses_a_forged_key_with_a_known_lookup(assistant, curator):
    _, raw_key = api_key_create(assistant=assistant, name="bot", user=curator)
    forged = raw_key[:-4] + ("AAAA" if not raw_key.endswith("AAAA") else "BBBB")
    assert api_key_authenticate(forged) is None
    assert api_key_authenticate("sk-not-ours") is None


def test_it_404s_when_revoking_a_key_of_another_course(client, assistant, curator, other_curator):
    key, _ = api_key_create(assistant=assistant, name="bot", user=curator)
    client.force_login(other_curator)
    response = client.post(f"{assistant.get_absolute_url()}keys/{key.pk}/revoke/")
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None
