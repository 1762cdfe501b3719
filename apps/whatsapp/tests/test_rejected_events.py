"""Events Django could not apply are kept, counted for the clinic and applied again by the operator."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from apps.notifications.models import Message
from apps.patients.tests.factories import PatientFactory
from apps.whatsapp.models import ProcessedEvent
from apps.whatsapp.tests.test_events import event, post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _secret(settings):
    from tests.processes import EVENTS_SECRET

    settings.WHATSAPP_EVENTS_SECRET = EVENTS_SECRET


def inbound(organization, patient, text):
    return event(organization, "message.inbound", message_id=f"wa-{text}", **{"from": patient.phone}, text=text,
                 button_id=None, push_name="Juan", timestamp=0)


def replay(*args) -> str:
    out = io.StringIO()
    call_command("replay_rejected_events", *args, stdout=out)
    return out.getvalue()


def test_a_patient_message_that_could_not_be_recorded_is_kept_and_applied_again_after_the_fix(client, organization,
                                                                                               poison):
    patient = PatientFactory(organization=organization, consenting=True)
    lost = inbound(organization, patient, "veneno")
    assert post(client, [lost]).json()["rejected"][0]["id"] == lost["id"]
    assert ProcessedEvent.objects.get(event_id=lost["id"]).payload["data"]["text"] == "veneno"

    assert replay() == "0 applied, 1 rejected again\n"  # the cause is still there: still kept
    assert "poison row refused" in ProcessedEvent.objects.get(event_id=lost["id"]).rejected_reason

    poison()
    assert replay() == "1 applied, 0 rejected again\n"
    assert list(Message.objects.filter(direction="in").values_list("body", "contact_name")) == [("veneno", "Juan")]
    assert ProcessedEvent.objects.get(event_id=lost["id"]).rejected_reason == ""
    # Applied once: the bridge delivering it again, or a second replay, changes nothing.
    assert post(client, [lost]).json() == {"applied": 0, "accepted": [lost["id"]], "rejected": []}
    assert replay() == "0 applied, 0 rejected again\n"
    assert Message.objects.filter(direction="in").count() == 1


def test_the_replay_of_one_clinic_leaves_the_others_alone(client, organization, other_organization, poison):
    ours = inbound(organization, PatientFactory(organization=organization, consenting=True), "veneno")
    theirs = inbound(other_organization, PatientFactory(organization=other_organization, consenting=True), "veneno")
    post(client, [ours])
    post(client, [theirs])
    poison()

    assert replay("--organization", str(organization.pk)) == "1 applied, 0 rejected again\n"
    assert ProcessedEvent.objects.get(event_id=ours["id"]).rejected_reason == ""
    assert ProcessedEvent.objects.get(event_id=theirs["id"]).rejected_reason != ""
    assert "1 rejected event(s)" in replay("--list")
    with pytest.raises(CommandError, match="--organization"):
        replay("--organization", "999999")


def test_the_whatsapp_page_tells_the_clinics_managers_how_many_of_their_events_are_waiting(
        client, admin_client, organization, other_organization, poison, settings):
    from tests.processes import free_port

    settings.WHATSAPP_BRIDGE_URL = f"http://127.0.0.1:{free_port()}"  # the page works with the bridge down
    page = reverse("whatsapp-link")
    assert 'id="rejected-events"' not in admin_client.get(page).content.decode()

    for _ in range(2):
        post(client, [inbound(organization, PatientFactory(organization=organization, consenting=True), "veneno")])
    elsewhere = PatientFactory(organization=other_organization, consenting=True)
    post(client, [inbound(other_organization, elsewhere, "veneno")])

    html = admin_client.get(page).content.decode()
    assert 'id="rejected-events"' in html
    assert "2 eventos de WhatsApp" in html  # this clinic's two, not the other clinic's

    poison()
    replay()
    assert 'id="rejected-events"' not in admin_client.get(page).content.decode()
