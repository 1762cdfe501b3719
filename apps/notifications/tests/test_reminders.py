"""Planning on booking, moving and cancelling; the dispatcher's re-checks; the ledger."""

import datetime as dt

import pytest
from django.db import IntegrityError
from procrastinate.contrib.django.models import ProcrastinateJob

from apps.appointments.models import EventSource
from apps.appointments.services import appointment_cancel, appointment_move
from apps.notifications.models import Message, MessageKind, ReminderRule, ReminderStatus
from apps.notifications.reminders import reminder_dispatch, reminders_dispatch_due, reminders_plan_for_appointment
from apps.notifications.replies import inbound_receive
from apps.notifications.services import notification_settings_get, notification_settings_update
from apps.notifications.tests.conftest import BOGOTA

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2031, 3, 1, 9, 0, tzinfo=BOGOTA)  # a Saturday
TUESDAY_10 = dt.datetime(2031, 3, 4, 10, 0, tzinfo=BOGOTA)


@pytest.fixture(autouse=True)
def open_every_day(organization):
    notification_settings_update(organization=organization, data={"closed_days": [], "quiet_start": None,
                                                                  "quiet_end": None})


def plan(appointment, now=NOW):
    return reminders_plan_for_appointment(appointment_id=appointment.pk, now=now)


def test_a_clinic_starts_with_a_24_hour_rule(organization):
    assert [(r.lead_hours, r.skip_within_hours) for r in ReminderRule.objects.filter(organization=organization)] == [
        (24, 2)]


def test_booking_defers_the_planning_job_after_commit(book, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(TUESDAY_10)
    assert ProcrastinateJob.objects.filter(task_name="notifications.plan_reminders",
                                           args={"appointment_id": appointment.pk}, status="todo").exists()


def test_a_booked_appointment_gets_a_reminder_at_the_lead_time(book):
    appointment = book(TUESDAY_10)
    [reminder] = plan(appointment)
    assert reminder.status == ReminderStatus.PENDING
    assert reminder.due_at == TUESDAY_10 - dt.timedelta(hours=24)


def test_planning_twice_plans_once(book):
    appointment = book(TUESDAY_10)
    plan(appointment)
    assert plan(appointment) == []
    assert appointment.reminders.count() == 1


def test_a_moved_appointment_gets_a_new_reminder_and_the_old_one_is_not_sent(book, django_capture_on_commit_callbacks):
    appointment = book(TUESDAY_10)
    [old] = plan(appointment)
    with django_capture_on_commit_callbacks(execute=True):
        appointment_move(appointment=appointment, start=TUESDAY_10 + dt.timedelta(days=1), source=EventSource.UI)
    old.refresh_from_db()
    assert old.status == ReminderStatus.CANCELLED
    [new] = plan(appointment)
    assert new.due_at == TUESDAY_10  # 24 h before Wednesday 10:00

    assert reminders_dispatch_due(now=old.due_at) == 0
    assert not Message.objects.filter(kind=MessageKind.REMINDER).exists()
    assert reminders_dispatch_due(now=new.due_at) == 1
    message = Message.objects.get(kind=MessageKind.REMINDER)
    assert message.appointment_start == appointment.start


def test_a_stale_reminder_for_the_old_time_is_skipped_by_the_dispatcher(book):
    appointment = book(TUESDAY_10)
    [old] = plan(appointment)
    # Moved without the signal reaching us (say, the web process died right after commit).
    appointment_move(appointment=appointment, start=TUESDAY_10 + dt.timedelta(hours=3), source=EventSource.UI)
    assert reminder_dispatch(reminder_id=old.pk, now=old.due_at) is None
    old.refresh_from_db()
    assert (old.status, old.reason) == (ReminderStatus.SKIPPED, "appointment_moved")


def test_a_cancelled_appointment_gets_no_reminder(book, django_capture_on_commit_callbacks):
    appointment = book(TUESDAY_10)
    [reminder] = plan(appointment)
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment=appointment, source=EventSource.UI)
    assert plan(appointment) == []
    assert reminders_dispatch_due(now=reminder.due_at) == 0
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.CANCELLED
    assert not Message.objects.exists()


def test_a_short_notice_booking_gets_no_reminder(book):
    appointment = book(TUESDAY_10)
    [reminder] = plan(appointment, now=TUESDAY_10 - dt.timedelta(minutes=90))
    assert (reminder.status, reminder.reason) == (ReminderStatus.SKIPPED, "short_notice")


def test_a_booking_inside_the_lead_time_is_reminded_at_once(book):
    appointment = book(TUESDAY_10)
    now = TUESDAY_10 - dt.timedelta(hours=5)
    [reminder] = plan(appointment, now=now)
    assert (reminder.status, reminder.due_at) == (ReminderStatus.PENDING, now)


def test_quiet_hours_move_the_reminder_to_the_next_allowed_time(organization, book):
    notification_settings_update(organization=organization, data={"quiet_start": dt.time(20), "quiet_end": dt.time(8)})
    appointment = book(dt.datetime(2031, 3, 4, 7, 30, tzinfo=BOGOTA))
    [reminder] = plan(appointment)
    # 24 h before is Monday 07:30, inside the quiet hours: it goes at 08:00 that Monday.
    assert reminder.due_at == dt.datetime(2031, 3, 3, 8, 0, tzinfo=BOGOTA)


def test_a_closed_day_moves_the_reminder_and_drops_it_when_no_time_is_left(organization, book):
    notification_settings_update(organization=organization, data={"closed_days": [0]})  # closed on Mondays
    appointment = book(TUESDAY_10)
    [reminder] = plan(appointment)
    assert reminder.due_at == dt.datetime(2031, 3, 4, 0, 0, tzinfo=BOGOTA)

    notification_settings_update(organization=organization, data={"closed_days": [0, 1]})
    other = book(TUESDAY_10 + dt.timedelta(hours=2))
    [dropped] = plan(other)
    assert (dropped.status, dropped.reason) == (ReminderStatus.SKIPPED, "no_allowed_time_before_start")


def test_dispatching_the_same_reminder_twice_writes_one_message(book):
    appointment = book(TUESDAY_10)
    [reminder] = plan(appointment)
    assert reminder_dispatch(reminder_id=reminder.pk, now=reminder.due_at) is not None
    assert reminder_dispatch(reminder_id=reminder.pk, now=reminder.due_at) is None
    assert reminders_dispatch_due(now=reminder.due_at) == 0
    assert Message.objects.filter(kind=MessageKind.REMINDER).count() == 1


def test_the_ledger_refuses_a_second_reminder_for_the_same_appointment_rule_and_start(book):
    appointment = book(TUESDAY_10)
    [reminder] = plan(appointment)
    message = reminder_dispatch(reminder_id=reminder.pk, now=reminder.due_at)
    with pytest.raises(IntegrityError):
        Message.objects.create(organization=message.organization, patient=message.patient, appointment=appointment,
                               rule=message.rule, appointment_start=appointment.start, direction="out",
                               kind=MessageKind.REMINDER, phone=message.phone, body="again")


def test_a_reminder_is_written_in_spanish_with_the_clinic_s_details_and_buttons(book, organization):
    appointment = book(TUESDAY_10)
    [reminder] = plan(appointment)
    message = reminder_dispatch(reminder_id=reminder.pk, now=reminder.due_at)
    assert message.body.startswith("Hola, Juan. Le recordamos su cita en Óptica Norte el martes 4 de marzo a las 10:00")
    assert "Dra. Ana Ruiz" in message.body
    assert [b["id"] for b in message.buttons] == [f"confirm:{appointment.pk}", f"cancel:{appointment.pk}",
                                                  f"callback:{appointment.pk}"]
    assert [b["title"] for b in message.buttons] == ["Confirmar", "Cancelar cita", "Llámenme"]
    assert message.status == "queued"


def test_stop_then_reminder_is_not_sent(organization, patient, book):
    appointment = book(TUESDAY_10)
    [reminder] = plan(appointment)
    inbound_receive(organization=organization, bridge_message_id="w1", phone=patient.phone, text="STOP")
    patient.refresh_from_db()
    assert patient.whatsapp_opted_out
    assert reminders_dispatch_due(now=reminder.due_at) == 0
    reminder.refresh_from_db()
    assert (reminder.status, reminder.reason) == (ReminderStatus.SKIPPED, "patient_cannot_receive_whatsapp")
    assert not Message.objects.filter(kind=MessageKind.REMINDER).exists()


def test_whatsapp_turned_off_sends_no_reminder(organization, book):
    appointment = book(TUESDAY_10)
    [reminder] = plan(appointment)
    notification_settings_update(organization=organization, data={"whatsapp_enabled": False})
    assert reminders_dispatch_due(now=reminder.due_at) == 0
    assert notification_settings_get(organization=organization).whatsapp_enabled is False


def test_the_dispatcher_only_touches_due_reminders(book):
    appointment = book(TUESDAY_10)
    [reminder] = plan(appointment)
    assert reminders_dispatch_due(now=reminder.due_at - dt.timedelta(seconds=1)) == 0
    reminder.refresh_from_db()
    assert reminder.status == ReminderStatus.PENDING


def test_a_new_rule_and_new_quiet_hours_apply_to_bookings_already_made(organization, book,
                                                                       django_capture_on_commit_callbacks):
    from apps.notifications.reminders import reminders_replan_organization
    from apps.notifications.services import reminder_rule_create

    appointment = book(dt.datetime(2031, 3, 4, 7, 30, tzinfo=BOGOTA))
    [daily] = plan(appointment)
    with django_capture_on_commit_callbacks(execute=True):
        reminder_rule_create(organization=organization, lead_hours=2, skip_within_hours=1)
        notification_settings_update(organization=organization, data={"quiet_start": dt.time(20),
                                                                      "quiet_end": dt.time(6)})
    assert ProcrastinateJob.objects.filter(task_name="notifications.replan_organization", status="todo",
                                           args={"organization_id": organization.pk}).count() == 1

    reminders_replan_organization(organization_id=organization.pk, now=NOW)
    pending = {r.rule.lead_hours: r.due_at for r in appointment.reminders.filter(status=ReminderStatus.PENDING)}
    # 24 h before is Monday 07:30 (allowed now); 2 h before is 05:30, quiet until 06:00.
    assert pending == {24: dt.datetime(2031, 3, 3, 7, 30, tzinfo=BOGOTA),
                       2: dt.datetime(2031, 3, 4, 6, 0, tzinfo=BOGOTA)}
    daily.refresh_from_db()
    assert daily.status == ReminderStatus.PENDING  # the same plan row, recomputed


def test_one_dispatcher_run_drains_a_backlog_larger_than_a_batch(book, monkeypatch):
    from apps.notifications import reminders

    monkeypatch.setattr(reminders, "DISPATCH_BATCH", 3)
    appointments = [book(TUESDAY_10 + dt.timedelta(minutes=30 * i)) for i in range(7)]
    for appointment in appointments:
        plan(appointment)

    handed = reminders_dispatch_due(now=TUESDAY_10 - dt.timedelta(hours=1))

    assert handed == 7
    assert Message.objects.filter(kind=MessageKind.REMINDER).count() == 7


def test_a_dispatcher_out_of_time_leaves_the_rest_for_the_next_tick(book, monkeypatch):
    from apps.notifications import reminders

    monkeypatch.setattr(reminders, "DISPATCH_BATCH", 2)
    for i in range(5):
        plan(book(TUESDAY_10 + dt.timedelta(minutes=30 * i)))
    due = TUESDAY_10 - dt.timedelta(hours=1)

    first = reminders_dispatch_due(now=due, budget_seconds=0)
    rest = reminders_dispatch_due(now=due)

    assert (first, rest) == (2, 3)


def test_a_batch_of_due_reminders_is_dispatched_with_the_same_few_queries_whatever_its_size(
        book, django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.inbox.models import Conversation
    from apps.notifications.reminders import reminders_dispatch_batch

    def batch(count, first):
        reminders = [plan(book(TUESDAY_10 + dt.timedelta(minutes=30 * (first + i))))[0] for i in range(count)]
        return [r.pk for r in reminders]

    small, large = batch(2, 0), batch(12, 2)
    due = TUESDAY_10 - dt.timedelta(hours=1)
    with CaptureQueriesContext(connection) as two, django_capture_on_commit_callbacks(execute=True):
        assert reminders_dispatch_batch(reminder_ids=small, now=due) == 2
    with CaptureQueriesContext(connection) as twelve, django_capture_on_commit_callbacks(execute=True):
        assert reminders_dispatch_batch(reminder_ids=large, now=due) == 12

    # Claim, settings, wording, its Meta template mapping, messages, conversations, reminders, jobs (and the
    # savepoint's two).
    assert len(twelve) == len(two) <= 10

    messages = Message.objects.filter(kind=MessageKind.REMINDER)
    assert messages.count() == 14
    # One batch send job per dispatch batch of a clinic, holding its messages.
    jobs = ProcrastinateJob.objects.filter(task_name="notifications.send_messages", status="todo")
    assert jobs.count() == 2
    sent_by_jobs = [pk for batch in jobs.values_list("args__message_ids", flat=True) for pk in batch]
    assert sorted(sent_by_jobs) == sorted(messages.values_list("pk", flat=True))
    assert all(m.body.startswith("Hola, Juan.") and len(m.buttons) == 3 for m in messages)
    conversation = Conversation.objects.get(patient=messages[0].patient)
    assert conversation.last_direction == "out" and conversation.last_body == messages[0].body


def test_a_batch_holding_a_reminder_already_sent_still_sends_the_others_once(book):
    from apps.notifications.reminders import reminders_dispatch_batch

    first, second = (plan(book(TUESDAY_10 + dt.timedelta(minutes=30 * i)))[0] for i in range(2))
    reminder_dispatch(reminder_id=first.pk, now=first.due_at)
    # Its plan row brought back to pending (as a concurrent run might see it): the ledger holds it.
    type(first).objects.filter(pk=first.pk).update(status=ReminderStatus.PENDING, message=None)

    assert reminders_dispatch_batch(reminder_ids=[first.pk, second.pk], now=first.due_at) == 1

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.reason) == (ReminderStatus.SKIPPED, "already_sent")
    assert second.status == ReminderStatus.DISPATCHED and second.message is not None
    assert Message.objects.filter(kind=MessageKind.REMINDER).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_reminder_held_by_a_replan_during_the_run_is_still_sent_by_that_run(book):
    """The replan after a settings change locks plan rows; the dispatcher of that minute comes back to them."""
    import threading

    from django.db import connections, transaction

    from apps.notifications.models import Reminder

    held, free = (plan(book(TUESDAY_10 + dt.timedelta(minutes=30 * i)))[0] for i in range(2))
    locked, release = threading.Event(), threading.Event()

    def replan_holding_the_row():
        try:
            with transaction.atomic():
                Reminder.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(timeout=10)
        finally:
            connections.close_all()

    replan = threading.Thread(target=replan_holding_the_row)
    replan.start()
    assert locked.wait(timeout=10)
    threading.Timer(1.0, release.set).start()

    handed = reminders_dispatch_due(now=TUESDAY_10 - dt.timedelta(hours=1))
    replan.join()

    assert handed == 2
    assert set(Reminder.objects.filter(pk__in=[held.pk, free.pk]).values_list("status", flat=True)) == {
        ReminderStatus.DISPATCHED}
    assert Message.objects.filter(kind=MessageKind.REMINDER).count() == 2


def test_a_batch_words_every_reminder_as_it_is_worded_alone_byte_for_byte(organization, book, provider,
                                                                          django_capture_on_commit_callbacks):
    """The batch fills the date, the time and the buttons without variables once: each patient still gets
    their own name, language, provider and the clinic's wording, braces and all."""
    from apps.appointments.tests.factories import ProviderFactory
    from apps.notifications.models import MessageTemplate, TemplateKind
    from apps.notifications.outbox import reminder_message_build
    from apps.notifications.reminders import reminders_dispatch_batch
    from apps.patients.tests.factories import PatientFactory

    organization.name, organization.address = "Óptica <Norte> & Cía", "Calle 5 # 10-20"
    organization.save()
    MessageTemplate.objects.create(organization=organization, kind=TemplateKind.REMINDER, language="es",
                                   body="{{Hola}} {patient_name}: {date}, {time} — {provider} en {clinic} "
                                        "({address}). {desconocido} {")
    MessageTemplate.objects.create(organization=organization, kind=TemplateKind.BUTTON_CONFIRM, language="es",
                                   body="Sí, {patient_first_name}, voy")
    MessageTemplate.objects.create(organization=organization, kind=TemplateKind.BUTTON_CANCEL, language="es",
                                   body="{{No}} puedo ir a la cita de mañana")
    others = [ProviderFactory(organization=organization, display_name="Dr. O'Brien \"Tito\"") for _i in range(2)]
    people = [PatientFactory(consenting=True, organization=organization, first_name=first, last_name="Ñúñez",
                             phone=f"+57300123450{i}", preferred_language=language)
              for i, (first, language) in enumerate([("Ana", "es"), ("Bob", "en"), ("Zoë-Élodie Marie", "es"),
                                                      ("Carl", "en")])]
    starts = [TUESDAY_10, TUESDAY_10, TUESDAY_10 + dt.timedelta(hours=26, minutes=5), TUESDAY_10]
    appointments = [book(start, who=who, prov=provider if i % 2 == 0 else others[i // 2])
                    for i, (who, start) in enumerate(zip(people, starts, strict=True))]
    reminders = [plan(a)[0] for a in appointments]
    alone = [reminder_message_build(appointment=a, rule=r.rule) for a, r in zip(appointments, reminders, strict=True)]

    with django_capture_on_commit_callbacks(execute=True):
        assert reminders_dispatch_batch(reminder_ids=[r.pk for r in reminders], now=NOW) == 4

    sent = {m.appointment_id: m for m in Message.objects.filter(kind=MessageKind.REMINDER)}
    for built in alone:
        message = sent[built.appointment.pk]
        assert (message.body, message.buttons, message.template) == (built.body, built.buttons, built.template)
    ana, bob, zoe, carl = (sent[a.pk] for a in appointments)
    assert ana.body == ("{Hola} Ana Ñúñez: martes 4 de marzo, 10:00 — Dra. Ana Ruiz en Óptica <Norte> & Cía "
                        "(Calle 5 # 10-20). {desconocido} {")
    assert zoe.body.startswith("{Hola} Zoë-Élodie Marie Ñúñez: miércoles 5 de marzo, 12:05 — Dra. Ana Ruiz")
    assert [b["title"] for b in ana.buttons] == ["Sí, Ana, voy", "{No} puedo ir a la c", "Llámenme"]
    assert [b["title"] for b in zoe.buttons] == ["Sí, Zoë-Élodie Marie", "{No} puedo ir a la c", "Llámenme"]
    assert bob.body == ("Hello Bob, this is a reminder of your appointment at Óptica <Norte> & Cía on Tuesday, "
                        "March 4 at 10:00 with Dr. O'Brien \"Tito\". Can you confirm you will come?")
    assert carl.body == bob.body.replace("Bob", "Carl")
    assert [b["title"] for b in carl.buttons] == ["Confirm", "Cancel appointment", "Call me"]
    assert [b["id"] for b in carl.buttons] == [f"{action}:{appointments[3].pk}"
                                               for action in ("confirm", "cancel", "callback")]


def test_a_big_clinics_backlog_does_not_hold_another_clinics_reminders_behind_it(
        organization, other_organization, book, provider, exam, monkeypatch, django_capture_on_commit_callbacks):
    """The dispatcher hands over the first clinic's reminders first (they came first), but the worker
    takes the clinics' send batches in turn: each clinic's first batch before any clinic's second."""
    from apps.appointments.tests.factories import AppointmentTypeFactory, ProviderFactory
    from apps.notifications import outbox
    from apps.patients.tests.factories import PatientFactory

    monkeypatch.setattr(outbox, "SEND_BATCH", 2)
    notification_settings_update(organization=other_organization, data={"closed_days": [], "quiet_start": None,
                                                                        "quiet_end": None})
    big = [book(TUESDAY_10 + dt.timedelta(minutes=30 * i),
                who=PatientFactory(consenting=True, organization=organization, phone=f"+5730012345{i:02d}"))
           for i in range(6)]
    other_provider, other_exam = ProviderFactory(organization=other_organization), AppointmentTypeFactory(
        organization=other_organization)
    small = [book(TUESDAY_10 + dt.timedelta(minutes=30 * i), org=other_organization, prov=other_provider,
                  kind=other_exam, who=PatientFactory(consenting=True, organization=other_organization,
                                                      phone=f"+5730054321{i:02d}"))
             for i in range(2)]
    for appointment in big + small:
        plan(appointment)

    with django_capture_on_commit_callbacks(execute=True):
        assert reminders_dispatch_due(now=TUESDAY_10 - dt.timedelta(hours=1)) == 8

    clinic_of = dict(Message.objects.values_list("pk", "organization_id"))
    jobs = ProcrastinateJob.objects.filter(task_name="notifications.send_messages").order_by("-priority", "id")
    order = [{clinic_of[pk] for pk in ids} for ids in jobs.values_list("args__message_ids", flat=True)]
    assert order == [{organization.pk}, {other_organization.pk}, {organization.pk}, {organization.pk}]
