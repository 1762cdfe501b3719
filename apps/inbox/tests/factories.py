import factory

from apps.inbox.models import CannedReply
from apps.organizations.tests.factories import OrganizationFactory
from apps.whatsapp.models import SessionStatus, WhatsAppSession


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
