from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel
from apps.organizations.models import Organization


class PatientImportStatus(models.TextChoices):
    PREVIEW = "preview", _("Preview")
    DONE = "done", _("Imported")


class PatientImport(TimeStampedModel):
    """An uploaded spreadsheet between its preview and its (all-or-nothing) import.

    `rows` holds every row as parsed: {"line", "data", "errors": {field: [messages]}, "duplicate": bool}."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(_("file"), max_length=255)
    status = models.CharField(_("status"), max_length=12, choices=PatientImportStatus.choices,
                              default=PatientImportStatus.PREVIEW)
    rows = models.JSONField(default=list)
    created_count = models.PositiveIntegerField(_("created"), default=0)

    class Meta:
        verbose_name = _("patient import")
        verbose_name_plural = _("patient imports")
        ordering = ["-created_at"]

    def __str__(self):
        return self.filename

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
