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


def test_seed_demo_books_visits_today_and_tomorrow_for_the_demo_patients(organization):
    from django.utils import timezone

    from apps.accounts.tests.factories import UserFactory
    from apps.appointments.demo import seed_demo_data
    from apps.organizations.models import Role
    from apps.organizations.services import membership_set
    from apps.patients.tests.factories import PatientFactory

    for email in ("optometra@opticaapp.local", "optometra2@opticaapp.local"):
        membership_set(user=UserFactory(email=email), organization=organization, role=Role.OPTOMETRIST)
    PatientFactory.create_batch(8, organization=organization)

    seed_demo_data(organization=organization)
    seed_demo_data(organization=organization)

    today = timezone.now().astimezone(organization.zone).date()
    days = {a.start.astimezone(organization.zone).date() - today for a in Appointment.objects.all()}
    assert Appointment.objects.count() == 6
    assert {d.days for d in days} == {0, 1}
    assert all(a.events.filter(kind="booked", source="system").exists() for a in Appointment.objects.all())
