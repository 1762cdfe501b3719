import datetime as dt

import factory

from apps.appointments.models import Appointment, AppointmentType, Provider, TimeOff, WorkingHours
from apps.organizations.tests.factories import OrganizationFactory
from apps.patients.tests.factories import PatientFactory


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    display_name = factory.Sequence(lambda n: f"Dr. Optómetra {n}")
    color = "#198754"

    @factory.post_generation
    def hours(self, create, extracted, **kwargs):
        """Mon–Sat 08:00–18:00 unless `hours=[(weekday, "HH:MM", "HH:MM"), ...]` (or `hours=[]`) is given."""
        if not create:
            return
        blocks = extracted if extracted is not None else [(day, "08:00", "18:00") for day in range(6)]
        WorkingHours.objects.bulk_create(
            WorkingHours(organization=self.organization, provider=self, weekday=day,
                         start_time=dt.time.fromisoformat(start), end_time=dt.time.fromisoformat(end))
            for day, start, end in blocks
        )


class TimeOffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeOff

    provider = factory.SubFactory(ProviderFactory)
    organization = factory.SelfAttribute("provider.organization")
    reason = "Vacaciones"


class AppointmentTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AppointmentType

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Examen visual {n}")
    duration_minutes = 30
    color = "#0dcaf0"


class AppointmentFactory(factory.django.DjangoModelFactory):
    """A row written directly (no service rules), for reads and fixtures; tests of rules use the services."""

    class Meta:
        model = Appointment

    organization = factory.SubFactory(OrganizationFactory)
    patient = factory.SubFactory(PatientFactory, organization=factory.SelfAttribute("..organization"))
    provider = factory.SubFactory(ProviderFactory, organization=factory.SelfAttribute("..organization"))
    appointment_type = factory.SubFactory(AppointmentTypeFactory, organization=factory.SelfAttribute("..organization"))
    start = factory.LazyFunction(lambda: dt.datetime(2031, 3, 3, 14, 0, tzinfo=dt.UTC))
    end = factory.LazyAttribute(lambda o: o.start + dt.timedelta(minutes=30))
