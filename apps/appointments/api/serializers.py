from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework import serializers

from apps.appointments.models import (
    Appointment,
    AppointmentStatus,
    AppointmentType,
    CancelledBy,
    ConfirmationStatus,
    Provider,
    WorkingHours,
)
from opticaapp.api import DayField


class WorkingHoursSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkingHours
        fields = ["weekday", "start_time", "end_time"]


class ProviderSerializer(serializers.ModelSerializer):
    working_hours = WorkingHoursSerializer(many=True, read_only=True)
    feed_url = serializers.SerializerMethodField(
        help_text="Secret iCalendar feed URL; shown to managers and to the provider's own user only."
    )

    class Meta:
        model = Provider
        fields = ["id", "display_name", "user", "color", "is_active", "working_hours", "feed_url"]
        read_only_fields = ["id", "working_hours", "feed_url"]

    def get_fields(self):
        fields = super().get_fields()
        # Only the clinic's own members can be picked, so another clinic's user id answers like a missing one.
        organization = getattr(self.context.get("request"), "organization", None)
        queryset = fields["user"].queryset
        fields["user"].queryset = (queryset.filter(memberships__organization=organization,
                                                   memberships__is_active=True)
                                   if organization else queryset.none())
        return fields

    def get_feed_url(self, provider) -> str | None:
        request = self.context.get("request")
        membership = getattr(request, "membership", None)
        if request is None or membership is None:
            return None
        if not membership.is_manager and provider.user_id != request.user.pk:
            return None
        return request.build_absolute_uri(reverse("provider-feed", args=[provider.feed_token]))


class AppointmentTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = AppointmentType
        fields = ["id", "name", "duration_minutes", "color", "is_active"]
        read_only_fields = ["id"]


class AppointmentSerializer(serializers.ModelSerializer):
    patient_name = serializers.CharField(source="patient.full_name", read_only=True)
    provider_name = serializers.CharField(source="provider.display_name", read_only=True)
    appointment_type_name = serializers.CharField(source="appointment_type.name", read_only=True)
    cancelled_by = serializers.ChoiceField(choices=CancelledBy.choices, allow_blank=True, read_only=True,
                                           help_text="Empty unless the appointment was cancelled.")

    class Meta:
        model = Appointment
        fields = ["id", "patient", "patient_name", "provider", "provider_name", "appointment_type",
                  "appointment_type_name", "start", "end", "notes", "status", "confirmation", "booked_by",
                  "cancelled_by", "cancel_reason", "cancelled_late", "cancelled_at", "created_at", "updated_at"]
        read_only_fields = fields


class AppointmentFilterSerializer(serializers.Serializer):
    start = serializers.DateTimeField(required=False, help_text="Appointments ending after this instant.")
    end = serializers.DateTimeField(required=False, help_text="Appointments starting before this instant.")
    date_from = DayField(required=False, help_text="First local day of the clinic (included).")
    date_to = DayField(required=False, help_text="Last local day of the clinic (included).")
    provider = serializers.IntegerField(required=False)
    patient = serializers.IntegerField(required=False)
    status = serializers.MultipleChoiceField(choices=AppointmentStatus.choices, required=False)

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError({"date_to": [_("The last day must not be before the first.")]})
        return attrs


class AppointmentCreateSerializer(serializers.Serializer):
    patient = serializers.IntegerField()
    provider = serializers.IntegerField()
    appointment_type = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    override = serializers.BooleanField(required=False, default=False)


class AppointmentUpdateSerializer(serializers.Serializer):
    """Notes and type change in place; start, end or provider move the appointment."""

    notes = serializers.CharField(required=False, allow_blank=True)
    appointment_type = serializers.IntegerField(required=False)
    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False)
    provider = serializers.IntegerField(required=False)
    override = serializers.BooleanField(required=False, default=False)


class AppointmentCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=255)
    by_patient = serializers.BooleanField(required=False, default=False)


class AppointmentStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AppointmentStatus.choices)


class AppointmentConfirmationSerializer(serializers.Serializer):
    confirmation = serializers.ChoiceField(choices=ConfirmationStatus.choices)


class AvailabilityFilterSerializer(serializers.Serializer):
    appointment_type = serializers.IntegerField()
    date_from = DayField()
    date_to = DayField(required=False, help_text="Defaults to date_from.")
    provider = serializers.IntegerField(required=False)


class SlotSerializer(serializers.Serializer):
    provider = serializers.IntegerField(source="provider.pk")
    provider_name = serializers.CharField(source="provider.display_name")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class SlotListSerializer(serializers.Serializer):
    """Every free slot of the period at once (at most MAX_DAYS days, so never paginated)."""

    count = serializers.IntegerField()
    results = SlotSerializer(many=True)
