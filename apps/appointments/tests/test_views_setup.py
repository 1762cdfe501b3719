"""Administrators set up providers, their week, time off and the visit types."""

import datetime as dt

import pytest
from django.urls import reverse

from apps.appointments.models import AppointmentType, Provider, TimeOff
from apps.appointments.tests.conftest import bogota
from apps.appointments.tests.factories import AppointmentTypeFactory, TimeOffFactory

pytestmark = pytest.mark.django_db


def test_only_administrators_reach_the_setup(staff_client, provider):
    assert staff_client.get(reverse("schedule-setup")).status_code == 403
    assert staff_client.get(reverse("provider-edit", args=[provider.pk])).status_code == 403


def test_adding_a_provider_for_a_member(admin_client, optometrist):
    response = admin_client.post(reverse("schedule-setup"), {
        "provider-display_name": "Dra. Nueva", "provider-user": optometrist.pk, "provider-color": "#123456",
        "provider-is_active": "on",
    })

    provider = Provider.objects.get()
    assert response.status_code == 302
    assert (provider.display_name, provider.user, provider.color) == ("Dra. Nueva", optometrist, "#123456")


def test_a_user_of_another_clinic_cannot_become_a_provider(admin_client, other_user):
    response = admin_client.post(reverse("schedule-setup"), {"provider-display_name": "X",
                                                             "provider-user": other_user.pk})

    assert response.status_code == 400
    assert not Provider.objects.exists()


def test_setting_the_week_with_split_days(admin_client, provider):
    response = admin_client.post(reverse("provider-edit", args=[provider.pk]), {
        "provider-display_name": provider.display_name, "provider-color": provider.color, "provider-is_active": "on",
        "hours-day_0": "08:00-12:00, 14:00-18:00", "hours-day_5": "09:00-13:00",
    })

    assert response.status_code == 302
    assert sorted((b.weekday, b.start_time, b.end_time) for b in provider.working_hours.all()) == [
        (0, dt.time(8), dt.time(12)), (0, dt.time(14), dt.time(18)), (5, dt.time(9), dt.time(13))]
    page = admin_client.get(reverse("provider-edit", args=[provider.pk])).content.decode()
    assert 'value="08:00-12:00, 14:00-18:00"' in page


@pytest.mark.parametrize("text", ["8 to 12", "12:00-08:00", "08:00-12:00, 11:00-13:00"])
def test_bad_working_hours_are_refused_and_nothing_changes(admin_client, provider, text):
    response = admin_client.post(reverse("provider-edit", args=[provider.pk]), {
        "provider-display_name": provider.display_name, "provider-color": provider.color, "hours-day_0": text,
    })

    assert response.status_code == 400
    assert provider.working_hours.count() == 6


def test_time_off_is_added_in_clinic_time_and_removed(admin_client, provider):
    admin_client.post(reverse("provider-time-off-add", args=[provider.pk]), {
        "start_date": "2031-03-03", "start_time": "08:00", "end_date": "2031-03-07", "end_time": "18:00",
        "reason": "Congreso",
    })
    off = TimeOff.objects.get()
    assert (off.start, off.end, off.organization) == (bogota(2031, 3, 3, 8), bogota(2031, 3, 7, 18),
                                                      provider.organization)

    admin_client.post(reverse("provider-time-off-delete", args=[provider.pk, off.pk]))
    assert not TimeOff.objects.exists()


def test_rotating_the_feed_token_revokes_the_old_link(admin_client, client, provider):
    old = provider.feed_token

    admin_client.post(reverse("provider-feed-rotate", args=[provider.pk]))

    provider.refresh_from_db()
    assert provider.feed_token != old
    assert client.get(reverse("provider-feed", args=[old])).status_code == 404


def test_adding_and_editing_types(admin_client, organization, exam):
    admin_client.post(reverse("schedule-setup"), {"type-name": "Control", "type-duration_minutes": 20,
                                                  "type-color": "#fd7e14", "type-is_active": "on"})
    duplicate = admin_client.post(reverse("appointment-type-edit", args=[exam.pk]),
                                  {"name": "control", "duration_minutes": 30, "color": "#000000"})
    admin_client.post(reverse("appointment-type-edit", args=[exam.pk]),
                      {"name": "Examen completo", "duration_minutes": 40, "color": "#000000"})

    assert duplicate.status_code == 400
    exam.refresh_from_db()
    assert (exam.name, exam.duration_minutes, exam.is_active) == ("Examen completo", 40, False)
    assert AppointmentType.objects.filter(organization=organization, name="Control", duration_minutes=20).exists()


def test_setup_pages_answer_404_for_another_clinics_rows(admin_client, other_provider, other_organization):
    theirs_off = TimeOffFactory(provider=other_provider, start=bogota(2031, 3, 3, 8), end=bogota(2031, 3, 3, 9))
    theirs_type = AppointmentTypeFactory(organization=other_organization)

    assert admin_client.get(reverse("provider-edit", args=[other_provider.pk])).status_code == 404
    assert admin_client.post(reverse("provider-time-off-add", args=[other_provider.pk])).status_code == 404
    assert admin_client.post(reverse("provider-time-off-delete",
                                     args=[other_provider.pk, theirs_off.pk])).status_code == 404
    assert admin_client.post(reverse("provider-feed-rotate", args=[other_provider.pk])).status_code == 404
    assert admin_client.get(reverse("appointment-type-edit", args=[theirs_type.pk])).status_code == 404
    assert other_provider.display_name not in admin_client.get(reverse("schedule-setup")).content.decode()
    assert TimeOff.objects.filter(pk=theirs_off.pk).exists()


def test_the_clinic_sets_its_late_cancellation_threshold_and_slot(client, staff_user, admin_user, organization):
    from apps.appointments.selectors import scheduling_settings_get

    client.force_login(staff_user)
    assert client.post(reverse("scheduling-settings"), {"late_cancel_hours": 2, "slot_minutes": 30}).status_code == 403
    client.force_login(admin_user)
    admin_client = client
    admin_client.post(reverse("scheduling-settings"), {"late_cancel_hours": 48, "slot_minutes": 30})
    admin_client.post(reverse("scheduling-settings"), {"late_cancel_hours": -1, "slot_minutes": 30})

    current = scheduling_settings_get(organization=organization)
    assert (current.late_cancel_hours, current.slot_minutes) == (48, 30)
