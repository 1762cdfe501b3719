import pytest

from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_a_token_is_obtained_with_email_and_password(api_client, staff_user, password, organization):
    response = api_client.post("/api/auth/token/", {"email": staff_user.email, "password": password}, format="json")

    assert response.status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api_client.get("/api/members/").status_code == 200


def test_wrong_credentials_get_a_json_error_naming_the_field(api_client, staff_user):
    response = api_client.post("/api/auth/token/", {"email": staff_user.email, "password": "x"}, format="json")

    assert response.status_code == 400
    assert "email" in response.json()["fields"]


def test_missing_fields_are_named(api_client):
    response = api_client.post("/api/auth/token/", {}, format="json")

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"email", "password"}


def test_a_user_in_two_clinics_must_name_one_and_gets_a_token_for_it(api_client, staff_user, password,
                                                                      other_organization):
    MembershipFactory(user=staff_user, organization=other_organization, role=Role.ADMIN)

    unnamed = api_client.post("/api/auth/token/", {"email": staff_user.email, "password": password}, format="json")
    named = api_client.post("/api/auth/token/", {"email": staff_user.email, "password": password,
                                                 "organization": other_organization.pk}, format="json")

    assert unnamed.status_code == 400 and "organization" in unnamed.json()["fields"]
    assert named.status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {named.json()['token']}")
    emails = [row["email"] for row in api_client.get("/api/members/").json()["results"]]
    assert staff_user.email in emails


def test_a_token_for_a_clinic_i_do_not_belong_to_is_refused(api_client, staff_user, password, other_organization):
    response = api_client.post("/api/auth/token/", {"email": staff_user.email, "password": password,
                                                    "organization": other_organization.pk}, format="json")

    assert response.status_code == 400
    assert "organization" in response.json()["fields"]


def test_api_without_credentials_is_refused_with_json(api_client):
    response = api_client.get("/api/members/")

    assert response.status_code in (401, 403)
    assert response.json()["detail"]


def test_health_answers_without_auth(api_client):
    response = api_client.get("/api/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_openapi_schema_and_docs_are_served(api_client, staff_user):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    api_client.force_login(staff_user)
    docs = api_client.get("/api/docs/")

    assert schema.status_code == 200
    assert "/api/auth/token/" in schema.json()["paths"]
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


SECOND_WORKER = """
import django, json, sys
django.setup()
from rest_framework.test import APIClient
response = APIClient(SERVER_NAME="127.0.0.1").post("/api/auth/token/", {"email": "otra@clinic.test", "password": "x"},
                                                  format="json")
print(json.dumps({"status": response.status_code, "body": response.json()}))
"""


def test_the_login_throttle_holds_across_worker_processes(transactional_db, api_client, settings):
    """gunicorn runs several worker processes: a limit kept in one process's memory would multiply by their
    number. A second Python process sharing only the database sees the first one's attempts."""
    import json
    import os
    import subprocess
    import sys

    from django.core.cache import cache
    from django.db import connection

    from tests.deploy.conftest import ROOT, libpq_url

    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])
    try:
        # Each attempt names another account, so the account lockout never steps in: only the throttle does.
        answers = [api_client.post("/api/auth/token/", {"email": f"nadie{n}@clinic.test", "password": "x"},
                                   format="json").status_code for n in range(limit)]
        env = {**os.environ, "DATABASE_URL": libpq_url(connection.settings_dict),
               "DJANGO_SETTINGS_MODULE": "opticaapp.settings"}
        result = subprocess.run([sys.executable, "-c", SECOND_WORKER], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=120)
    finally:
        cache.clear()

    assert answers == [400] * limit
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["status"] == 429
    assert answer["body"]["code"] == "throttled"
