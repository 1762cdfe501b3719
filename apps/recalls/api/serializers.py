from rest_framework import serializers

from apps.recalls.models import Recall, RecallKind, RecallStatus


class RecallSerializer(serializers.ModelSerializer):
    patient_name = serializers.CharField(source="patient.full_name", read_only=True)
    kind = serializers.CharField(source="rule.kind", read_only=True)

    class Meta:
        model = Recall
        fields = ["id", "patient", "patient_name", "rule", "kind", "anchor_date", "due_on", "status", "message",
                  "appointment", "contacted_at", "booking_requested_at", "closed_at", "handled_by", "created_at"]
        read_only_fields = fields


class RecallFilterSerializer(serializers.Serializer):
    status = serializers.MultipleChoiceField(choices=RecallStatus.choices, required=False)
    kind = serializers.ChoiceField(choices=RecallKind.choices, required=False)
    patient = serializers.IntegerField(required=False)


class RecallStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RecallStatus.choices)
