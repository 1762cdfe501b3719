from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel
from apps.organizations.models import Organization


class PatientImportStatus(models.TextChoices):
    CHECKING = "checking", _("Checking")
    PREVIEW = "preview", _("Preview")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed")


# Statuses a background job is working on: the page shows its progress.
PATIENT_IMPORT_RUNNING = (PatientImportStatus.CHECKING, PatientImportStatus.IMPORTING)


class PatientImport(TimeStampedModel):
    """An uploaded spreadsheet between its preview and its (all-or-nothing) import.

    Jobs do the work (apps/patients/tasks.py): the check reads `content` (the file as uploaded, emptied once
    read) into `rows`, every row as parsed: {"line", "data", "errors": {field: [messages]}, "duplicate": bool};
    the import creates the patients. `progress_done` of `progress_total` is how far the running job is."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True,
                                     blank=True)
    filename = models.CharField(_("file"), max_length=255)
    status = models.CharField(_("status"), max_length=12, choices=PatientImportStatus.choices,
                              default=PatientImportStatus.PREVIEW)
    rows = models.JSONField(default=list)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    content = models.BinaryField(default=b"", editable=False)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    failure = models.TextField(_("reason of the failure"), blank=True)

    class Meta:
        verbose_name = _("patient import")
        verbose_name_plural = _("patient imports")
        ordering = ["-created_at"]

    def __str__(self):
        return self.filename

    @property
    def is_running(self) -> bool:
        return self.status in PATIENT_IMPORT_RUNNING

    @property
    def progress_percent(self) -> int:
        return min(100, self.progress_done * 100 // self.progress_total) if self.progress_total else 0

    @property
    def error_rows(self) -> list[dict]:
        return [row for row in self.rows if row["errors"]]

    @property
    def duplicate_rows(self) -> list[dict]:
        return [row for row in self.rows if row["duplicate"] and not row["errors"]]

    @property
    def importable_rows(self) -> list[dict]:
        return [row for row in self.rows if not row["errors"] and not row["duplicate"]]

    @property
    def can_import(self) -> bool:
        return self.status == PatientImportStatus.PREVIEW and not self.error_rows and bool(self.importable_rows)
