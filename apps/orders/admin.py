from django.contrib import admin

from apps.orders.models import Lab, Order, OrderEvent, OrderLine, OrderMessage, Payment, ShopSettings


class _RecordInline(admin.TabularInline):
    """Shown, not edited: lines, payments and moves go through the shop's services (balance checks, history)."""

    extra = 0
    can_delete = False
    exclude = ["organization"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderLineInline(_RecordInline):
    model = OrderLine


class PaymentInline(_RecordInline):
    model = Payment


class OrderEventInline(_RecordInline):
    model = OrderEvent


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Read-mostly: orders change through the shop (staff UI or API) so that every move is recorded."""

    list_display = ["number", "organization", "patient", "kind", "status", "lab", "promised_date", "created_at"]
    list_filter = ["status", "kind", "organization"]
    search_fields = ["number", "patient__first_name", "patient__last_name", "patient__document_number"]
    raw_id_fields = ["patient", "prescription", "created_by"]
    # The status moves through the shop's transition table, never by editing the field.
    readonly_fields = ["number", "status", "currency", "ready_at", "delivered_at"]
    inlines = [OrderLineInline, PaymentInline, OrderEventInline]


@admin.register(Lab)
class LabAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "phone", "turnaround_days", "is_active"]
    list_filter = ["is_active", "organization"]
    search_fields = ["name"]


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["order", "organization", "amount", "currency", "method", "kind", "received_at", "received_by"]
    list_filter = ["method", "kind", "organization"]
    readonly_fields = ["order", "organization", "amount", "currency", "method", "kind", "reference", "received_at",
                       "received_by"]

    def has_add_permission(self, request):
        return False


@admin.register(ShopSettings)
class ShopSettingsAdmin(admin.ModelAdmin):
    list_display = ["organization", "currency", "opening_hours"]


@admin.register(OrderMessage)
class OrderMessageAdmin(admin.ModelAdmin):
    list_display = ["order", "purpose", "message", "created_at"]
    list_filter = ["purpose"]
    raw_id_fields = ["order", "message"]
