from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from apps.orders.models import Lab, LineKind, Order, OrderStatus, PaymentMethod, ShopSettings, Treatment
from apps.orders.money import major_text, to_minor
from apps.orders.selectors import labs_active
from apps.orders.services import DETAIL_FIELDS
from apps.patients.forms import DateInput


class MoneyField(forms.CharField):
    """An amount typed in major units ("350.000", "12,50"), cleaned to integer minor units."""

    def __init__(self, *args, currency: str = "COP", **kwargs):
        self.currency = currency
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(*args, **kwargs)

    def prepare_value(self, value):
        return major_text(value, self.currency) if isinstance(value, int) else value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return to_minor(value, self.currency)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


class OrderForm(forms.ModelForm):
    treatments = forms.MultipleChoiceField(label=_("Treatments"), choices=Treatment.choices, required=False,
                                           widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Order
        fields = DETAIL_FIELDS
        widgets = {"promised_date": DateInput(), "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        labs = labs_active(organization=organization)
        if self.instance.lab_id:
            labs = labs | Lab.objects.filter(pk=self.instance.lab_id)
        self.fields["lab"].queryset = labs

    def data_for_service(self) -> dict:
        return {field: self.cleaned_data[field] for field in DETAIL_FIELDS if field in self.cleaned_data}


class OrderLineForm(forms.Form):
    kind = forms.ChoiceField(label=_("Item"), choices=LineKind.choices)
    description = forms.CharField(label=_("Description"), max_length=200)
    quantity = forms.IntegerField(label=_("Quantity"), initial=1)
    unit_price = MoneyField(label=_("Unit price"))
    discount = MoneyField(label=_("Discount"), required=False)

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit_price"].currency = self.fields["discount"].currency = currency


class PaymentForm(forms.Form):
    amount = MoneyField(label=_("Amount"))
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices)
    reference = forms.CharField(label=_("Reference"), max_length=80, required=False)

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].currency = currency


class LabForm(forms.ModelForm):
    class Meta:
        model = Lab
        fields = ["name", "phone", "email", "turnaround_days", "is_active"]


class ShopSettingsForm(forms.ModelForm):
    class Meta:
        model = ShopSettings
        fields = ["currency", "opening_hours"]


class OrderFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All open orders")), *OrderStatus.choices],
                               widget=forms.Select(attrs={"class": "form-select"}))
    overdue = forms.BooleanField(label=_("Overdue at the lab"), required=False)


class DayForm(forms.Form):
    day = forms.DateField(label=_("Day"), required=False, widget=DateInput())
