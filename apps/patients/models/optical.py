from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, StepValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Mod
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.common.models import TimeStampedModel
from apps.organizations.models import Organization

EYES = ("od", "os")
# Oculus dexter / sinister: Spanish writes OI (ojo izquierdo) for the left eye, English OS.
EYE_LABELS = {"od": pgettext_lazy("right eye", "OD"), "os": pgettext_lazy("left eye", "OS")}
QUARTER = Decimal("0.25")
HALF = Decimal("0.5")


class PrescriptionKind(models.TextChoices):
    SPECTACLES = "spectacles", _("Spectacles")
    CONTACT_LENS = "contact_lens", _("Contact lenses")


class PrescriptionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    FINAL = "final", _("Final")
    SUPERSEDED = "superseded", _("Superseded")


class PrismBase(models.TextChoices):
    IN = "BI", _("Base in (BI)")
    OUT = "BO", _("Base out (BO)")
    UP = "BU", _("Base up (BU)")
    DOWN = "BD", _("Base down (BD)")


# (low, high, step) of every ranged value; forms, serializers and the database all read this table.
RANGES = {
    "sphere": (Decimal("-30"), Decimal("30"), QUARTER),
    "cylinder": (Decimal("-10"), Decimal("10"), QUARTER),
    "add": (Decimal("0.25"), Decimal("4"), QUARTER),
    "prism": (Decimal("0.25"), Decimal("20"), QUARTER),
    "pd": (Decimal("20"), Decimal("40"), HALF),  # monocular
    "base_curve": (Decimal("6"), Decimal("10"), None),
    "diameter": (Decimal("8"), Decimal("16"), None),
}
BINOCULAR_PD = (Decimal("40"), Decimal("80"), HALF)
AXIS_RANGE = (1, 180)


def _validators(low, high, step):
    validators = [MinValueValidator(low), MaxValueValidator(high)]
    if step is not None:
        validators.append(StepValueValidator(step))
    return validators


def _decimal(label, kind, digits=5, places=2):
    return models.DecimalField(label, max_digits=digits, decimal_places=places, null=True, blank=True,
                               validators=_validators(*RANGES[kind]))


def _range_constraint(field, low, high, step):
    condition = Q(**{f"{field}__gte": low, f"{field}__lte": high})
    if step is not None:
        condition &= Q(Exact(Mod(F(field), Value(step)), Value(0)))
    return models.CheckConstraint(condition=Q(**{f"{field}__isnull": True}) | condition,
                                  name=f"patients_rx_{field}_range")


def _eye_constraints(eye):
    cylinder, axis, prism, base = f"{eye}_cylinder", f"{eye}_axis", f"{eye}_prism", f"{eye}_prism_base"
    # Written so that no branch can evaluate to NULL: a CHECK whose expression is NULL passes.
    no_cylinder = Q(**{f"{cylinder}__isnull": True}) | Q(**{cylinder: 0})
    has_cylinder = Q(**{f"{cylinder}__isnull": False}) & ~Q(**{cylinder: 0})
    axis_in_range = Q(**{f"{axis}__isnull": False, f"{axis}__gte": AXIS_RANGE[0], f"{axis}__lte": AXIS_RANGE[1]})
    constraints = [_range_constraint(f"{eye}_{kind}", *limits) for kind, limits in RANGES.items()]
    constraints += [
        models.CheckConstraint(
            condition=(has_cylinder & axis_in_range) | (no_cylinder & Q(**{f"{axis}__isnull": True})),
            name=f"patients_rx_{eye}_axis_iff_cylinder",
        ),
        models.CheckConstraint(
            condition=Q(**{f"{prism}__isnull": True, base: ""})
            | Q(**{f"{prism}__isnull": False, f"{base}__in": PrismBase.values}),
            name=f"patients_rx_{eye}_prism_has_base",
        ),
    ]
    return constraints


class Prescription(TimeStampedModel):
    """An optical prescription (spectacles or contact lenses), per eye: OD right, OS left.

    Drafts are edited freely; finalizing one (optometrists only) supersedes the patient's previous final
    prescription of the same kind, which keeps the history. Final and superseded rows never change their
    values (a trigger enforces it)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="prescriptions")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="prescriptions")
    visit = models.ForeignKey("patients.Visit", on_delete=models.PROTECT, related_name="prescriptions",
                              null=True, blank=True, verbose_name=_("visit"))
    kind = models.CharField(_("type"), max_length=16, choices=PrescriptionKind.choices,
                            default=PrescriptionKind.SPECTACLES)
    status = models.CharField(_("status"), max_length=12, choices=PrescriptionStatus.choices,
                              default=PrescriptionStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   null=True, blank=True)
    prescriber = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   null=True, blank=True, verbose_name=_("prescriber"))
    finalized_at = models.DateTimeField(_("finalized at"), null=True, blank=True)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    expires_on = models.DateField(_("valid until"), null=True, blank=True)
    supersedes = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="superseded_by", verbose_name=_("supersedes"))

    od_sphere = _decimal(_("OD sphere"), "sphere")
    od_cylinder = _decimal(_("OD cylinder"), "cylinder")
    od_axis = models.PositiveSmallIntegerField(_("OD axis"), null=True, blank=True,
                                               validators=_validators(*AXIS_RANGE, None))
    od_add = _decimal(_("OD add"), "add", digits=4)
    od_prism = _decimal(_("OD prism"), "prism", digits=4)
    od_prism_base = models.CharField(_("OD prism base"), max_length=2, choices=PrismBase.choices, blank=True)
    od_va_distance = models.CharField(_("OD distance VA"), max_length=12, blank=True)
    od_va_near = models.CharField(_("OD near VA"), max_length=12, blank=True)
    od_pd = _decimal(_("OD monocular PD (mm)"), "pd", digits=3, places=1)
    od_base_curve = _decimal(_("OD base curve (mm)"), "base_curve", digits=4)
    od_diameter = _decimal(_("OD diameter (mm)"), "diameter", digits=4)
    od_brand = models.CharField(_("OD lens brand"), max_length=100, blank=True)

    os_sphere = _decimal(_("OS sphere"), "sphere")
    os_cylinder = _decimal(_("OS cylinder"), "cylinder")
    os_axis = models.PositiveSmallIntegerField(_("OS axis"), null=True, blank=True,
                                               validators=_validators(*AXIS_RANGE, None))
    os_add = _decimal(_("OS add"), "add", digits=4)
    os_prism = _decimal(_("OS prism"), "prism", digits=4)
    os_prism_base = models.CharField(_("OS prism base"), max_length=2, choices=PrismBase.choices, blank=True)
    os_va_distance = models.CharField(_("OS distance VA"), max_length=12, blank=True)
    os_va_near = models.CharField(_("OS near VA"), max_length=12, blank=True)
    os_pd = _decimal(_("OS monocular PD (mm)"), "pd", digits=3, places=1)
    os_base_curve = _decimal(_("OS base curve (mm)"), "base_curve", digits=4)
    os_diameter = _decimal(_("OS diameter (mm)"), "diameter", digits=4)
    os_brand = models.CharField(_("OS lens brand"), max_length=100, blank=True)

    pd = models.DecimalField(_("binocular PD (mm)"), max_digits=3, decimal_places=1, null=True, blank=True,
                             validators=_validators(*BINOCULAR_PD))
    notes = models.TextField(_("notes"), blank=True)

    VALUE_FIELDS = tuple(
        f"{eye}_{name}" for eye in EYES
        for name in ("sphere", "cylinder", "axis", "add", "prism", "prism_base", "va_distance", "va_near", "pd",
                     "base_curve", "diameter", "brand")
    ) + ("pd",)

    class Meta:
        verbose_name = _("prescription")
        verbose_name_plural = _("prescriptions")
        ordering = ["-created_at"]
        constraints = [
            *_eye_constraints("od"),
            *_eye_constraints("os"),
            _range_constraint("pd", *BINOCULAR_PD),
            models.CheckConstraint(condition=Q(status__in=PrescriptionStatus.values), name="patients_rx_status"),
            models.CheckConstraint(condition=Q(kind__in=PrescriptionKind.values), name="patients_rx_kind"),
            models.CheckConstraint(
                condition=Q(status=PrescriptionStatus.DRAFT)
                | Q(finalized_at__isnull=False, prescriber__isnull=False, issued_on__isnull=False),
                name="patients_rx_final_is_signed",
            ),
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(issued_on__isnull=True) | Q(expires_on__gte=F("issued_on")),
                name="patients_rx_expires_after_issue",
            ),
            # History is kept, but only one prescription of each kind is in force for a patient.
            models.UniqueConstraint(fields=["patient", "kind"], condition=Q(status=PrescriptionStatus.FINAL),
                                    name="patients_rx_one_final_per_kind"),
        ]
        indexes = [models.Index(fields=["organization", "patient", "-created_at"], name="patients_rx_patient")]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.patient} · {self.get_status_display()}"

    @property
    def is_draft(self) -> bool:
        return self.status == PrescriptionStatus.DRAFT

    @property
    def is_contact_lens(self) -> bool:
        return self.kind == PrescriptionKind.CONTACT_LENS

    def eye(self, eye: str) -> dict:
        prefix = f"{eye}_"
        return {name[len(prefix):]: getattr(self, name) for name in self.VALUE_FIELDS if name.startswith(prefix)}

    @property
    def eyes(self) -> list[tuple[str, dict]]:
        return [(EYE_LABELS["od"], self.eye("od")), (EYE_LABELS["os"], self.eye("os"))]

    @property
    def has_values(self) -> bool:
        return any(getattr(self, f"{eye}_sphere") is not None for eye in EYES)

    def clean(self):
        super().clean()
        errors = {}
        for eye in EYES:
            cylinder, axis = getattr(self, f"{eye}_cylinder"), getattr(self, f"{eye}_axis")
            if cylinder and axis is None:
                errors[f"{eye}_axis"] = _("The axis is required when there is a cylinder.")
            elif not cylinder and axis is not None:
                errors[f"{eye}_axis"] = _("An axis needs a cylinder.")
            prism, base = getattr(self, f"{eye}_prism"), getattr(self, f"{eye}_prism_base")
            if prism is not None and not base:
                errors[f"{eye}_prism_base"] = _("Choose the base of the prism.")
            elif prism is None and base:
                errors[f"{eye}_prism"] = _("A prism base needs a prism value.")
        if self.expires_on and self.issued_on and self.expires_on < self.issued_on:
            errors["expires_on"] = _("The prescription cannot expire before it is issued.")
        if errors:
            raise ValidationError(errors)
