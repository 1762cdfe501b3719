"""/api/messages/: the clinic's log, filters, free-text sends; another clinic's rows are 404."""

import pytest

from apps.notifications.models import Message
from apps.notifications.tests.factories import MessageFactory
from apps.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

URL = "/api/messages/"


def test_the_list_holds_only_the_caller_s_clinic(staff_api, organization, other_organization):
    mine = MessageFactory(organization=organization, status="failed", error="no route")
    MessageFactory(organization=other_organization)
    resp = staff_api.get(URL)
    assert resp.status_code == 200
    assert [row["id"] for row in resp.json()["results"]] == [mine.pk]
    assert resp.json()["results"][0]["error"] == "no route"


def test_filters_and_bad_filters(staff_api, organization):
    read = MessageFactory(organization=organization, status="read")
    MessageFactory(organization=organization, status="failed")
    assert [r["id"] for r in staff_api.get(URL, {"status": "read"}).json()["results"]] == [read.pk]
    assert [r["id"] for r in staff_api.get(URL, {"patient": read.patient_id}).json()["results"]] == [read.pk]
    resp = staff_api.get(URL, {"status": "nope", "date_from": "x"})
    assert resp.status_code == 400
    assert set(resp.json()["fields"]) == {"status", "date_from"}


def test_another_clinic_s_message_is_404(staff_api, other_organization):
    theirs = MessageFactory(organization=other_organization)
    assert staff_api.get(f"{URL}{theirs.pk}/").status_code == 404


def test_sending_a_free_text_message(staff_api, organization):
    patient = PatientFactory(consenting=True, organization=organization)
    resp = staff_api.post(URL, {"patient": patient.pk, "body": "Sus lentes llegaron"}, format="json")
    assert resp.status_code == 201
    assert resp.json()["status"] == "queued"
    assert Message.objects.get().body == "Sus lentes llegaron"


def test_a_send_to_another_clinic_s_patient_is_404_and_bad_input_names_the_field(staff_api, organization,
                                                                                 other_organization):
    theirs = PatientFactory(consenting=True, organization=other_organization)
    assert staff_api.post(URL, {"patient": theirs.pk, "body": "hola"}, format="json").status_code == 404
    resp = staff_api.post(URL, {"patient": "abc"}, format="json")
    assert resp.status_code == 400 and set(resp.json()["fields"]) == {"patient", "body"}
    opted_out = PatientFactory(consenting=True, organization=organization, whatsapp_opted_out=True)
    resp = staff_api.post(URL, {"patient": opted_out.pk, "body": "hola"}, format="json")
    assert resp.status_code == 400 and "patient" in resp.json()["fields"]
    assert not Message.objects.exists()


def test_anonymous_callers_get_401(api_client):
    assert api_client.get(URL).status_code == 401


@pytest.mark.parametrize("params", [{"patient": "²"}, {"date_to": "9999-12-31"}, {"date_from": "0001-01-01"},
                                    {"status": "x"}])
def test_filters_the_clinic_cannot_use_are_400s_naming_the_field(staff_api, params):
    response = staff_api.get(URL, params)

    assert response.status_code == 400
    assert list(response.json()["fields"]) == list(params)
