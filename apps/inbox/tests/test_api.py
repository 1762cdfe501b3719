import pytest
from django.utils import timezone

from apps.inbox.models import Conversation
from apps.notifications.models import Message
from apps.notifications.tests.factories import MessageFactory
from apps.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(organization):
    patient = PatientFactory(organization=organization, whatsapp_consent=True, whatsapp_consent_at=timezone.now())
    MessageFactory(inbound=True, organization=organization, patient=patient, body="hola")
    return patient


def test_list_and_detail_with_messages(staff_api, conversation):
    listing = staff_api.get("/api/conversations/", {"filter": "open"}).json()
    [row] = listing["results"]
    assert row["unread"] == 1 and row["effective_state"] == "open" and row["patient"] == conversation.pk

    detail = staff_api.get(f"/api/conversations/{row['id']}/").json()
    assert [m["body"] for m in detail["messages"]] == ["hola"]


def test_patch_state_and_assignment(staff_api, staff_user, conversation):
    pk = staff_api.get("/api/conversations/").json()["results"][0]["id"]
    response = staff_api.patch(f"/api/conversations/{pk}/", {"state": "pending", "assigned_to": staff_user.pk},
                               format="json")
    assert response.status_code == 200
    assert response.json()["state"] == "pending" and response.json()["assigned_to"] == staff_user.pk


def test_reply_refusals_are_json_naming_the_field(staff_api, conversation):
    pk = staff_api.get("/api/conversations/").json()["results"][0]["id"]
    response = staff_api.post(f"/api/conversations/{pk}/reply/", {"body": ""}, format="json")
    assert response.status_code == 400 and "body" in response.json()["fields"]
    response = staff_api.post(f"/api/conversations/{pk}/reply/", {"body": "hola"}, format="json")
    assert response.status_code == 400 and "not linked" in response.json()["detail"]
    assert not Message.objects.filter(direction="out").exists()


def test_reply_when_linked_returns_the_queued_message(staff_api, conversation, whatsapp_linked):
    pk = staff_api.get("/api/conversations/").json()["results"][0]["id"]
    response = staff_api.post(f"/api/conversations/{pk}/reply/", {"body": "Buenos días"}, format="json")
    assert response.status_code == 201 and response.json()["status"] == "queued"


def test_unknown_filter_is_a_400(staff_api):
    assert staff_api.get("/api/conversations/", {"filter": "nope"}).status_code == 400


def test_patch_refuses_an_unknown_state_and_someone_of_another_clinic(staff_api, other_user, conversation):
    pk = staff_api.get("/api/conversations/").json()["results"][0]["id"]
    response = staff_api.patch(f"/api/conversations/{pk}/", {"state": "archived"}, format="json")
    assert response.status_code == 400 and "state" in response.json()["fields"]
    response = staff_api.patch(f"/api/conversations/{pk}/", {"assigned_to": other_user.pk}, format="json")
    assert response.status_code == 400 and "assigned_to" in response.json()["fields"]
    assert Conversation.objects.get(pk=pk).assigned_to is None


def test_another_clinic_s_user_and_a_missing_id_answer_alike_in_the_clinic_s_language(staff_api, conversation,
                                                                                      other_user, settings):
    settings.LANGUAGE_CODE = "es"
    [row] = staff_api.get("/api/conversations/").json()["results"]
    url = f"/api/conversations/{row['id']}/"

    theirs = staff_api.patch(url, {"assigned_to": other_user.pk})
    missing = staff_api.patch(url, {"assigned_to": other_user.pk + 1000})

    assert theirs.status_code == missing.status_code == 400
    assert theirs.json() == missing.json() == {
        "detail": "assigned_to: Elija un miembro de esta clínica.", "code": "invalid",
        "fields": {"assigned_to": ["Elija un miembro de esta clínica."]}}
    assert Conversation.objects.get(pk=row["id"]).assigned_to is None


def test_a_nul_byte_in_the_search_is_a_400_naming_q(staff_api, conversation):
    response = staff_api.get("/api/conversations/", {"q": "\x00"})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["q"]
