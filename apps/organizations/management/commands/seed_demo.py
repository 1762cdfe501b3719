"""Demo data for local runs: one clinic, its admin and a few staff. Running it twice changes nothing."""

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.organizations.models import Organization, Role
from apps.organizations.services import membership_set

DEMO_SLUG = "optica-demo"
DEMO_ADMIN_EMAIL = "admin@opticaapp.local"
DEMO_STAFF = [
    ("recepcion@opticaapp.local", "Laura Recepción", Role.STAFF, ""),
    ("optometra@opticaapp.local", "Dr. Andrés Gómez", Role.OPTOMETRIST, "TP 52.318"),
    ("optometra2@opticaapp.local", "Dra. Camila Peña", Role.OPTOMETRIST, "TP 61.077"),
]


def demo_password() -> str:
    return os.environ.get("DEMO_PASSWORD", "opticaapp-demo")


class Command(BaseCommand):
    help = "Create the demo organization, its admin user and a few staff (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        organization, _ = Organization.objects.get_or_create(
            slug=DEMO_SLUG,
            defaults={
                "name": "Óptica Demo Bogotá",
                "time_zone": "America/Bogota",
                "default_phone_region": "CO",
                "address": "Calle 85 # 15-20, Bogotá",
                "phone": "+576015550100",
            },
        )
        admin = User.objects.filter(email=DEMO_ADMIN_EMAIL).first()
        if admin is None:
            admin = User.objects.create_superuser(DEMO_ADMIN_EMAIL, demo_password(), full_name="Admin Demo")
        membership_set(user=admin, organization=organization, role=Role.OWNER)
        for email, full_name, role, registration in DEMO_STAFF:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email, demo_password(), full_name=full_name,
                                                professional_registration=registration)
            membership_set(user=user, organization=organization, role=role)
        self.extra_seed(organization)
        self.stdout.write(f"Demo organization '{organization.name}': log in as {DEMO_ADMIN_EMAIL}")

    def extra_seed(self, organization):
        """Apps that add demo data hook in here through their own `seed_demo_data(organization=...)`."""
        from importlib import import_module
        from importlib.util import find_spec

        from django.apps import apps

        for config in apps.get_app_configs():
            if not config.name.startswith("apps."):
                continue
            module_name = f"{config.name}.demo"
            if find_spec(module_name) is not None:
                import_module(module_name).seed_demo_data(organization=organization)
