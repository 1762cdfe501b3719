"""Recalls: found from the rules, once per period, worked by staff, sent with a book button, closed by a booking."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from apps.appointments.models import AppointmentStatus, EventSource
from apps.appointments.services import appointment_book, appointment_status_change
from apps.appointments.tests.factories import AppointmentTypeFactory, ProviderFactory
from apps.common.exceptions import ApplicationError
from apps.inbox.selectors import conversation_list
from apps.notifications.models import Message, MessageKind, NotificationSettings
from apps.notifications.replies import inbound_receive
from apps.notifications.services import notification_settings_get
from apps.orders.models import OrderStatus
from apps.orders.services import order_create, order_status_change
from apps.patients.models import PrescriptionKind
from apps.patients.tests.factories import PatientFactory, PrescriptionFactory
from apps.recalls.models import Recall, RecallKind, RecallRule, RecallStatus
from apps.recalls.selectors import recall_conversion
from apps.recalls.services import (
    add_months,
    recall_rule_update,
    recall_rules_get,
    recall_send_whatsapp,
    recall_status_set,
    recalls_generate,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(organization):
    return ProviderFactory(organization=organization)


@pytest.fixture
def exam(organization):
    return AppointmentTypeFactory(organization=organization, name="Examen visual")


@pytest.fixture
def patient(organization):
    return PatientFactory(consenting=True, organization=organization, first_name="Lucía", phone="+573005550104")


@pytest.fixture
def examined(organization, provider, exam):
    """A patient whose exam `days_ago` was completed."""

    def examine(patient, *, days_ago: int):
        start = timezone.now() - dt.timedelta(days=days_ago)
        visit = appointment_book(organization=organization, patient=patient, provider=provider,
                                 appointment_type=exam, start=start, override=True)
        for status in (AppointmentStatus.ARRIVED, AppointmentStatus.COMPLETED):
            appointment_status_change(appointment=visit, to_status=status, source=EventSource.UI)
        return visit

    return examine


@pytest.fixture
def any_hour(organization):
    notification_settings_get(organization=organization)
    NotificationSettings.objects.filter(organization=organization).update(quiet_start=None, quiet_end=None,
                                                                          closed_days=[])


def test_months_are_added_on_the_calendar():
    assert add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2025, 11, 15), 12) == dt.date(2026, 11, 15)


def test_each_clinic_starts_with_an_annual_exam_and_a_contact_lens_rule(organization):
    rules = {rule.kind: rule.months for rule in recall_rules_get(organization=organization)}

    assert rules == {RecallKind.ANNUAL_EXAM: 12, RecallKind.CONTACT_LENS_RENEWAL: 6}


def test_an_exam_a_year_ago_makes_an_annual_recall(organization, patient, examined):
    visit = examined(patient, days_ago=370)

    assert recalls_generate(organization=organization) == 1

    recall = Recall.objects.get()
    assert recall.patient == patient and recall.rule.kind == RecallKind.ANNUAL_EXAM
    assert recall.anchor_date == visit.start.astimezone(organization.zone).date()
    assert recall.due_on == add_months(recall.anchor_date, 12)
    assert recall.status == RecallStatus.DUE


def test_a_recent_exam_or_a_booking_ahead_makes_none(organization, patient, examined, provider, exam):
    examined(patient, days_ago=100)
    coming = PatientFactory(consenting=True, organization=organization)
    examined(coming, days_ago=400)
    appointment_book(organization=organization, patient=coming, provider=provider, appointment_type=exam,
                     start=timezone.now() + dt.timedelta(days=5), override=True)

    assert recalls_generate(organization=organization) == 0


def test_running_again_creates_nothing_new(organization, patient, examined):
    examined(patient, days_ago=370)
    recalls_generate(organization=organization)

    assert recalls_generate(organization=organization) == 0
    assert Recall.objects.count() == 1


def test_the_database_holds_one_recall_per_patient_per_rule_period(organization, patient, examined):
    examined(patient, days_ago=370)
    recalls_generate(organization=organization)
    recall = Recall.objects.get()

    with pytest.raises(IntegrityError), transaction.atomic():
        Recall.objects.create(organization=organization, patient=patient, rule=recall.rule,
                              anchor_date=recall.anchor_date + dt.timedelta(days=30),
                              due_on=recall.due_on + dt.timedelta(days=30))
    # The next period is another matter.
    Recall.objects.create(organization=organization, patient=patient, rule=recall.rule,
                          anchor_date=recall.due_on, due_on=add_months(recall.due_on, 12))


def test_a_contact_lens_order_makes_a_renewal_recall_after_the_clinics_months(organization, patient):
    rule = next(r for r in recall_rules_get(organization=organization) if r.kind == RecallKind.CONTACT_LENS_RENEWAL)
    recall_rule_update(rule=rule, data={"months": 3})
    rx = PrescriptionFactory(final=True, patient=patient, kind=PrescriptionKind.CONTACT_LENS)
    order = order_create(organization=organization, prescription=rx)
    type(order).objects.filter(pk=order.pk).update(created_at=timezone.now() - dt.timedelta(days=95))

    assert recalls_generate(organization=organization) == 1
    recall = Recall.objects.get()
    assert recall.rule.kind == RecallKind.CONTACT_LENS_RENEWAL
    assert recall.due_on == add_months(recall.anchor_date, 3)


def test_a_cancelled_contact_lens_order_or_a_disabled_rule_makes_none(organization, patient, examined):
    rx = PrescriptionFactory(final=True, patient=patient, kind=PrescriptionKind.CONTACT_LENS)
    order = order_create(organization=organization, prescription=rx)
    order_status_change(order=order, to_status=OrderStatus.CANCELLED)
    type(order).objects.filter(pk=order.pk).update(created_at=timezone.now() - dt.timedelta(days=400))
    examined(patient, days_ago=400)
    annual = next(r for r in recall_rules_get(organization=organization) if r.kind == RecallKind.ANNUAL_EXAM)
    recall_rule_update(rule=annual, data={"is_enabled": False})

    assert recalls_generate(organization=organization) == 0


def test_bad_rule_months_are_refused(organization):
    rule = recall_rules_get(organization=organization)[0]

    with pytest.raises(ApplicationError) as refused:
        recall_rule_update(rule=rule, data={"months": 0})

    assert refused.value.field == "months"


def test_staff_work_the_list(organization, patient, examined, staff_user):
    examined(patient, days_ago=370)
    recalls_generate(organization=organization)
    recall = Recall.objects.get()

    recall_status_set(recall=recall, status=RecallStatus.CONTACTED, actor=staff_user)
    recall_status_set(recall=recall, status=RecallStatus.DECLINED, actor=staff_user)

    recall.refresh_from_db()
    assert (recall.status, recall.handled_by) == (RecallStatus.DECLINED, staff_user)
    assert recall.contacted_at and recall.closed_at
    with pytest.raises(ApplicationError) as refused:
        recall_status_set(recall=recall, status=RecallStatus.CONTACTED)
    assert refused.value.field == "status"


def test_booking_an_exam_closes_the_recall(organization, patient, examined, provider, exam,
                                            django_capture_on_commit_callbacks):
    examined(patient, days_ago=370)
    recalls_generate(organization=organization)

    with django_capture_on_commit_callbacks(execute=True):
        booking = appointment_book(organization=organization, patient=patient, provider=provider,
                                   appointment_type=exam, start=timezone.now() + dt.timedelta(days=3), override=True)

    recall = Recall.objects.get()
    assert (recall.status, recall.appointment) == (RecallStatus.BOOKED, booking)


def test_the_recall_message_has_a_book_button_and_the_press_lands_in_the_inbox(organization, patient, examined,
                                                                                any_hour):
    examined(patient, days_ago=370)
    recalls_generate(organization=organization)
    recall = recall_send_whatsapp(recall=Recall.objects.get())

    message = Message.objects.get(kind=MessageKind.RECALL)
    assert recall.status == RecallStatus.CONTACTED and recall.message == message
    assert message.body.startswith("Hola Lucía, ya es momento de tu control")
    assert message.buttons == [{"id": f"book:{recall.pk}", "title": "Agendar cita"}]

    inbound_receive(organization=organization, bridge_message_id="wamid.book1", phone=patient.phone,
                    text="Agendar cita", button_id=f"book:{recall.pk}")

    recall.refresh_from_db()
    assert recall.booking_requested_at is not None
    [conversation] = conversation_list(organization=organization, filter="all")
    assert conversation.patient == patient


def test_the_recall_message_is_sent_once_and_never_without_consent(organization, patient, examined, any_hour):
    examined(patient, days_ago=370)
    recalls_generate(organization=organization)
    recall = recall_send_whatsapp(recall=Recall.objects.get())

    with pytest.raises(ApplicationError) as again:
        recall_send_whatsapp(recall=recall)
    silent = PatientFactory(organization=organization)
    examined(silent, days_ago=380)
    recalls_generate(organization=organization)
    with pytest.raises(ApplicationError) as no_consent:
        recall_send_whatsapp(recall=Recall.objects.get(patient=silent))

    assert (again.value.field, no_consent.value.field) == ("message", "patient")
    assert Message.objects.filter(kind=MessageKind.RECALL).count() == 1


def test_conversion_counts_booked_recalls(organization, patient, examined):
    examined(patient, days_ago=370)
    other = PatientFactory(consenting=True, organization=organization)
    examined(other, days_ago=380)
    recalls_generate(organization=organization)
    first, second = Recall.objects.order_by("pk")
    recall_status_set(recall=first, status=RecallStatus.BOOKED)
    recall_status_set(recall=second, status=RecallStatus.CONTACTED)

    now = timezone.now()
    figures = recall_conversion(organization=organization, start=now - dt.timedelta(days=1),
                                end=now + dt.timedelta(days=1))

    assert figures == {"total": 2, "contacted": 1, "booked": 1, "declined": 0, "rate": 50.0}


# --- pages and API ----------------------------------------------------------------------------


def test_the_recall_list_page_works_a_recall(staff_client, organization, patient, examined):
    examined(patient, days_ago=370)
    staff_client.post(reverse("recall-generate"))
    recall = Recall.objects.get()

    page = staff_client.get(reverse("recall-list")).content.decode()
    staff_client.post(reverse("recall-status", args=[recall.pk]), {"status": "declined"})

    assert f'data-recall-id="{recall.pk}"' in page
    assert Recall.objects.get().status == RecallStatus.DECLINED


def test_managers_change_the_rules(client, admin_user, staff_user, organization):
    rule = recall_rules_get(organization=organization)[0]
    client.force_login(staff_user)
    assert client.post(reverse("recall-rule-edit", args=[rule.pk]), {f"rule-{rule.pk}-months": 9}).status_code == 403
    client.force_login(admin_user)
    client.post(reverse("recall-rule-edit", args=[rule.pk]),
                {f"rule-{rule.pk}-months": 9, f"rule-{rule.pk}-is_enabled": "on"})

    assert RecallRule.objects.get(pk=rule.pk).months == 9


def test_the_api_lists_and_moves_recalls(staff_api, organization, patient, examined, any_hour):
    examined(patient, days_ago=370)
    recalls_generate(organization=organization)
    recall = Recall.objects.get()

    listed = staff_api.get("/api/recalls/", {"status": "due"}).json()
    sent = staff_api.post(f"/api/recalls/{recall.pk}/send/")
    booked = staff_api.patch(f"/api/recalls/{recall.pk}/", {"status": "booked"}, format="json")
    illegal = staff_api.patch(f"/api/recalls/{recall.pk}/", {"status": "due"}, format="json")

    assert [r["id"] for r in listed["results"]] == [recall.pk]
    assert sent.status_code == 200 and sent.json()["status"] == "contacted" and sent.json()["message"]
    assert booked.json()["status"] == "booked"
    assert illegal.status_code == 400 and "status" in illegal.json()["fields"]


def test_another_clinics_recalls_answer_404(client, other_user, other_organization, organization, patient,
                                            examined):
    from conftest import api_client_for

    examined(patient, days_ago=370)
    recalls_generate(organization=organization)
    recall = Recall.objects.get()
    rule = recall.rule
    other_api = api_client_for(other_user, other_organization)
    client.force_login(other_user)

    assert other_api.get(f"/api/recalls/{recall.pk}/").status_code == 404
    assert other_api.patch(f"/api/recalls/{recall.pk}/", {"status": "declined"}, format="json").status_code == 404
    assert other_api.post(f"/api/recalls/{recall.pk}/send/").status_code == 404
    assert other_api.get("/api/recalls/").json()["count"] == 0
    assert client.post(reverse("recall-status", args=[recall.pk]), {"status": "declined"}).status_code == 404
    assert client.post(reverse("recall-send", args=[recall.pk])).status_code == 404
    assert f'data-recall-id="{recall.pk}"' not in client.get(reverse("recall-list")).content.decode()
    assert Recall.objects.get().status == RecallStatus.DUE and not Message.objects.exists()
    assert rule.organization == organization


def test_another_clinics_rules_and_shop_settings_are_its_own(client, other_user, organization, other_organization):
    from apps.orders.services import shop_settings_get, shop_settings_update

    rule = recall_rules_get(organization=organization)[0]
    shop_settings_update(organization=organization, data={"opening_hours": "solo sábados"})
    client.force_login(other_user)

    assert client.post(reverse("recall-rule-edit", args=[rule.pk]), {f"rule-{rule.pk}-months": 2}).status_code == 404
    assert RecallRule.objects.get(pk=rule.pk).months == 12
    page = client.get(reverse("shop-settings")).content.decode()
    assert "solo sábados" not in page
    assert shop_settings_get(organization=other_organization).opening_hours != "solo sábados"
