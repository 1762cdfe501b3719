"""State changes of the patients app; other apps call these (never save the models themselves)."""

from apps.patients.services.clinical import visit_addendum_create, visit_create, visit_sign, visit_update
from apps.patients.services.imports import (
    patient_import_confirm,
    patient_import_confirm_start,
    patient_import_preview,
    patient_import_start,
)
from apps.patients.services.optical import prescription_create, prescription_finalize, prescription_update
from apps.patients.services.patients import (
    PATIENT_FIELDS,
    document_normalize,
    patient_create,
    patient_update,
    patient_whatsapp_opt_in,
    patient_whatsapp_opt_out,
    patients_whatsapp_opt_in_by_phone,
    patients_whatsapp_opt_out_by_phone,
)

__all__ = [
    "PATIENT_FIELDS",
    "document_normalize",
    "patient_create",
    "patient_import_confirm",
    "patient_import_confirm_start",
    "patient_import_preview",
    "patient_import_start",
    "patient_update",
    "patient_whatsapp_opt_in",
    "patient_whatsapp_opt_out",
    "patients_whatsapp_opt_in_by_phone",
    "patients_whatsapp_opt_out_by_phone",
    "prescription_create",
    "prescription_finalize",
    "prescription_update",
    "visit_addendum_create",
    "visit_create",
    "visit_sign",
    "visit_update",
]
