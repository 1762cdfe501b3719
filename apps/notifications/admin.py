from django.contrib import admin

from apps.notifications.models import (
    Message,
    MessageTemplate,
    NotificationSettings,
    Reminder,
    ReminderRule,
    StaffAlert,
)


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ["organization", "whatsapp_enabled", "quiet_start", "quiet_end", "no_response_hours"]


@admin.register(ReminderRule)
class ReminderRuleAdmin(admin.ModelAdmin):
    list_display = ["organization", "lead_hours", "skip_within_hours", "is_enabled"]
    list_filter = ["organization"]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["organization", "kind", "language"]
    list_filter = ["kind", "language"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    # The ledger is written by the services only; the admin reads it.
    list_display = ["created_at", "organization", "direction", "kind", "phone", "status", "error_code"]
    list_filter = ["direction", "kind", "status"]
    search_fields = ["phone", "body", "bridge_message_id"]
    raw_id_fields = ["patient", "appointment", "reply_to", "rule", "sent_by"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    list_display = ["appointment", "rule", "appointment_start", "due_at", "status", "reason"]
    list_filter = ["status"]
    raw_id_fields = ["appointment", "message"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(StaffAlert)
class StaffAlertAdmin(admin.ModelAdmin):
    list_display = ["created_at", "organization", "kind", "text", "handled_at"]
    list_filter = ["kind"]
    raw_id_fields = ["patient", "appointment", "message"]
