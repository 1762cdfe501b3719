from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def email_normalize(value: str | None) -> str:
    """The one spelling of an email address: login, API token, lockout key and stored user all use it, so that
    `Ana@X.co` and `ana@x.co` are one account with one failure count."""
    return (value or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=email_normalize(email), **extra_fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=email_normalize(username))


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address; clinics are reached through memberships."""

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    professional_registration = models.CharField(
        _("professional registration number"), max_length=40, blank=True,
        help_text=_("An optometrist's registration, printed on the prescriptions they sign."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Django admin access only; clinic roles live on Membership.
    is_staff = models.BooleanField(_("admin site access"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]

    def __str__(self):
        return self.full_name or self.email

    def save(self, *args, **kwargs):
        # set_password() keeps the raw password until the save: a new one ends every API token of the user, however
        # it was changed (password change or reset page, admin, `changepassword`), as it ends other sessions.
        password_changed = self._password is not None and self.pk is not None
        super().save(*args, **kwargs)
        if password_changed:
            from apps.organizations.services import api_tokens_revoke_for_user

            api_tokens_revoke_for_user(user=self)

    def clean(self):
        super().clean()
        self.email = email_normalize(self.email)

    def get_full_name(self):
        return self.full_name or self.email

    def get_short_name(self):
        return (self.full_name or self.email).split(" ")[0]
