"""opticaapp/: the API plumbing every endpoint shares: its JSON parser, pages, 404s and query-string guard."""

import json

import pytest

from apps.patients.models import Patient

pytestmark = pytest.mark.django_db


def _post_raw(client, url, body: str):
    return client.generic("POST", url, body.encode("utf-8", "surrogatepass"), content_type="application/json")


def test_text_postgresql_cannot_store_is_a_400_naming_the_field_and_nothing_is_saved(staff_api):
    # A lone surrogate passes DRF's CharField and failed at the database with a 500.
    response = _post_raw(staff_api, "/api/patients/",
                         '{"document_number": "80123456", "first_name": "Ana\\ud800", "last_name": "Ruiz"}')

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["first_name"]
    assert not Patient.objects.exists()


def test_a_nul_byte_anywhere_in_the_body_names_its_field(staff_api):
    response = staff_api.post("/api/patients/", {"document_number": "1", "first_name": "A", "last_name": "B",
                                                 "notes": "x\x00y"})

    assert response.status_code == 400
    assert response.json()["fields"] == {"notes": ["Los caracteres nulos no están permitidos."]}


def test_deeply_nested_json_is_a_400_not_a_recursion_error(staff_api):
    response = _post_raw(staff_api, "/api/patients/", "[" * 100_000 + "]" * 100_000)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "non_field_errors" in response.json()["fields"]


def test_a_nul_byte_in_a_search_is_a_400_naming_the_parameter(staff_api):
    response = staff_api.get("/api/conversations/", {"q": "ana\x00"})

    assert response.status_code == 400
    assert response.json()["fields"] == {"q": ["Los caracteres nulos no están permitidos."]}


@pytest.mark.parametrize("params", [{"page_size": "x"}, {"page_size": "0"}, {"page": "²"}, {"page": "-1"}])
def test_pages_that_are_not_whole_numbers_are_refused_naming_the_parameter(staff_api, params):
    response = staff_api.get("/api/patients/", params)

    assert response.status_code == 400
    assert list(response.json()["fields"]) == list(params)


def test_a_url_no_route_matches_answers_the_api_s_json_404(staff_api):
    response = staff_api.get("/api/patients/abc/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "No encontrado.", "code": "not_found", "fields": {}}


def test_a_form_body_is_refused_with_415_as_the_schema_says(staff_api):
    response = staff_api.post("/api/patients/", {"first_name": "Ana"}, format="multipart")

    assert response.status_code == 415


def test_the_ui_answers_a_nul_byte_in_a_search_with_a_page_naming_the_field(staff_client):
    response = staff_client.get("/patients/", {"q": "ana\x00"})

    assert response.status_code == 400
    assert "«q»" in response.content.decode() or "“q”" in response.content.decode()


def test_json_bodies_still_parse_as_before(staff_api):
    response = _post_raw(staff_api, "/api/patients/", json.dumps(
        {"document_number": "80123456", "first_name": "Ána", "last_name": "Ruiz", "notes": "[{a: 1}]"}))

    assert response.status_code == 201, response.json()
