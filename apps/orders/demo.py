"""Demo labs and orders for `manage.py seed_demo` (which calls `seed_demo_data`). Running it again changes nothing."""

import datetime as dt

from django.db import transaction

from apps.appointments.models import EventSource
from apps.orders.models import Lab, LensMaterial, LensType, LineKind, Order, OrderStatus, PaymentMethod, Treatment
from apps.orders.selectors import local_today
from apps.orders.services import (
    lab_create,
    order_create,
    order_line_add,
    order_status_change,
    payment_record,
    shop_settings_get,
)
from apps.patients.models import Prescription, PrescriptionStatus

DEMO_LABS = [("Laboratorio Óptico Central", "+576015550200", 7), ("LabVisión Express", "+576015550300", 3)]
# Minor units of COP (centavos): $ 350.000 is 35_000_000.
PESOS = 100


@transaction.atomic
def seed_demo_data(*, organization) -> None:
    shop_settings_get(organization=organization)
    for name, phone, days in DEMO_LABS:
        if not Lab.objects.filter(organization=organization, name=name).exists():
            lab_create(organization=organization, name=name, phone=phone, turnaround_days=days)
    if Order.objects.filter(organization=organization).exists():
        return
    prescription = (Prescription.objects.filter(organization=organization, status=PrescriptionStatus.FINAL)
                    .order_by("pk").first())
    if prescription is None:
        return
    central, express = Lab.objects.filter(organization=organization).order_by("name")[:2]
    today = local_today(organization=organization)

    # Sent to the lab two weeks ago with a deposit, promised for three days ago: overdue.
    late = order_create(organization=organization, prescription=prescription, source=EventSource.SYSTEM, data={
        "lab": central, "promised_date": today - dt.timedelta(days=3), "frame_brand": "Ray-Ban",
        "frame_model": "RB5154 Clubmaster", "frame_colour": "Carey", "frame_size": "51-21-145",
        "lens_type": LensType.SINGLE_VISION, "lens_material": LensMaterial.POLYCARBONATE, "lens_index": "1.59",
        "treatments": [Treatment.ANTI_REFLECTIVE, Treatment.BLUE_FILTER], "fitting_height": "22",
    })
    order_line_add(order=late, kind=LineKind.FRAME, description="Montura Ray-Ban RB5154", unit_price=420_000 * PESOS)
    order_line_add(order=late, kind=LineKind.LENSES, description="Lentes monofocales policarbonato",
                   unit_price=180_000 * PESOS, quantity=1)
    order_line_add(order=late, kind=LineKind.TREATMENT, description="Antirreflejo + filtro azul",
                   unit_price=90_000 * PESOS, discount=20_000 * PESOS)
    order_status_change(order=late, to_status=OrderStatus.SENT_TO_LAB, source=EventSource.SYSTEM)
    order_status_change(order=late, to_status=OrderStatus.IN_LAB, source=EventSource.SYSTEM)
    payment_record(order=late, amount=300_000 * PESOS, method=PaymentMethod.NEQUI, reference="NQ-48213")

    # Back from the lab, waiting to be checked and marked ready.
    back = order_create(organization=organization, prescription=prescription, source=EventSource.SYSTEM, data={
        "lab": express, "frame_brand": "Oakley", "frame_model": "Holbrook", "frame_colour": "Negro mate",
        "frame_size": "55-18-137", "lens_type": LensType.SINGLE_VISION, "lens_material": LensMaterial.CR39,
        "treatments": [Treatment.PHOTOCHROMIC],
    })
    order_line_add(order=back, kind=LineKind.FRAME, description="Montura Oakley Holbrook", unit_price=380_000 * PESOS)
    order_line_add(order=back, kind=LineKind.LENSES, description="Lentes fotocromáticos CR-39",
                   unit_price=260_000 * PESOS)
    order_status_change(order=back, to_status=OrderStatus.SENT_TO_LAB, source=EventSource.SYSTEM)
    order_status_change(order=back, to_status=OrderStatus.RECEIVED, source=EventSource.SYSTEM)
    payment_record(order=back, amount=200_000 * PESOS, method=PaymentMethod.CASH)
    payment_record(order=back, amount=100_000 * PESOS, method=PaymentMethod.CARD, reference="Voucher 0031")

    # Just started at the desk.
    draft = order_create(organization=organization, prescription=prescription, source=EventSource.SYSTEM,
                         data={"lab": central, "lens_type": LensType.PROGRESSIVE, "notes": "Segundo par para lectura."})
    order_line_add(order=draft, kind=LineKind.CONSULTATION, description="Consulta de optometría",
                   unit_price=60_000 * PESOS)
