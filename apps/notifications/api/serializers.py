from rest_framework import serializers

from apps.notifications.models import Direction, Message, MessageKind, MessageStatus
from opticaapp.api import DayField


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "patient", "appointment", "direction", "kind", "phone", "contact_name", "body", "status",
                  "error_code", "error", "attempts", "bridge_message_id", "reply_to", "created_at", "sent_at",
                  "delivered_at", "read_at", "failed_at", "received_at"]
        read_only_fields = fields


class MessageFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=MessageStatus.choices, required=False)
    kind = serializers.ChoiceField(choices=MessageKind.choices, required=False)
    direction = serializers.ChoiceField(choices=Direction.choices, required=False)
    patient = serializers.IntegerField(required=False, min_value=1)
    date_from = DayField(required=False, help_text="First local day of the clinic (included).")
    date_to = DayField(required=False, help_text="Last local day of the clinic (included).")
