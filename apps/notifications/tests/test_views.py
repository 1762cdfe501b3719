"""Settings, templates, the message log, patient fragments and manual sends: roles, tenancy, bad input."""

import pytest
from django.urls import reverse

from apps.notifications.models import (
    AlertKind,
    Message,
    MessageKind,
    MessageTemplate,
    NotificationSettings,
    ReminderRule,
    StaffAlert,
)
from apps.notifications.services import notification_settings_get, staff_alert_raise
from apps.notifications.tests.factories import MessageFactory
from apps.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def settings_data(**overrides):
    data = {"whatsapp_enabled": "on", "quiet_start": "21:00", "quiet_end": "07:30", "closed_days": ["6"],
            "confirm_keywords": "1, si", "cancel_keywords": "2, no", "callback_keywords": "3, llamar",
            "no_response_hours": "3"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_staff_cannot_open_the_settings(staff_client):
    assert staff_client.get(reverse("notification-settings")).status_code == 403


def test_the_settings_page_shows_the_defaults_in_spanish(admin_client, organization):
    html = admin_client.get(reverse("notification-settings")).content.decode()
    assert "Le recordamos su cita" in html
    assert ReminderRule.objects.filter(organization=organization, lead_hours=24).exists()


def test_saving_the_settings(admin_client, organization):
    resp = admin_client.post(reverse("notification-settings"), settings_data())
    assert resp.status_code == 302
    obj = NotificationSettings.objects.get(organization=organization)
    assert (str(obj.quiet_start), obj.closed_days, obj.no_response_hours) == ("21:00:00", [6], 3)


@pytest.mark.parametrize("bad, field", [
    ({"quiet_end": ""}, "quiet_end"),
    ({"confirm_keywords": " , "}, "confirm_keywords"),
    ({"cancel_keywords": "si, 2"}, "cancel_keywords"),
    ({"callback_keywords": "llamar, no"}, "callback_keywords"),
    ({"closed_days": ["9"]}, "closed_days"),
])
def test_bad_settings_name_the_field_and_save_nothing(admin_client, organization, bad, field):
    before = notification_settings_get(organization=organization)
    resp = admin_client.post(reverse("notification-settings"), settings_data(**bad))
    assert resp.status_code == 400
    assert field in resp.context["settings_form"].errors
    after = NotificationSettings.objects.get(organization=organization)
    assert (after.quiet_end, after.confirm_keywords) == (before.quiet_end, before.confirm_keywords)


def test_adding_updating_and_deleting_a_rule(admin_client, organization):
    assert admin_client.post(reverse("reminder-rule-create"), {"lead_hours": 2, "skip_within_hours": 1,
                                                                "is_enabled": "on"}).status_code == 302
    rule = ReminderRule.objects.get(organization=organization, lead_hours=2)
    admin_client.post(reverse("reminder-rule-update", args=[rule.pk]), {"lead_hours": 3, "skip_within_hours": 1})
    rule.refresh_from_db()
    assert (rule.lead_hours, rule.is_enabled) == (3, False)
    admin_client.post(reverse("reminder-rule-delete", args=[rule.pk]))
    assert not ReminderRule.objects.filter(pk=rule.pk).exists()


@pytest.mark.parametrize("data, field", [
    ({"lead_hours": 24, "skip_within_hours": 2}, "lead_hours"),   # already exists
    ({"lead_hours": 2, "skip_within_hours": 5}, "skip_within_hours"),
    ({"lead_hours": 0, "skip_within_hours": 0}, "lead_hours"),
    ({"lead_hours": "x", "skip_within_hours": 0}, "lead_hours"),
])
def test_a_bad_rule_names_the_field_and_is_not_saved(admin_client, organization, data, field):
    notification_settings_get(organization=organization)
    resp = admin_client.post(reverse("reminder-rule-create"), data)
    assert resp.status_code == 400
    assert field in resp.context["rule_form"].errors
    assert ReminderRule.objects.filter(organization=organization).count() == 1


def test_another_clinic_s_rule_is_404(admin_client, other_organization):
    theirs = notification_settings_get(organization=other_organization) and ReminderRule.objects.get(
        organization=other_organization)
    data = {"lead_hours": 5, "skip_within_hours": 1}
    assert admin_client.post(reverse("reminder-rule-update", args=[theirs.pk]), data).status_code == 404
    assert admin_client.post(reverse("reminder-rule-delete", args=[theirs.pk])).status_code == 404
    assert ReminderRule.objects.filter(pk=theirs.pk, lead_hours=24).exists()


def test_a_template_is_saved_and_previewed_live(admin_client, organization):
    url = reverse("message-template-edit", args=["reminder", "es"])
    preview = admin_client.post(reverse("message-template-preview"), {"body": "Hola {patient_first_name}, {clinic}"})
    assert "Hola Ana, Óptica Norte" in preview.content.decode()
    assert admin_client.post(url, {"body": "Hola {patient_first_name}: cita {date} {time}"}).status_code == 302
    assert MessageTemplate.objects.get(organization=organization, kind="reminder", language="es").body.startswith(
        "Hola {patient_first_name}:")
    admin_client.post(url, {"body": "x", "reset": "1"})
    assert not MessageTemplate.objects.filter(organization=organization).exists()


@pytest.mark.parametrize("body", ["Hola {nombre}", "Hola {patient_first_name.__class__}", "Hola {", "Hola {0}"])
def test_a_template_with_an_unknown_variable_is_refused(admin_client, organization, body):
    resp = admin_client.post(reverse("message-template-edit", args=["reminder", "es"]), {"body": body})
    assert resp.status_code == 400
    assert "body" in resp.context["form"].errors
    assert not MessageTemplate.objects.exists()
    preview = admin_client.post(reverse("message-template-preview"), {"body": body}).content.decode()
    assert 'id="preview-error"' in preview


def test_an_unknown_template_kind_or_language_is_404(admin_client):
    assert admin_client.get(reverse("message-template-edit", args=["birthday", "es"])).status_code == 404
    assert admin_client.get(reverse("message-template-edit", args=["reminder", "fr"])).status_code == 404


def test_the_message_log_lists_only_this_clinic_and_filters(staff_client, organization, other_organization):
    failed = MessageFactory(organization=organization, status="failed", error="session is logged_out",
                            kind=MessageKind.REMINDER, appointment_start="2031-03-01T10:00Z")
    MessageFactory(organization=organization, status="read")
    theirs = MessageFactory(organization=other_organization, body="De la otra clínica")
    html = staff_client.get(reverse("message-list")).content.decode()
    assert f'data-message="{failed.pk}"' in html and "session is logged_out" in html
    assert f'data-message="{theirs.pk}"' not in html
    page = staff_client.get(reverse("message-list"), {"status": "failed"}).context["page"]
    assert [m.pk for m in page] == [failed.pk]
    page = staff_client.get(reverse("message-list"), {"kind": "free_text"}).context["page"]
    assert failed.pk not in [m.pk for m in page]


def test_a_bad_filter_is_shown_not_applied(staff_client, organization):
    MessageFactory(organization=organization)
    resp = staff_client.get(reverse("message-list"), {"status": "exploded", "date_from": "yesterday"})
    assert resp.status_code == 200
    assert set(resp.context["form"].errors) == {"status", "date_from"}


def test_the_patient_fragments_are_scoped(staff_client, organization, other_organization):
    mine = MessageFactory(organization=organization, body="Para Juan")
    theirs = MessageFactory(organization=other_organization)
    html = staff_client.get(reverse("patient-messages", args=[mine.patient.pk])).content.decode()
    assert "Para Juan" in html
    assert staff_client.get(reverse("patient-messages", args=[theirs.patient.pk])).status_code == 404
    assert staff_client.get(reverse("patient-whatsapp-send", args=[theirs.patient.pk])).status_code == 404
    assert staff_client.post(reverse("patient-whatsapp-send", args=[theirs.patient.pk]),
                             {"body": "hola"}).status_code == 404
    assert not Message.objects.filter(patient=theirs.patient, kind=MessageKind.FREE_TEXT, body="hola").exists()


def test_staff_send_a_free_text_message_from_the_patient_page(staff_client, staff_user, organization,
                                                              django_capture_on_commit_callbacks):
    patient = PatientFactory(consenting=True, organization=organization)
    with django_capture_on_commit_callbacks() as callbacks:
        resp = staff_client.post(reverse("patient-whatsapp-send", args=[patient.pk]),
                                 {"body": "Sus gafas están listas"})
    assert resp.status_code == 200 and 'id="whatsapp-sent"' in resp.content.decode()
    message = Message.objects.get(kind=MessageKind.FREE_TEXT)
    assert (message.patient, message.sent_by, message.status, message.phone) == (patient, staff_user, "queued",
                                                                                patient.phone)
    assert len(callbacks) == 1  # the send job is enqueued only after the commit


@pytest.mark.parametrize("patient_kwargs, body", [
    ({"whatsapp_opted_out": True}, "Hola"),
    ({"whatsapp_consent": False, "whatsapp_consent_at": None}, "Hola"),
    ({"phone": ""}, "Hola"),
    ({}, "   "),
])
def test_a_manual_send_that_cannot_go_names_the_reason_and_saves_nothing(staff_client, organization, patient_kwargs,
                                                                         body):
    patient = PatientFactory(consenting=True, organization=organization, **patient_kwargs)
    resp = staff_client.post(reverse("patient-whatsapp-send", args=[patient.pk]), {"body": body})
    assert resp.status_code == 400
    assert resp.context["form"].errors
    assert not Message.objects.exists()


def test_open_alerts_are_listed_and_can_be_marked_handled(admin_client, admin_user, organization,
                                                         other_organization):
    mine = staff_alert_raise(organization=organization, kind=AlertKind.REMINDER_FAILED, text="No llegó a Juan")
    theirs = staff_alert_raise(organization=other_organization, kind=AlertKind.REMINDER_FAILED, text="Ajena")
    html = admin_client.get(reverse("notification-settings")).content.decode()
    assert "No llegó a Juan" in html and "Ajena" not in html
    assert admin_client.post(reverse("staff-alert-handle", args=[theirs.pk])).status_code == 404
    admin_client.post(reverse("staff-alert-handle", args=[mine.pk]), {"next": "https://evil.example/"})
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.handled_by, theirs.handled_at) == (admin_user, None)
    assert not StaffAlert.objects.filter(organization=organization, handled_at__isnull=True).exists()


def test_the_send_box_explains_why_a_patient_cannot_be_written_to(staff_client, organization):
    patient = PatientFactory(consenting=True, organization=organization, whatsapp_opted_out=True)
    html = staff_client.get(reverse("patient-whatsapp-send", args=[patient.pk])).content.decode()
    assert 'id="whatsapp-send-blocked"' in html and "<form" not in html
    ready = PatientFactory(consenting=True, organization=organization)
    html = staff_client.get(reverse("patient-whatsapp-send", args=[ready.pk])).content.decode()
    assert "<form" in html


@pytest.mark.parametrize("body", ["Hola {patient_name:>999999999999}", "Hola {patient_name!a}",
                                  "Hola {clinic[0]}"])
def test_a_template_with_a_format_spec_is_refused(admin_client, body):
    response = admin_client.post(reverse("message-template-edit", args=["reminder", "es"]), {"body": body})
    preview = admin_client.post(reverse("message-template-preview"), {"body": body}).content.decode()

    assert response.status_code == 400 and "body" in response.context["form"].errors
    assert not MessageTemplate.objects.exists()
    assert 'id="preview-error"' in preview


def test_a_bad_template_stored_before_the_rule_still_opens_its_edit_page(admin_client, organization):
    MessageTemplate.objects.create(organization=organization, kind="reminder", language="es",
                                   body="Hola {patient_name:>999999999999}")

    response = admin_client.get(reverse("message-template-edit", args=["reminder", "es"]))

    assert response.status_code == 200
    assert len(response.content) < 200_000
