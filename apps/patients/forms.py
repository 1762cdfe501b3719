import zipfile
from decimal import Decimal, InvalidOperation

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.common.exceptions import ApplicationError
from apps.patients.models import EYES, Patient, Prescription, Visit
from apps.patients.models.optical import RANGES
from apps.patients.phones import phone_normalize
from apps.patients.selectors import optometrists_for_organization
from apps.patients.services import PATIENT_FIELDS, document_normalize
from apps.patients.services.optical import CONTACT_LENS_FIELDS


def form_service_call(form: forms.Form, call):
    """Run a service call; a refusal lands on the form (on the field it names). Returns None when refused."""
    try:
        return call()
    except ApplicationError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    except ValidationError as exc:
        add_service_errors(form, exc)
    return None


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form's fields (on the form itself for fields it lacks)."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = PATIENT_FIELDS
        widgets = {
            "birth_date": DateInput(),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "phone": forms.TextInput(attrs={"inputmode": "tel", "placeholder": "300 123 4567"}),
        }

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.instance.organization = organization
        self.fields["whatsapp_consent_source"].help_text = _("Required when the patient consents.")

    def clean_phone(self):
        try:
            return phone_normalize(self.cleaned_data["phone"], region=self.organization.default_phone_region)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["phone"]) from None

    def clean_document_number(self):
        return document_normalize(self.cleaned_data["document_number"])

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("whatsapp_consent"):
            cleaned["whatsapp_consent_source"] = ""
        return cleaned


class VisitForm(forms.ModelForm):
    class Meta:
        model = Visit
        fields = ("visit_date", "optometrist", "reason", "anamnesis", "findings", "diagnosis", "plan")
        widgets = {
            "visit_date": DateInput(),
            **{name: forms.Textarea(attrs={"rows": 3}) for name in ("anamnesis", "findings", "diagnosis", "plan")},
        }

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["optometrist"].queryset = optometrists_for_organization(organization=organization)
        self.fields["optometrist"].label_from_instance = lambda user: user.get_full_name()


class AddendumForm(forms.Form):
    text = forms.CharField(label=_("Addendum"), widget=forms.Textarea(attrs={"rows": 3}))


class RxDecimalField(forms.DecimalField):
    """A dioptre or millimetre value typed as people type it: "0,25", "0.25", "+1,50", "-2".

    Either mark is read as the decimal separator and neither as a thousands separator (values
    here never reach a thousand), so "0,25" can never become 25. Shown in the active language's
    style. A text input, not a number input: browsers drop a comma they do not expect.
    """

    widget = forms.TextInput

    def __init__(self, **kwargs):
        kwargs.setdefault("localize", True)
        super().__init__(**kwargs)

    def widget_attrs(self, widget):
        return {"inputmode": "decimal", "autocomplete": "off", "size": "6"}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip().replace(" ", "").replace("\u2212", "-")
        if text.count(",") + text.count(".") > 1:
            raise ValidationError(_("Write one decimal mark only, as in 0,25 or 0.25."), code="invalid")
        try:
            return Decimal(text.replace(",", "."))
        except InvalidOperation as exc:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from exc



class PrescriptionForm(forms.ModelForm):
    class Meta:
        model = Prescription
        fields = ("kind", "visit", *Prescription.VALUE_FIELDS, "expires_on", "notes")
        widgets = {"expires_on": DateInput(), "notes": forms.Textarea(attrs={"rows": 2})}
        field_classes = {name: RxDecimalField for name in (*(f"{eye}_{kind}" for eye in EYES for kind in RANGES),
                                                           "pd")}

    def __init__(self, *args, patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.patient = patient
        self.instance.organization_id = patient.organization_id
        self.fields["visit"].queryset = Visit.objects.filter(patient=patient)
        for eye in EYES:
            self.fields[f"{eye}_axis"].widget.attrs.update({"min": "1", "max": "180", "step": "1"})

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == "spectacles":
            for field in CONTACT_LENS_FIELDS:
                if cleaned.get(field) not in (None, ""):
                    self.add_error(field, _("Base curve, diameter and brand are for contact lenses."))
        return cleaned

    ROW_LABELS = {
        "sphere": _("Sphere"), "cylinder": _("Cylinder"), "axis": _("Axis"),
        "add": pgettext_lazy("optical prescription", "Add"), "prism": _("Prism"),
        "prism_base": _("Prism base"), "va_distance": _("Distance VA"), "va_near": _("Near VA"),
        "pd": _("Monocular PD (mm)"), "base_curve": _("Base curve (mm)"), "diameter": _("Diameter (mm)"),
        "brand": _("Lens brand"),
    }

    def eye_rows(self):
        """The per-eye fields as a grid for the template: [(label, [OD bound field, OS bound field]), ...]."""
        return [(label, [self[f"{eye}_{name}"] for eye in EYES]) for name, label in self.ROW_LABELS.items()]


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (CSV or XLSX)"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise ValidationError(_("Upload a .csv or .xlsx file."))
        if upload.size > settings.PATIENT_IMPORT_MAX_BYTES:
            raise ValidationError(_("The file is larger than %(size)s MB.")
                                  % {"size": settings.PATIENT_IMPORT_MAX_BYTES // (1024 * 1024)})
        # An .xlsx is a zip archive: a damaged one is refused now rather than by the check job later.
        if upload.name.lower().endswith(".xlsx") and not zipfile.is_zipfile(upload):
            raise ValidationError(_("This file could not be read as a spreadsheet."))
        upload.seek(0)
        return upload
