from django.contrib import admin

from apps.recalls.models import Recall, RecallRule


@admin.register(RecallRule)
class RecallRuleAdmin(admin.ModelAdmin):
    list_display = ["organization", "kind", "months", "is_enabled"]
    list_filter = ["kind", "is_enabled", "organization"]


@admin.register(Recall)
class RecallAdmin(admin.ModelAdmin):
    list_display = ["patient", "organization", "rule", "anchor_date", "due_on", "status", "contacted_at"]
    list_filter = ["status", "rule__kind", "organization"]
    search_fields = ["patient__first_name", "patient__last_name", "patient__document_number"]
    raw_id_fields = ["patient", "message", "appointment", "handled_by"]
