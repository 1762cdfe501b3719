"""Background jobs of the patients app (procrastinate): checking and importing a patient file."""

from procrastinate.contrib.django import app

from apps.patients.services.imports import patient_import_check, patient_import_run


@app.task(name="patients.check_import", retry=2)
def check_patient_import(import_id: int) -> str:
    return patient_import_check(patient_import_id=import_id).status


@app.task(name="patients.run_import", retry=2)
def run_patient_import(import_id: int) -> str:
    return patient_import_run(patient_import_id=import_id).status
