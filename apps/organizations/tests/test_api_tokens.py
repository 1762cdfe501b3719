"""API tokens expire, are revoked when their user's password changes, and each user can list and revoke theirs."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.organizations.models import ApiToken
from apps.organizations.services import api_token_obtain

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Otra-clave-segura-2026"


def _client(token: ApiToken) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def test_changing_the_password_revokes_the_users_api_tokens(client, staff_user, password, organization):
    token = api_token_obtain(user=staff_user)
    assert _client(token).get("/api/members/").status_code == 200
    client.force_login(staff_user)

    client.post(reverse("password_change"), {"old_password": password, "new_password1": NEW_PASSWORD,
                                             "new_password2": NEW_PASSWORD})

    assert _client(token).get("/api/members/").status_code == 401
    assert not ApiToken.objects.filter(user=staff_user).exists()


def test_a_password_reset_revokes_the_users_api_tokens(client, staff_user):
    token = api_token_obtain(user=staff_user)
    client.post(reverse("password_reset"), {"email": staff_user.email})
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line).strip()
    form_page = client.get(link[link.index("/accounts/reset/"):], follow=True)

    client.post(form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert _client(token).get("/api/members/").status_code == 401


def test_other_users_tokens_survive_a_password_change(staff_user, admin_user):
    theirs = api_token_obtain(user=admin_user)

    staff_user.set_password(NEW_PASSWORD)
    staff_user.save()

    assert _client(theirs).get("/api/members/").status_code == 200


def test_saving_a_user_without_changing_the_password_keeps_the_tokens(staff_user):
    token = api_token_obtain(user=staff_user)

    staff_user.full_name = "Otro Nombre"
    staff_user.save()

    assert _client(token).get("/api/members/").status_code == 200


def test_an_expired_token_is_refused_and_a_new_one_replaces_it(api_client, staff_user, password, settings):
    token = api_token_obtain(user=staff_user)
    assert token.expires_at > timezone.now() + dt.timedelta(days=settings.API_TOKEN_TTL_DAYS - 1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    refused = _client(token).get("/api/members/")
    renewed = api_client.post("/api/auth/token/", {"email": staff_user.email, "password": password}, format="json")

    assert refused.status_code == 401 and "/api/auth/token/" in refused.json()["detail"]
    assert renewed.status_code == 200 and renewed.json()["token"] != token.key
    assert renewed.json()["expires_at"]
    assert _client(ApiToken.objects.get(key=renewed.json()["token"])).get("/api/members/").status_code == 200


def test_a_user_lists_their_own_tokens_only(staff_user, admin_user, other_user, other_organization, organization):
    from apps.organizations.tests.factories import MembershipFactory

    MembershipFactory(user=staff_user, organization=other_organization)
    mine = [api_token_obtain(user=staff_user, organization_id=organization.pk),
            api_token_obtain(user=staff_user, organization_id=other_organization.pk)]
    api_token_obtain(user=admin_user)
    api_token_obtain(user=other_user)

    response = _client(mine[0]).get("/api/auth/tokens/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert sorted(row["id"] for row in rows) == sorted(token.pk for token in mine)
    assert {row["organization"] for row in rows} == {organization.pk, other_organization.pk}
    assert all("key" not in row and set(row) >= {"created_at", "last_used_at", "expires_at"} for row in rows)


def test_a_user_revokes_a_token_and_cannot_touch_anothers(staff_user, admin_user):
    mine = api_token_obtain(user=staff_user)
    theirs = api_token_obtain(user=admin_user)
    api = _client(mine)

    other = api.delete(f"/api/auth/tokens/{theirs.pk}/")
    missing = api.delete("/api/auth/tokens/999999/")
    own = api.delete(f"/api/auth/tokens/{mine.pk}/")

    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()
    assert own.status_code == 204
    assert _client(mine).get("/api/members/").status_code == 401
    assert _client(theirs).get("/api/members/").status_code == 200


def test_the_tokens_page_lists_and_revokes_my_tokens(client, staff_user, admin_user):
    mine = api_token_obtain(user=staff_user)
    theirs = api_token_obtain(user=admin_user)
    client.force_login(staff_user)

    page = client.get(reverse("api-token-list")).content.decode()
    foreign = client.post(reverse("api-token-revoke", args=[theirs.pk]))
    revoked = client.post(reverse("api-token-revoke", args=[mine.pk]))

    assert f'data-token="{mine.pk}"' in page and f'data-token="{theirs.pk}"' not in page
    assert mine.key not in page
    assert foreign.status_code == 404
    assert revoked.status_code == 302
    assert not ApiToken.objects.filter(pk=mine.pk).exists() and ApiToken.objects.filter(pk=theirs.pk).exists()
