import pytest
from django.core.management import call_command

from apps.appointments.models import Appointment, AppointmentType, Provider, WorkingHours

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_the_demo_optometrists_a_schedule_and_is_idempotent():
    call_command("seed_demo")
    counts = (Provider.objects.count(), WorkingHours.objects.count(), AppointmentType.objects.count(),
              Appointment.objects.count())

    call_command("seed_demo")

    assert counts[:3] == (2, 12, 4)
    assert set(AppointmentType.objects.values_list("name", "duration_minutes")) == {
        ("Examen visual", 30), ("Adaptación de lentes de contacto", 45), ("Entrega de gafas", 15), ("Control", 20)}
    assert set(Provider.objects.values_list("user__email", flat=True)) == {"optometra@opticaapp.local",
                                                                           "optometra2@opticaapp.local"}
    assert (Provider.objects.count(), WorkingHours.objects.count(), AppointmentType.objects.count(),
            Appointment.objects.count()) == counts
