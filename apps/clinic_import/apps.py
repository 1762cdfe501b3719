from django.apps import AppConfig


class ClinicImportConfig(AppConfig):
    """Moving an existing clinic in: the `import_clinic` command."""

    name = "apps.clinic_import"
    label = "clinic_import"
    verbose_name = "Clinic import"
