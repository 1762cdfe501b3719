import datetime as dt

import factory
from django.utils import timezone

from apps.notifications.tests.factories import ConsentingPatientFactory
from apps.orders.models import Lab
from apps.organizations.tests.factories import OrganizationFactory
from apps.patients.models import Prescription, PrescriptionKind, PrescriptionStatus
from apps.patients.tests.factories import optometrist_of


class LabFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lab

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Laboratorio {n}")
    turnaround_days = 5


class FinalPrescriptionFactory(factory.django.DjangoModelFactory):
    """A prescription in force, as an optometrist leaves it after finalizing."""

    class Meta:
        model = Prescription

    patient = factory.SubFactory(ConsentingPatientFactory)
    organization = factory.SelfAttribute("patient.organization")
    kind = PrescriptionKind.SPECTACLES
    status = PrescriptionStatus.FINAL
    prescriber = factory.LazyAttribute(lambda o: optometrist_of(o.organization))
    finalized_at = factory.LazyFunction(timezone.now)
    issued_on = factory.LazyFunction(lambda: dt.date.today())
    od_sphere = "-1.25"
    od_cylinder = "-0.50"
    od_axis = 90
    os_sphere = "-1.00"
    od_pd = "31.5"
    os_pd = "32.0"
