from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.organizations.models import Organization


class AuditAction(models.TextChoices):
    CREATED = "created", _("created")
    UPDATED = "updated", _("updated")
    SIGNED = "signed", _("signed")
    ADDENDUM = "addendum", _("added an addendum to")
    FINALIZED = "finalized", _("finalized")
    SUPERSEDED = "superseded", _("superseded")
    OPTED_OUT = "opted_out", _("opted out of WhatsApp")
    OPTED_IN = "opted_in", _("opted back into WhatsApp")
    IMPORTED = "imported", _("imported")


class AuditSource(models.TextChoices):
    STAFF = "staff", _("Staff")
    API = "api", _("API")
    WHATSAPP = "whatsapp", _("WhatsApp")
    IMPORT = "import", _("Import")
    SYSTEM = "system", _("System")


class AuditEvent(models.Model):
    """Append-only trail of who created or changed a patient, visit or prescription, and what changed."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("who"))
    source = models.CharField(_("source"), max_length=12, choices=AuditSource.choices, default=AuditSource.STAFF)
    action = models.CharField(_("action"), max_length=16, choices=AuditAction.choices)
    object_type = models.CharField(_("object type"), max_length=32)  # model label: "patients.patient"
    object_id = models.BigIntegerField(_("object id"))
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="audit_events")
    # {"field": [old, new]} for changes; {"field": value} for creations.
    changes = models.JSONField(_("changes"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "object_type", "object_id"], name="patients_audit_object"),
            models.Index(fields=["organization", "patient", "-created_at"], name="patients_audit_patient"),
        ]

    def __str__(self):
        who = self.actor or self.get_source_display()
        return f"{who} {self.get_action_display()} {self.object_type}#{self.object_id}"

    @property
    def changed_field_labels(self) -> list[str]:
        """The changed fields as the UI names them ("teléfono", not "phone")."""
        from django.apps import apps
        from django.core.exceptions import FieldDoesNotExist

        model = apps.get_model(self.object_type)
        labels = []
        for name in self.changes:
            try:
                labels.append(str(model._meta.get_field(name).verbose_name))
            except FieldDoesNotExist:
                labels.append(name)
        return labels

    @property
    def object_label(self) -> str:
        labels = {"patients.patient": _("patient"), "patients.visit": _("visit"),
                  "patients.prescription": _("prescription")}
        return str(labels.get(self.object_type, self.object_type))
