from django.contrib import admin

from apps.appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentType,
    Provider,
    SchedulingSettings,
    TimeOff,
    WorkingHours,
)


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0
    exclude = ["organization"]


class TimeOffInline(admin.TabularInline):
    model = TimeOff
    extra = 0
    exclude = ["organization"]


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["display_name", "organization", "user", "is_active"]
    list_filter = ["is_active", "organization"]
    search_fields = ["display_name", "user__email"]
    raw_id_fields = ["user"]
    inlines = [WorkingHoursInline, TimeOffInline]

    def save_formset(self, request, form, formset, change):
        # Hours and time off belong to the provider's clinic; the admin does not ask for it.
        for instance in formset.save(commit=False):
            instance.organization = form.instance.organization
            instance.save()
        for obj in formset.deleted_objects:
            obj.delete()


@admin.register(AppointmentType)
class AppointmentTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "duration_minutes", "is_active"]
    list_filter = ["is_active", "organization"]
    search_fields = ["name"]


@admin.register(SchedulingSettings)
class SchedulingSettingsAdmin(admin.ModelAdmin):
    list_display = ["organization", "late_cancel_hours", "slot_minutes"]


class AppointmentEventInline(admin.TabularInline):
    model = AppointmentEvent
    extra = 0
    can_delete = False
    readonly_fields = ["created_at", "kind", "from_value", "to_value", "actor", "source"]
    exclude = ["organization"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    """Read-mostly: changes go through the services (staff UI or API) so that they are recorded."""

    list_display = ["start", "patient", "provider", "appointment_type", "status", "confirmation", "organization"]
    list_filter = ["status", "confirmation", "organization"]
    search_fields = ["patient__first_name", "patient__last_name", "patient__document_number"]
    date_hierarchy = "start"
    raw_id_fields = ["patient", "booked_by"]
    readonly_fields = ["status", "confirmation", "cancelled_by", "cancel_reason", "cancelled_late", "cancelled_at"]
    inlines = [AppointmentEventInline]
