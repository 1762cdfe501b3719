import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.appointments.models import CancelledBy, ConfirmationStatus
from apps.appointments.selectors import appointment_type_list, provider_list
from apps.common.models import Weekday
from apps.organizations.scoping import scoped

# Service errors name model fields; the forms ask for a date and a time instead of a start.
SERVICE_FIELD_TO_FORM = {"start": "time", "end": "time"}


class _ScheduleForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    time = forms.TimeField(label=_("Time"), widget=forms.TimeInput(attrs={"type": "time", "step": 300}, format="%H:%M"))
    override = forms.BooleanField(
        label=_("Override the schedule rules (past time, outside working hours, time off)"), required=False
    )

    def __init__(self, *args, organization, can_override: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        if not can_override:
            del self.fields["override"]

    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.cleaned_data["date"], self.cleaned_data["time"], tzinfo=self.organization.zone)

    def add_service_error(self, exc) -> None:
        field = SERVICE_FIELD_TO_FORM.get(exc.field, exc.field)
        self.add_error(field if field in self.fields else None, exc.message)


class AppointmentBookForm(_ScheduleForm):
    patient = forms.IntegerField(label=_("Patient"), widget=forms.HiddenInput,
                                 error_messages={"required": _("Search and choose a patient.")})
    provider = forms.ModelChoiceField(label=_("Provider"), queryset=None)
    appointment_type = forms.ModelChoiceField(label=_("Appointment type"), queryset=None)
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    field_order = ["patient", "provider", "appointment_type", "date", "time", "notes", "override"]

    def __init__(self, *args, organization, can_override: bool, **kwargs):
        super().__init__(*args, organization=organization, can_override=can_override, **kwargs)
        self.fields["provider"].queryset = provider_list(organization=organization)
        self.fields["appointment_type"].queryset = appointment_type_list(organization=organization)

    def clean_patient(self):
        from apps.patients.models import Patient

        patient = scoped(Patient, self.organization).filter(pk=self.cleaned_data["patient"]).first()
        if patient is None:
            raise forms.ValidationError(_("Search and choose a patient of this clinic."))
        return patient


class AppointmentMoveForm(_ScheduleForm):
    provider = forms.ModelChoiceField(label=_("Provider"), queryset=None)

    field_order = ["provider", "date", "time", "override"]

    def __init__(self, *args, organization, can_override: bool, **kwargs):
        super().__init__(*args, organization=organization, can_override=can_override, **kwargs)
        self.fields["provider"].queryset = provider_list(organization=organization)


class AppointmentCancelForm(forms.Form):
    cancelled_by = forms.ChoiceField(label=_("Who cancels"), choices=CancelledBy.choices, initial=CancelledBy.STAFF)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=255)


class ConfirmationForm(forms.Form):
    confirmation = forms.ChoiceField(label=_("Confirmation"), choices=ConfirmationStatus.choices)


class SlotQueryForm(forms.Form):
    appointment_type = forms.ModelChoiceField(queryset=None)
    provider = forms.ModelChoiceField(queryset=None, required=False)
    date = forms.DateField()

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = provider_list(organization=organization)
        self.fields["appointment_type"].queryset = appointment_type_list(organization=organization)


def _parse_blocks(text: str) -> list[tuple[dt.time, dt.time]]:
    blocks = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        try:
            start, end = (dt.time.fromisoformat(value.strip()) for value in part.split("-"))
        except ValueError:
            raise forms.ValidationError(_("Write blocks like 08:00-12:00, 14:00-18:00.")) from None
        if start >= end:
            raise forms.ValidationError(_("Each block must end after it starts."))
        blocks.append((start, end))
    return blocks


class ProviderForm(forms.Form):
    display_name = forms.CharField(label=_("Name"), max_length=120)
    user = forms.ModelChoiceField(label=_("Staff member"), queryset=None, required=False,
                                  help_text=_("Whose agenda this is, if they use OpticaApp."))
    color = forms.CharField(label=_("Colour"), max_length=7, initial="#0d6efd",
                            widget=forms.TextInput(attrs={"type": "color"}))
    is_active = forms.BooleanField(label=_("Takes appointments"), required=False, initial=True)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        from django.contrib.auth import get_user_model

        self.fields["user"].queryset = get_user_model().objects.filter(
            memberships__organization=organization, memberships__is_active=True
        ).order_by("full_name")


class WorkingHoursForm(forms.Form):
    """One line per weekday, e.g. "08:00-12:00, 14:00-18:00"; empty means not working."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for value, label in Weekday.choices:
            self.fields[f"day_{value}"] = forms.CharField(label=label, required=False,
                                                          widget=forms.TextInput(attrs={"placeholder": "08:00-18:00"}))

    @staticmethod
    def initial_for(provider) -> dict:
        initial = {}
        for block in provider.working_hours.all():
            key = f"day_{block.weekday}"
            text = f"{block.start_time:%H:%M}-{block.end_time:%H:%M}"
            initial[key] = f"{initial[key]}, {text}" if key in initial else text
        return initial

    def blocks(self) -> list[tuple[int, dt.time, dt.time]]:
        return [(int(name.removeprefix("day_")), start, end)
                for name, value in self.cleaned_data.items() for start, end in value]

    def clean(self):
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            try:
                cleaned[name] = _parse_blocks(value or "")
            except forms.ValidationError as exc:
                self.add_error(name, exc)
        return cleaned


class TimeOffForm(forms.Form):
    start_date = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    start_time = forms.TimeField(label=_("at"), initial=dt.time(0),
                                 widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end_date = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end_time = forms.TimeField(label=_("at"), initial=dt.time(23, 59),
                               widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def period(self, zone) -> tuple[dt.datetime, dt.datetime]:
        data = self.cleaned_data
        return (dt.datetime.combine(data["start_date"], data["start_time"], tzinfo=zone),
                dt.datetime.combine(data["end_date"], data["end_time"], tzinfo=zone))


class AppointmentTypeForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), min_value=5, max_value=480, initial=30)
    color = forms.CharField(label=_("Colour"), max_length=7, initial="#6c757d",
                            widget=forms.TextInput(attrs={"type": "color"}))
    is_active = forms.BooleanField(label=_("Offered"), required=False, initial=True)


class SchedulingSettingsForm(forms.Form):
    late_cancel_hours = forms.IntegerField(
        label=_("Late cancellation (hours before)"), min_value=0, max_value=168,
        help_text=_("A cancellation closer than this to the start counts as late."),
    )
    slot_minutes = forms.TypedChoiceField(label=_("Calendar slot"), coerce=int,
                                          choices=[(m, f"{m} min") for m in (5, 10, 15, 20, 30, 60)])
    early_arrival_minutes = forms.IntegerField(
        label=_("Early arrival (minutes before)"), min_value=0, max_value=720, initial=60, required=False,
        help_text=_("How long before the start staff may record that the patient arrived."),
    )
