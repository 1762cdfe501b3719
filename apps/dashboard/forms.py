import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _


class PeriodForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    MAX_DAYS = 366

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end must not be before the start."))
        elif start and end and (end - start).days > self.MAX_DAYS:
            self.add_error("date_from", _("Choose at most a year."))
        return data

    def period(self, *, today: dt.date) -> tuple[dt.date, dt.date]:
        """Chosen (inclusive) days, or the last 8 weeks up to today."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        end = data.get("date_to") or today
        start = data.get("date_from") or end - dt.timedelta(weeks=8)
        return start, end
