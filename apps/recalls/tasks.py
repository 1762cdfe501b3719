"""Background jobs of the recalls (procrastinate)."""

from __future__ import annotations

from procrastinate.contrib.django import app

from apps.organizations.models import Organization
from apps.recalls.services import recalls_generate


@app.periodic(cron="0 11 * * *", periodic_id="generate_recalls")  # 06:00 in Bogotá
@app.task(name="recalls.generate")
def generate_recalls(timestamp: int) -> int:
    return sum(recalls_generate(organization=organization)
               for organization in Organization.objects.filter(is_active=True))
