import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.appointments.models import Appointment, AppointmentStatus, Provider
from apps.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _generate(organization, **options):
    out = io.StringIO()
    call_command("generate_appointments", organization=organization.slug, stdout=out, **options)
    return out.getvalue()


def test_generates_a_period_of_non_overlapping_appointments_for_the_clinics_patients(organization,
                                                                                      other_organization):
    patients = PatientFactory.create_batch(20, organization=organization)
    PatientFactory(organization=other_organization)

    output = _generate(organization, providers=3, days=28)

    appointments = Appointment.objects.filter(organization=organization)
    assert "Created" in output
    assert Provider.objects.filter(organization=organization).count() == 3
    assert appointments.count() > 3 * 20 * 5  # 3 providers, 4 weeks of 6 days, several visits a day
    assert set(appointments.values_list("patient_id", flat=True)) <= {p.pk for p in patients}
    now = timezone.now()
    past_statuses = set(appointments.filter(end__lt=now).values_list("status", flat=True))
    assert AppointmentStatus.COMPLETED in past_statuses
    assert set(appointments.filter(start__gt=now).values_list("status", flat=True)) == {"scheduled"}
    assert not Appointment.objects.filter(organization=other_organization).exists()


def test_running_it_again_only_fills_what_is_still_free(organization):
    PatientFactory.create_batch(5, organization=organization)
    _generate(organization, providers=1, days=7, occupancy=0.5)
    first = Appointment.objects.count()

    _generate(organization, providers=1, days=7, occupancy=1.0, seed=3)

    assert Appointment.objects.count() >= first


def test_an_unknown_organization_or_one_without_patients_is_an_error(organization):
    with pytest.raises(CommandError):
        call_command("generate_appointments", organization="no-such-clinic")
    with pytest.raises(CommandError):
        _generate(organization)
