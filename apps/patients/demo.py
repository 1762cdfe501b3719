"""Demo patients for `manage.py seed_demo` (which calls `seed_demo_data`). Running it again changes nothing."""

import datetime
from decimal import Decimal

from django.db import transaction

from apps.patients.models import AuditSource, ConsentSource, DocumentType, Patient, Sex
from apps.patients.selectors import optometrists_for_organization
from apps.patients.services import (
    patient_create,
    prescription_create,
    prescription_finalize,
    visit_create,
    visit_sign,
)

DEMO_PATIENTS = [
    ("1020304050", "José", "Peña Gómez", datetime.date(1985, 3, 14), Sex.MALE, "+573005550101"),
    ("52123456", "María Fernanda", "Núñez Rodríguez", datetime.date(1979, 11, 2), Sex.FEMALE, "+573005550102"),
    ("1098765432", "Andrés", "Ibáñez Castaño", datetime.date(1992, 7, 21), Sex.MALE, "+573005550103"),
    ("39456789", "Lucía", "Muñoz Ospina", datetime.date(1958, 1, 30), Sex.FEMALE, "+573005550104"),
    ("1001234567", "Sofía", "Ramírez Díaz", datetime.date(2001, 5, 9), Sex.FEMALE, "+573005550105"),
    ("80123456", "Óscar", "Hernández Suárez", datetime.date(1970, 9, 17), Sex.MALE, "+573005550106"),
    # A mother and her son share the family phone.
    ("43987654", "Ángela", "Quintero Beltrán", datetime.date(1983, 12, 5), Sex.FEMALE, "+573005550107"),
    ("1122334455", "Tomás", "Restrepo Quintero", datetime.date(2014, 4, 12), Sex.MALE, "+573005550107"),
]


@transaction.atomic
def seed_demo_data(*, organization) -> None:
    existing = set(Patient.objects.filter(organization=organization).values_list("document_number", flat=True))
    created = []
    for document, first, last, birth, sex, phone in DEMO_PATIENTS:
        if document in existing:
            continue
        created.append(patient_create(
            organization=organization, document_number=document,
            document_type=DocumentType.TI if birth.year > 2008 else DocumentType.CC, first_name=first,
            last_name=last, birth_date=birth, sex=sex, phone=phone, whatsapp_consent=True,
            whatsapp_consent_source=ConsentSource.IN_PERSON,
            guardian_name="Ángela Quintero Beltrán" if document == "1122334455" else "", source=AuditSource.SYSTEM,
        ))
    optometrist = optometrists_for_organization(organization=organization).first()
    if not created or optometrist is None or created[0].document_number != DEMO_PATIENTS[0][0]:
        return
    # The first demo patient has a signed visit and a prescription in force.
    patient = created[0]
    visit = visit_create(organization=organization, patient=patient, optometrist=optometrist, actor=optometrist,
                         reason="Control anual, visión borrosa de lejos", anamnesis="Usa gafas desde 2015.",
                         findings="AV sc OD 20/40 OS 20/30.", diagnosis="Miopía con astigmatismo leve.",
                         plan="Nueva fórmula; control en 12 meses.")
    visit_sign(visit=visit, actor=optometrist)
    prescription = prescription_create(organization=organization, patient=patient, actor=optometrist, data={
        "visit": visit, "od_sphere": Decimal("-1.25"), "od_cylinder": Decimal("-0.50"), "od_axis": 180,
        "os_sphere": Decimal("-1.00"), "os_cylinder": Decimal("-0.25"), "os_axis": 170, "od_va_distance": "20/20",
        "os_va_distance": "20/20", "pd": Decimal("63"), "notes": "Antirreflejo. Uso permanente.",
    })
    prescription_finalize(prescription=prescription, actor=optometrist)
