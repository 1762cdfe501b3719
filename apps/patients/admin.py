from django.contrib import admin

from apps.patients.models import AuditEvent, Patient, PatientImport, Prescription, Visit, VisitAddendum


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_name", "document_type", "document_number", "phone", "organization",
                    "whatsapp_consent", "whatsapp_opted_out", "is_active"]
    list_filter = ["organization", "is_active", "whatsapp_consent", "whatsapp_opted_out"]
    search_fields = ["first_name", "last_name", "document_number", "phone"]
    list_select_related = ["organization"]


class AddendumInline(admin.TabularInline):
    model = VisitAddendum
    extra = 0
    can_delete = False
    readonly_fields = ["author", "text", "created_at"]


@admin.register(Visit)
class VisitAdmin(admin.ModelAdmin):
    list_display = ["patient", "visit_date", "optometrist", "signed_at", "organization"]
    list_filter = ["organization"]
    raw_id_fields = ["patient", "optometrist", "created_by", "signed_by"]
    inlines = [AddendumInline]


@admin.register(Prescription)
class PrescriptionAdmin(admin.ModelAdmin):
    list_display = ["patient", "kind", "status", "issued_on", "prescriber", "organization"]
    list_filter = ["organization", "kind", "status"]
    raw_id_fields = ["patient", "visit", "created_by", "prescriber", "supersedes"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "organization", "actor", "source", "action", "object_type", "object_id"]
    list_filter = ["organization", "action", "source", "object_type"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PatientImport)
class PatientImportAdmin(admin.ModelAdmin):
    list_display = ["filename", "organization", "created_by", "status", "created_count", "created_at"]
    exclude = ["rows"]
