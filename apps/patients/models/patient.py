import datetime

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Func, Q, Value
from django.db.models.functions import Concat, Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel
from apps.organizations.models import Organization


class ImmutableUnaccent(Func):
    """`immutable_unaccent(text)` from apps/common/migrations: unaccent usable in an index."""

    function = "immutable_unaccent"
    output_field = models.TextField()


def search_name_expression():
    return ImmutableUnaccent(Lower(Concat("first_name", Value(" "), "last_name", output_field=models.TextField())))


class DocumentType(models.TextChoices):
    CC = "CC", _("Citizenship card (CC)")
    TI = "TI", _("Identity card (TI)")
    CE = "CE", _("Foreigner ID (CE)")
    PA = "PA", _("Passport")
    RC = "RC", _("Civil registry (RC)")
    PPT = "PPT", _("Temporary protection permit (PPT)")
    NIT = "NIT", _("Tax ID (NIT)")
    OTHER = "OT", _("Other")


class Sex(models.TextChoices):
    FEMALE = "F", _("Female")
    MALE = "M", _("Male")
    OTHER = "O", _("Other")
    UNKNOWN = "U", _("Not stated")


class ConsentSource(models.TextChoices):
    IN_PERSON = "in_person", _("In person at the clinic")
    WRITTEN_FORM = "written_form", _("Signed form")
    PHONE_CALL = "phone_call", _("Phone call")
    WHATSAPP = "whatsapp", _("WhatsApp message from the patient")
    WEB = "web", _("Web form")
    IMPORT = "import", _("Imported from a previous system")


EARLIEST_BIRTH_DATE = datetime.date(1900, 1, 1)


class Patient(TimeStampedModel):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="patients")
    document_type = models.CharField(_("document type"), max_length=3, choices=DocumentType.choices,
                                     default=DocumentType.CC)
    document_number = models.CharField(_("document number"), max_length=32)
    first_name = models.CharField(_("first names"), max_length=100)
    last_name = models.CharField(_("last names"), max_length=100)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    # E.164 (+573001234567), parsed with the organization's default region; several patients may
    # share one phone (a family), so it is indexed but not unique.
    phone = models.CharField(_("phone (WhatsApp)"), max_length=20, blank=True, db_index=True)
    email = models.EmailField(_("email"), blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    occupation = models.CharField(_("occupation"), max_length=120, blank=True)
    preferred_language = models.CharField(_("preferred language"), max_length=8, choices=settings.LANGUAGES,
                                          default="es")
    notes = models.TextField(_("notes"), blank=True)
    guardian_name = models.CharField(_("guardian / phone holder"), max_length=200, blank=True,
                                     help_text=_("Who answers this phone when it is not the patient's own."))
    is_active = models.BooleanField(_("active"), default=True)

    whatsapp_consent = models.BooleanField(_("consents to WhatsApp messages"), default=False)
    whatsapp_consent_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    whatsapp_consent_source = models.CharField(_("consent obtained by"), max_length=20,
                                               choices=ConsentSource.choices, blank=True)
    whatsapp_opted_out = models.BooleanField(_("opted out of WhatsApp"), default=False)
    whatsapp_opted_out_at = models.DateTimeField(_("opted out at"), null=True, blank=True)

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "document_type", "document_number"], name="patients_patient_document_unique"
            ),
            models.CheckConstraint(
                condition=Q(phone="") | Q(phone__regex=r"^\+[1-9][0-9]{6,14}$"), name="patients_patient_phone_e164"
            ),
            models.CheckConstraint(
                condition=Q(whatsapp_consent=False) | Q(whatsapp_consent_at__isnull=False),
                name="patients_patient_consent_has_time",
            ),
        ]
        indexes = [
            GinIndex(OpClass(search_name_expression(), name="gin_trgm_ops"), name="patients_name_trgm"),
            GinIndex(OpClass(Lower("document_number"), name="gin_trgm_ops"), name="patients_document_trgm"),
            GinIndex(OpClass("phone", name="gin_trgm_ops"), name="patients_phone_trgm"),
            models.Index(fields=["organization", "last_name", "first_name"], name="patients_org_name"),
        ]

    def __str__(self):
        return self.full_name

    def clean(self):
        super().clean()
        errors = {}
        if self.birth_date:
            if self.birth_date > timezone.localdate():
                errors["birth_date"] = _("The birth date cannot be in the future.")
            elif self.birth_date < EARLIEST_BIRTH_DATE:
                errors["birth_date"] = _("The birth date must be after 1900.")
        if self.whatsapp_consent and not self.whatsapp_consent_source:
            errors["whatsapp_consent_source"] = _("Say how the patient gave consent.")
        if errors:
            raise ValidationError(errors)

    @property
    def age(self) -> int | None:
        if not self.birth_date:
            return None
        today = timezone.localdate()
        birthday_to_come = (today.month, today.day) < (self.birth_date.month, self.birth_date.day)
        return today.year - self.birth_date.year - birthday_to_come

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def can_receive_whatsapp(self) -> bool:
        return bool(self.phone) and self.whatsapp_consent and not self.whatsapp_opted_out and self.is_active
