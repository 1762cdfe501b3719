from django.apps import AppConfig


class ClinicImportConfig(AppConfig):
    """Operations: moving an existing clinic in (`import_clinic`) and production safety checks."""

    name = "apps.clinic_import"
    label = "clinic_import"
    verbose_name = "Clinic import and operations"

    def ready(self):
        from apps.clinic_import import checks  # noqa: F401 - registers the system checks
