from django.utils.translation import gettext as _
from rest_framework import serializers

from apps.orders.models import (
    Lab,
    LensMaterial,
    LensType,
    LineKind,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentMethod,
    Treatment,
)

MINOR_UNITS = "In the order's currency, as an integer count of its minor units (COP 350.000 = 35000000)."


class LabSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lab
        fields = ["id", "name", "phone", "email", "turnaround_days", "is_active"]
        read_only_fields = ["id"]


class OrderLineSerializer(serializers.ModelSerializer):
    total = serializers.IntegerField(read_only=True, help_text=MINOR_UNITS)

    class Meta:
        model = OrderLine
        fields = ["id", "kind", "description", "quantity", "unit_price", "discount", "total"]
        read_only_fields = ["id", "total"]
        extra_kwargs = {"unit_price": {"help_text": MINOR_UNITS}, "discount": {"help_text": MINOR_UNITS}}


class OrderLineCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=LineKind.choices)
    description = serializers.CharField(max_length=200)
    quantity = serializers.IntegerField(default=1)
    unit_price = serializers.IntegerField(help_text=MINOR_UNITS)
    discount = serializers.IntegerField(default=0, help_text=MINOR_UNITS)

    def to_internal_value(self, data):
        # 12.5 would silently become 12: amounts are whole minor units, a fraction is refused.
        for field in ("unit_price", "discount", "quantity"):
            if isinstance(data, dict) and isinstance(data.get(field), float):
                raise serializers.ValidationError({field: [_("A whole number is required.")]})
        return super().to_internal_value(data)


class PaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["id", "order", "amount", "currency", "method", "kind", "reference", "received_at", "received_by"]
        read_only_fields = fields
        extra_kwargs = {"amount": {"help_text": MINOR_UNITS}}


class PaymentCreateSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    amount = serializers.IntegerField(help_text=MINOR_UNITS)
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    reference = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")

    def to_internal_value(self, data):
        if isinstance(data, dict) and isinstance(data.get("amount"), float):
            raise serializers.ValidationError({"amount": [_("A whole number is required.")]})
        return super().to_internal_value(data)


class PaymentFilterSerializer(serializers.Serializer):
    order = serializers.IntegerField(required=False)
    date_from = serializers.DateField(required=False, help_text="First local day of the clinic (included).")
    date_to = serializers.DateField(required=False, help_text="Last local day of the clinic (included).")


class OrderEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderEvent
        fields = ["from_status", "to_status", "actor", "source", "note", "created_at"]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    patient_name = serializers.CharField(source="patient.full_name", read_only=True)
    total = serializers.IntegerField(read_only=True, help_text=MINOR_UNITS)
    paid = serializers.IntegerField(read_only=True, help_text=MINOR_UNITS)
    balance = serializers.IntegerField(read_only=True, help_text=MINOR_UNITS)
    lines = OrderLineSerializer(many=True, read_only=True)
    events = OrderEventSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = ["id", "number", "reference", "patient", "patient_name", "prescription", "kind", "status", "lab",
                  "promised_date", "frame_brand", "frame_model", "frame_colour", "frame_size", "lens_type",
                  "lens_material", "lens_index", "treatments", "pd_od", "pd_os", "fitting_height", "segment_height",
                  "contact_lens_product", "notes", "currency", "total", "paid", "balance", "lines", "events",
                  "ready_at", "delivered_at", "created_at", "updated_at"]
        read_only_fields = fields


class OrderDetailsSerializer(serializers.Serializer):
    """What a client writes about an order; `lab` is an id of the caller's clinic."""

    lab = serializers.IntegerField(required=False, allow_null=True)
    promised_date = serializers.DateField(required=False, allow_null=True)
    frame_brand = serializers.CharField(required=False, allow_blank=True, max_length=80)
    frame_model = serializers.CharField(required=False, allow_blank=True, max_length=80)
    frame_colour = serializers.CharField(required=False, allow_blank=True, max_length=60)
    frame_size = serializers.CharField(required=False, allow_blank=True, max_length=30)
    lens_type = serializers.ChoiceField(choices=LensType.choices, required=False, allow_blank=True)
    lens_material = serializers.ChoiceField(choices=LensMaterial.choices, required=False, allow_blank=True)
    lens_index = serializers.DecimalField(max_digits=3, decimal_places=2, required=False, allow_null=True)
    treatments = serializers.ListField(child=serializers.ChoiceField(choices=Treatment.choices), required=False)
    pd_od = serializers.DecimalField(max_digits=3, decimal_places=1, required=False, allow_null=True)
    pd_os = serializers.DecimalField(max_digits=3, decimal_places=1, required=False, allow_null=True)
    fitting_height = serializers.DecimalField(max_digits=3, decimal_places=1, required=False, allow_null=True)
    segment_height = serializers.DecimalField(max_digits=3, decimal_places=1, required=False, allow_null=True)
    contact_lens_product = serializers.CharField(required=False, allow_blank=True, max_length=120)
    notes = serializers.CharField(required=False, allow_blank=True)


class OrderCreateSerializer(OrderDetailsSerializer):
    prescription = serializers.IntegerField(help_text="A final prescription of the caller's clinic.")


class OrderStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices)


class OrderFilterSerializer(serializers.Serializer):
    status = serializers.MultipleChoiceField(choices=OrderStatus.choices, required=False)
    patient = serializers.IntegerField(required=False)
    lab = serializers.IntegerField(required=False)
    overdue = serializers.BooleanField(required=False, help_text="Only orders at the lab past their promised date.")
