from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.common.validation import unstorable_text_error


# Python's numbering (date.weekday()): Monday is 0.
class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def clean_fields(self, exclude=None):
        """Django's field checks, plus text PostgreSQL cannot store: a form or service error, never a 500."""
        try:
            super().clean_fields(exclude=exclude)
            errors = {}
        except ValidationError as exc:
            errors = exc.error_dict
        for field in self._meta.concrete_fields:
            if field.name in errors or (exclude and field.name in exclude):
                continue
            value = getattr(self, field.attname)
            if isinstance(value, str) and (message := unstorable_text_error(value)):
                errors[field.name] = [ValidationError(message, code="unstorable")]
        if errors:
            raise ValidationError(errors)
