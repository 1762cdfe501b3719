import factory
from django.utils import timezone

from apps.appointments.tests.factories import PatientFactory
from apps.inbox.models import CannedReply
from apps.notifications.models import Direction, Message, MessageKind, MessageStatus
from apps.organizations.tests.factories import OrganizationFactory
from apps.whatsapp.models import SessionStatus, WhatsAppSession


class InboundMessageFactory(factory.django.DjangoModelFactory):
    """A patient's WhatsApp message as the event receiver stores it."""

    class Meta:
        model = Message

    organization = factory.SubFactory(OrganizationFactory)
    patient = factory.SubFactory(PatientFactory, organization=factory.SelfAttribute("..organization"))
    phone = factory.LazyAttribute(lambda o: o.patient.phone if o.patient else "+573009990000")
    direction = Direction.INBOUND
    kind = MessageKind.FREE_TEXT
    body = factory.Sequence(lambda n: f"Hola, una pregunta {n}")
    status = MessageStatus.RECEIVED
    received_at = factory.LazyFunction(timezone.now)


class OutboundMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    organization = factory.SubFactory(OrganizationFactory)
    patient = factory.SubFactory(PatientFactory, organization=factory.SelfAttribute("..organization"))
    phone = factory.LazyAttribute(lambda o: o.patient.phone if o.patient else "+573009990000")
    direction = Direction.OUTBOUND
    kind = MessageKind.FREE_TEXT
    body = factory.Sequence(lambda n: f"Respuesta {n}")
    status = MessageStatus.SENT


class CannedReplyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CannedReply

    organization = factory.SubFactory(OrganizationFactory)
    title = factory.Sequence(lambda n: f"Horario {n}")
    body = "Hola {patient_first_name}, atendemos de lunes a sábado en {clinic}."


def linked_session(organization, status=SessionStatus.CONNECTED):
    session, _created = WhatsAppSession.objects.update_or_create(
        organization=organization, defaults={"status": status, "phone_number": "+573001112233"})
    return session
