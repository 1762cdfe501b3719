"""Rotating DJANGO_SECRET_KEY with the old key kept as a fallback signs nobody out."""

import pytest
from django.test import Client, override_settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

OLD, NEW = "the-key-before-the-rotation-" + "x" * 30, "the-key-after-the-rotation-" + "y" * 30


def _signed_in_under_the_old_key(user) -> Client:
    client = Client()
    with override_settings(SECRET_KEY=OLD):
        client.force_login(user)
        assert client.get(reverse("patient-list")).status_code == 200
    return client


def _signed_out(response) -> bool:
    return response.status_code == 302 and reverse("login") in response["Location"]


def test_staff_stay_signed_in_through_a_rotation_and_only_the_unseen_are_signed_out_once_it_ends(staff_user):
    seen_during_the_rotation = _signed_in_under_the_old_key(staff_user)
    not_seen = _signed_in_under_the_old_key(staff_user)

    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD]):
        assert seen_during_the_rotation.get(reverse("patient-list")).status_code == 200

    # The fallback removed: a session seen during the rotation was signed again with the new key.
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[]):
        assert seen_during_the_rotation.get(reverse("patient-list")).status_code == 200
        assert _signed_out(not_seen.get(reverse("patient-list")))


def test_without_the_fallback_a_new_key_signs_everyone_out(staff_user):
    client = _signed_in_under_the_old_key(staff_user)

    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[]):
        assert _signed_out(client.get(reverse("patient-list")))
