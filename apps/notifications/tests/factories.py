import datetime as dt

import factory
from django.utils import timezone

from apps.appointments.tests.factories import AppointmentTypeFactory, PatientFactory, ProviderFactory
from apps.notifications.models import Direction, Message, MessageKind, MessageStatus

__all__ = ["AppointmentTypeFactory", "ConsentingPatientFactory", "MessageFactory", "ProviderFactory"]


class ConsentingPatientFactory(PatientFactory):
    whatsapp_consent = True
    whatsapp_consent_at = factory.LazyFunction(timezone.now)
    whatsapp_consent_source = "in_person"


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    organization = factory.SubFactory("apps.organizations.tests.factories.OrganizationFactory")
    patient = factory.SubFactory(ConsentingPatientFactory, organization=factory.SelfAttribute("..organization"))
    direction = Direction.OUTBOUND
    kind = MessageKind.FREE_TEXT
    phone = factory.LazyAttribute(lambda o: o.patient.phone if o.patient else "+573001110000")
    body = "Hola"
    status = MessageStatus.SENT
    sent_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(minutes=5))
