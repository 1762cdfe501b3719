from django.contrib import admin

from apps.whatsapp.models import ProcessedEvent, WhatsAppSession


@admin.register(WhatsAppSession)
class WhatsAppSessionAdmin(admin.ModelAdmin):
    list_display = ["organization", "engine", "status", "reason", "phone_number", "status_changed_at"]
    list_filter = ["status", "engine"]
    readonly_fields = ["organization", "status", "reason", "phone_number", "status_changed_at"]


@admin.register(ProcessedEvent)
class ProcessedEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "organization", "type", "processed_at"]
    list_filter = ["type"]
    search_fields = ["event_id"]

    def has_change_permission(self, request, obj=None):
        return False
