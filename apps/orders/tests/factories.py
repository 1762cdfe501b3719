import factory

from apps.orders.models import Lab
from apps.organizations.tests.factories import OrganizationFactory


class LabFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lab

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Laboratorio {n}")
    turnaround_days = 5
