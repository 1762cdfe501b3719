import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.appointments.models import CancelledBy, ConfirmationStatus
from apps.appointments.selectors import appointment_type_list, provider_list
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
