import datetime as dt

import factory
from django.utils import timezone

from apps.appointments.tests.factories import AppointmentTypeFactory, ProviderFactory
from apps.notifications.models import Direction, Message, MessageKind, MessageStatus
from apps.organizations.tests.factories import OrganizationFactory
from apps.patients.tests.factories import PatientFactory

__all__ = ["AppointmentTypeFactory", "MessageFactory", "ProviderFactory"]


class MessageFactory(factory.django.DjangoModelFactory):
    """The one factory of Message: a text sent to a consenting patient five minutes ago.
    `inbound=True`: the patient's message, as the event receiver stores it."""

    class Meta:
        model = Message

    class Params:
        inbound = factory.Trait(
            direction=Direction.INBOUND,
            status=MessageStatus.RECEIVED,
            body=factory.Sequence(lambda n: f"Hola, una pregunta {n}"),
            sent_at=None,
            received_at=factory.LazyFunction(timezone.now),
        )

    organization = factory.SubFactory(OrganizationFactory)
    patient = factory.SubFactory(PatientFactory, consenting=True, organization=factory.SelfAttribute("..organization"))
    direction = Direction.OUTBOUND
    kind = MessageKind.FREE_TEXT
    phone = factory.LazyAttribute(lambda o: o.patient.phone if o.patient else "+573001110000")
    body = "Hola"
    status = MessageStatus.SENT
    sent_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(minutes=5))
