"""Clinic A never sees, counts or touches clinic B's conversations."""

import pytest
from django.urls import reverse

from apps.inbox import selectors
from apps.inbox.models import Conversation
from apps.inbox.tests.factories import CannedReplyFactory
from apps.notifications.tests.factories import MessageFactory
from apps.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def theirs(other_organization):
    patient = PatientFactory(organization=other_organization, first_name="Ajena")
    MessageFactory(inbound=True, organization=other_organization, patient=patient, body="secreto de B")
    # Same phone as ours, other clinic: still another conversation.
    MessageFactory(inbound=True, organization=other_organization, patient=None, phone="+573009990000")
    return Conversation.objects.filter(organization=other_organization).first()


def test_the_list_and_the_count_show_only_our_conversations(staff_client, organization, theirs):
    MessageFactory(inbound=True, organization=organization, patient=None, phone="+573009990000")

    page = staff_client.get(reverse("inbox"), {"filter": "all"})

    html = page.content.decode()
    assert "secreto de B" not in html and "Ajena" not in html
    assert page.context["nav_unread_count"] == 1
    assert {c.organization_id for c in page.context["conversations"]} == {organization.pk}
    assert selectors.unread_conversation_count(organization=organization) == 1


def test_the_list_poll_version_is_our_clinics_alone(staff_client, organization, other_organization, theirs):
    MessageFactory(inbound=True, organization=organization, patient=None, phone="+573009990000")
    ours = selectors.conversation_list_version(organization=organization)
    page = staff_client.get(reverse("inbox"), {"filter": "all"}, HTTP_HX_REQUEST="true")
    assert page.context["list_version"] == ours

    # Their clinic's news neither changes our version nor reaches our list.
    MessageFactory(inbound=True, organization=other_organization, patient=theirs.patient, body="otro secreto de B")
    assert selectors.conversation_list_version(organization=organization) == ours
    assert staff_client.get(reverse("inbox"), {"filter": "all", "since": ours},
                            HTTP_HX_REQUEST="true").status_code == 204
    # Their version asked of our list: the whole list, ours only.
    response = staff_client.get(reverse("inbox"), {
        "filter": "all", "since": selectors.conversation_list_version(organization=other_organization)},
        HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "secreto de B" not in html and "Ajena" not in html
    assert {c.organization_id for c in response.context["conversations"]} == {organization.pk}


@pytest.mark.parametrize("name", ["conversation-detail", "conversation-thread"])
def test_another_clinics_conversation_is_404(staff_client, theirs, name):
    assert staff_client.get(reverse(name, args=[theirs.pk])).status_code == 404


@pytest.mark.parametrize("name,data", [("conversation-reply", {"body": "hola"}),
                                       ("conversation-state", {"state": "resolved"}),
                                       ("conversation-assign", {"assigned_to": ""})])
def test_another_clinics_conversation_cannot_be_changed(staff_client, theirs, name, data):
    assert staff_client.post(reverse(name, args=[theirs.pk]), data).status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == "open"


def test_another_clinics_patient_gets_no_conversation_here(staff_client, other_organization):
    patient = PatientFactory(organization=other_organization)
    assert staff_client.get(reverse("patient-conversation", args=[patient.pk])).status_code == 404


def test_another_clinics_canned_replies_are_invisible(staff_client, other_organization):
    canned = CannedReplyFactory(organization=other_organization, title="De B")
    assert "De B" not in staff_client.get(reverse("canned-reply-list")).content.decode()
    assert staff_client.get(reverse("canned-reply-edit", args=[canned.pk])).status_code == 404
    assert staff_client.post(reverse("canned-reply-delete", args=[canned.pk])).status_code == 404


def test_the_api_lists_only_our_conversations_and_404s_theirs(staff_api, organization, theirs):
    MessageFactory(inbound=True, organization=organization, body="nuestro")
    listing = staff_api.get("/api/conversations/").json()
    assert [c["last_body"] for c in listing["results"]] == ["nuestro"]
    assert staff_api.get(f"/api/conversations/{theirs.pk}/").status_code == 404
    assert staff_api.post(f"/api/conversations/{theirs.pk}/reply/", {"body": "x"}, format="json").status_code == 404
