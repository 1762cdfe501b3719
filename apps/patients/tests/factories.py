import datetime as dt

import factory
from django.utils import timezone

from apps.accounts.tests.factories import UserFactory
from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory
from apps.patients.models import ConsentSource, Patient, Prescription, PrescriptionKind, PrescriptionStatus, Visit


class PatientFactory(factory.django.DjangoModelFactory):
    """The one factory of Patient (every app's tests use it). Like the model, no WhatsApp consent unless
    asked for: `PatientFactory(consenting=True)` consented in person just now."""

    class Meta:
        model = Patient

    class Params:
        consenting = factory.Trait(
            whatsapp_consent=True,
            whatsapp_consent_at=factory.LazyFunction(timezone.now),
            whatsapp_consent_source=ConsentSource.IN_PERSON,
        )

    organization = factory.SubFactory(OrganizationFactory)
    document_type = "CC"
    document_number = factory.Sequence(lambda n: f"{1020300000 + n}")
    first_name = "María José"
    last_name = factory.Iterator(["Peña Gómez", "Rodríguez Díaz", "Muñoz Ospina", "Castaño Ruiz"])
    phone = factory.Sequence(lambda n: f"+57300{1000000 + n}")


def optometrist_of(organization):
    return MembershipFactory(organization=organization, role=Role.OPTOMETRIST).user


class VisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visit

    patient = factory.SubFactory(PatientFactory, consenting=True)
    organization = factory.SelfAttribute("patient.organization")
    optometrist = factory.LazyAttribute(lambda o: optometrist_of(o.organization))
    reason = "Control anual"
    findings = "Agudeza visual conservada."


class PrescriptionFactory(factory.django.DjangoModelFactory):
    """The one factory of Prescription: a draft. `final=True`: one in force, with monocular PDs, as an
    optometrist leaves it after finalizing."""

    class Meta:
        model = Prescription

    class Params:
        final = factory.Trait(
            kind=PrescriptionKind.SPECTACLES,
            status=PrescriptionStatus.FINAL,
            prescriber=factory.LazyAttribute(lambda o: optometrist_of(o.organization)),
            finalized_at=factory.LazyFunction(timezone.now),
            issued_on=factory.LazyFunction(lambda: dt.date.today()),
            pd=None,
            od_pd="31.5",
            os_pd="32.0",
        )

    patient = factory.SubFactory(PatientFactory, consenting=True)
    organization = factory.SelfAttribute("patient.organization")
    status = PrescriptionStatus.DRAFT
    od_sphere = "-1.25"
    od_cylinder = "-0.50"
    od_axis = 90
    os_sphere = "-1.00"
    pd = "62.0"


__all__ = ["OrganizationFactory", "PatientFactory", "PrescriptionFactory", "UserFactory", "VisitFactory",
           "optometrist_of"]
