from rest_framework import serializers

from apps.inbox.models import Conversation, ConversationState
from apps.notifications.models import Message


class ConversationMessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "direction", "kind", "body", "status", "error_code", "error", "created_at", "sent_at",
                  "delivered_at", "read_at", "failed_at", "received_at", "sent_by"]
        read_only_fields = fields


class ConversationSerializer(serializers.ModelSerializer):
    display_name = serializers.CharField(read_only=True)
    display_phone = serializers.CharField(read_only=True)
    effective_state = serializers.CharField(read_only=True)
    unread = serializers.IntegerField(read_only=True)
    last_message_at = serializers.DateTimeField(read_only=True)
    last_body = serializers.CharField(read_only=True)

    class Meta:
        model = Conversation
        fields = ["id", "patient", "phone", "display_name", "display_phone", "state", "effective_state",
                  "assigned_to", "last_read_at", "unread", "last_message_at", "last_body"]
        read_only_fields = fields


class ConversationUpdateSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=ConversationState.choices, required=False)
    assigned_to = serializers.IntegerField(required=False, allow_null=True)


class ReplySerializer(serializers.Serializer):
    body = serializers.CharField(allow_blank=True, trim_whitespace=False)
