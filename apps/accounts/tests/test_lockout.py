"""Behind nginx every request comes from 127.0.0.1: the lockout must key on the client address nginx forwards
(X-Forwarded-For, trusting the configured number of proxies) and the account together."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

ATTACKER, OWNER = "203.0.113.9", "198.51.100.7"


def _login(client, email, password, *, forwarded_for=None):
    headers = {"REMOTE_ADDR": "127.0.0.1"}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client.post(reverse("login"), {"username": email, "password": password}, **headers)


@pytest.fixture
def behind_nginx(settings):
    settings.TRUSTED_PROXY_COUNT = 1


def test_someone_guessing_from_another_address_does_not_lock_the_owner_out(client, behind_nginx, staff_user,
                                                                           password, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT + 3):
        _login(client, staff_user.email, "wrong", forwarded_for=ATTACKER)

    response = _login(client, staff_user.email, password, forwarded_for=OWNER)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(staff_user.pk)


def test_the_guessing_address_is_locked_out_of_that_account(client, behind_nginx, staff_user, password, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, staff_user.email, "wrong", forwarded_for=ATTACKER)

    assert _login(client, staff_user.email, password, forwarded_for=ATTACKER).status_code == 429


def test_addresses_the_client_adds_in_front_of_the_proxys_give_no_extra_guesses(client, behind_nginx, staff_user,
                                                                               password, settings):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, staff_user.email, "wrong", forwarded_for=f"10.0.0.{attempt}, {ATTACKER}")

    assert _login(client, staff_user.email, password, forwarded_for=f"10.9.9.9, {ATTACKER}").status_code == 429


def test_without_a_trusted_proxy_a_forwarded_address_is_ignored(client, staff_user, password, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, staff_user.email, "wrong", forwarded_for=f"192.0.2.{attempt}")

    assert _login(client, staff_user.email, password, forwarded_for="192.0.2.200").status_code == 429


def test_the_api_token_lockout_uses_the_forwarded_address_too(api_client, behind_nginx, staff_user, password,
                                                              settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        api_client.post("/api/auth/token/", {"email": staff_user.email, "password": "wrong"}, format="json",
                        REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=ATTACKER)

    attacker = api_client.post("/api/auth/token/", {"email": staff_user.email, "password": password},
                               format="json", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=ATTACKER)
    owner = api_client.post("/api/auth/token/", {"email": staff_user.email, "password": password},
                            format="json", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=OWNER)

    assert attacker.status_code == 429
    assert owner.status_code == 200 and owner.json()["token"]
