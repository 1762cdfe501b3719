"""The patients app's models, one module per domain, re-exported here."""

from apps.patients.models.audit import AuditAction, AuditEvent, AuditSource
from apps.patients.models.clinical import Visit, VisitAddendum
from apps.patients.models.imports import PatientImport, PatientImportStatus
from apps.patients.models.optical import (
    EYES,
    Prescription,
    PrescriptionKind,
    PrescriptionStatus,
    PrismBase,
)
from apps.patients.models.patient import (
    ConsentSource,
    DocumentType,
    ImmutableUnaccent,
    Patient,
    Sex,
    search_name_expression,
)

__all__ = [
    "EYES",
    "AuditAction",
    "AuditEvent",
    "AuditSource",
    "ConsentSource",
    "DocumentType",
    "ImmutableUnaccent",
    "Patient",
    "PatientImport",
    "PatientImportStatus",
    "Prescription",
    "PrescriptionKind",
    "PrescriptionStatus",
    "PrismBase",
    "Sex",
    "Visit",
    "VisitAddendum",
    "search_name_expression",
]
