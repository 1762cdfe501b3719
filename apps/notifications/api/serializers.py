from rest_framework import serializers

from apps.notifications.models import Message


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "patient", "appointment", "direction", "kind", "phone", "contact_name", "body", "status",
                  "error_code", "error", "attempts", "bridge_message_id", "reply_to", "created_at", "sent_at",
                  "delivered_at", "read_at", "failed_at", "received_at"]
        read_only_fields = fields
