import factory

from apps.accounts.tests.factories import UserFactory
from apps.organizations.models import Membership, Organization, Role


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Óptica {n}")
    slug = factory.Sequence(lambda n: f"optica-{n}")
    time_zone = "America/Bogota"
    default_phone_region = "CO"
    address = "Carrera 7 # 12-34"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.STAFF
