import binascii
import datetime
import os
import zoneinfo

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.models import TimeStampedModel


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


def validate_phone_region(value: str) -> None:
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(_("%(value)s is not a known phone region."), params={"value": value})


class Organization(TimeStampedModel):
    """A clinic: every clinical and messaging row belongs to exactly one."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="America/Bogota", validators=[validate_time_zone]
    )
    default_phone_region = models.CharField(
        _("default phone region"), max_length=2, default="CO", validators=[validate_phone_region]
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Clinical records are the optometrists' (DESIGN.md); some clinics let the front desk type the draft of a
    # prescription the optometrist then checks and finalizes.
    staff_prescription_drafts = models.BooleanField(
        _("staff may write prescription drafts"), default=False,
        help_text=_("Any member of the clinic may write and edit drafts; only optometrists finalize them."),
    )

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Administrator")
    STAFF = "staff", _("Staff")
    OPTOMETRIST = "optometrist", _("Optometrist")


# Roles that manage the clinic itself (WhatsApp linking, notification settings, staff).
MANAGER_ROLES = (Role.OWNER, Role.ADMIN)


class Membership(TimeStampedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.STAFF)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["organization__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="organizations_membership_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=[choice.value for choice in Role]), name="organizations_membership_role"
            ),
        ]

    def __str__(self):
        return f"{self.user} @ {self.organization} ({self.get_role_display()})"

    @property
    def is_manager(self) -> bool:
        return self.role in MANAGER_ROLES


def _generate_token_key() -> str:
    return binascii.hexlify(os.urandom(20)).decode()


def token_expiry():
    from django.utils import timezone

    return timezone.now() + datetime.timedelta(days=settings.API_TOKEN_TTL_DAYS)


class ApiToken(TimeStampedModel):
    """An API token names both the user and the organization it acts for."""

    key = models.CharField(max_length=40, unique=True, default=_generate_token_key)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_tokens")
    last_used_at = models.DateTimeField(null=True, blank=True)
    # A token is refused after this; the user's next sign-in (POST /api/auth/token/) gives a new key.
    expires_at = models.DateTimeField(_("expires"), default=token_expiry)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="organizations_apitoken_user_org_unique")
        ]

    def __str__(self):
        return f"{self.user} @ {self.organization}"

    @property
    def is_expired(self) -> bool:
        from django.utils import timezone

        return self.expires_at <= timezone.now()
