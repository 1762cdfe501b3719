"""The API answers every error as JSON (500, 413, 429 included); Django refuses bodies over its limit; pages and
API answers of a signed-in user are never stored by a browser or proxy."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from apps.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _json(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return json.loads(response.content)


def test_an_unexpected_api_failure_is_a_json_500(staff_api, monkeypatch):
    from apps.organizations.api import views

    def broken(self):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.MemberListApi, "get_queryset", broken)
    staff_api.raise_request_exception = False

    response = staff_api.get("/api/members/")

    assert response.status_code == 500
    body = _json(response)
    assert body["code"] == "server_error" and body["detail"] and "boom" not in response.content.decode()


def test_an_unexpected_page_failure_is_still_the_html_500_page(staff_client, monkeypatch):
    from apps.organizations import views

    def broken(request):
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "scoped", lambda *a, **k: broken(None))
    staff_client.raise_request_exception = False

    response = staff_client.get(reverse("member-list"))

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_an_api_body_over_the_limit_is_a_json_413(staff_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = staff_api.post("/api/patients/", {"first_name": "x" * 2000}, format="json")

    assert response.status_code == 413
    assert _json(response)["code"] == "too_large"


def test_an_unknown_api_path_is_a_json_404(staff_api):
    response = staff_api.get("/api/no-such-thing/")

    assert response.status_code == 404
    assert _json(response)["code"] == "not_found"


def test_the_api_throttle_answers_json_429(api_client, settings):
    limit = int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login"].split("/")[0])
    for n in range(limit):
        api_client.post("/api/auth/token/", {"email": f"x{n}@clinic.test", "password": "x"}, format="json")

    response = api_client.post("/api/auth/token/", {"email": "y@clinic.test", "password": "x"}, format="json")

    assert response.status_code == 429
    assert _json(response)["code"] == "throttled"


def test_an_upload_over_the_request_limit_is_refused_with_413_before_it_is_read(staff_client, settings):
    settings.MAX_REQUEST_BYTES = 50_000
    big = SimpleUploadedFile("pacientes.csv", b"nombres,apellidos,numero_documento\n" + b"a,b,1\n" * 20_000)

    response = staff_client.post(reverse("patient-import"), {"file": big})

    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    from apps.patients.models import PatientImport
    assert not PatientImport.objects.exists()


def test_an_import_file_over_its_limit_is_a_form_error_naming_the_field(staff_client, settings):
    settings.PATIENT_IMPORT_MAX_BYTES = 1000
    big = SimpleUploadedFile("pacientes.csv", b"nombres,apellidos,numero_documento\n" + b"a,b,1\n" * 500)

    response = staff_client.post(reverse("patient-import"), {"file": big})

    assert response.status_code == 200
    assert "file" in response.context["form"].errors


@pytest.mark.parametrize("page", ["patient-list", "patient-detail", "patient-update", "home", "inbox"])
def test_pages_with_patient_data_are_never_stored(staff_client, organization, page):
    patient = PatientFactory(organization=organization)
    url = reverse(page, args=[patient.pk]) if page in ("patient-detail", "patient-update") else reverse(page)

    response = staff_client.get(url)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_api_answers_are_never_stored(staff_api, organization):
    PatientFactory(organization=organization)

    response = staff_api.get("/api/patients/")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_the_export_is_never_stored(staff_client):
    response = staff_client.get(reverse("patient-export"), {"format": "csv"})

    assert "no-store" in response["Cache-Control"]


def test_answers_to_anonymous_clients_are_left_alone():
    assert not APIClient().get("/api/health").has_header("Cache-Control")
