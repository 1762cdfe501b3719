from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel
from apps.organizations.models import Organization


class Visit(TimeStampedModel):
    """One clinical encounter. Once signed it is never edited in place (a trigger enforces it): corrections are
    addenda."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="visits")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="visits")
    optometrist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="visits",
                                    verbose_name=_("optometrist"))
    visit_date = models.DateField(_("date"), default=timezone.localdate)
    reason = models.CharField(_("reason for the visit"), max_length=255)
    anamnesis = models.TextField(_("anamnesis"), blank=True)
    findings = models.TextField(_("findings"), blank=True)
    diagnosis = models.TextField(_("diagnosis"), blank=True)
    plan = models.TextField(_("plan"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   null=True, blank=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  null=True, blank=True, verbose_name=_("signed by"))

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-visit_date", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True, signed_by__isnull=True)
                | Q(signed_at__isnull=False, signed_by__isnull=False),
                name="patients_visit_signature_complete",
            ),
        ]
        indexes = [models.Index(fields=["organization", "patient", "-visit_date"], name="patients_visit_patient")]

    def __str__(self):
        return f"{self.patient} · {self.visit_date:%Y-%m-%d}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class VisitAddendum(models.Model):
    """A correction or note added to a signed visit; append-only."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("author"))
    text = models.TextField(_("addendum"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("addendum")
        verbose_name_plural = _("addenda")
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="patients_addendum_text_not_empty"),
        ]

    def __str__(self):
        return f"{self.visit} · {self.created_at:%Y-%m-%d %H:%M}"
