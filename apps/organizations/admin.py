from django.contrib import admin

from apps.organizations.models import ApiToken, Membership, Organization


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "default_phone_region", "is_active", "created_at"]
    list_filter = ["is_active", "time_zone", "default_phone_region"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "is_active", "created_at"]
    list_filter = ["role", "is_active", "organization"]
    search_fields = ["user__email", "user__full_name", "organization__name"]
    autocomplete_fields = ["user", "organization"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "created_at", "last_used_at", "expires_at"]
    list_filter = ["organization"]
    search_fields = ["user__email", "organization__name"]
    readonly_fields = ["key", "created_at", "last_used_at"]
    autocomplete_fields = ["user", "organization"]
