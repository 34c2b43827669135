"""The directory is configuration: administrators keep it in the Django admin (history records
who changed what). Referrals and consent change only through the referral services, so the
admin shows them read-only, and writes the access log for each read of them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from heart_cases.admin_access import AccessLoggedAdmin

from .models import (
    Consent,
    Location,
    Provider,
    ProviderMembership,
    Referral,
    Service,
    ServiceLanguage,
)


class ServiceInline(admin.TabularInline):
    model = Service
    extra = 0
    fields = ("name", "category", "hours", "phone", "accepting_referrals")
    show_change_link = True


class LocationInline(admin.TabularInline):
    model = Location
    extra = 0
    fields = ("name", "address", "latitude", "longitude", "phone")


@admin.register(Provider)
class ProviderAdmin(SimpleHistoryAdmin):
    list_display = ("name", "slug", "accepting_referrals", "email", "contact_language", "hsds_id")
    list_filter = ("accepting_referrals",)
    search_fields = ("name", "slug", "hsds_id")
    inlines = [ServiceInline, LocationInline]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class ServiceLanguageInline(admin.TabularInline):
    model = ServiceLanguage
    extra = 0
    fields = ("code",)


@admin.register(Service)
class ServiceAdmin(SimpleHistoryAdmin):
    list_display = ("name", "provider", "category", "accepting_referrals")
    list_filter = ("category", "accepting_referrals")
    search_fields = ("name", "provider__name", "hsds_id")
    inlines = [ServiceLanguageInline]


@admin.register(ProviderMembership)
class ProviderMembershipAdmin(SimpleHistoryAdmin):
    list_display = ("user", "provider")


class ReadOnlyAdmin(SimpleHistoryAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Referral)
class ReferralAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    list_display = ("id", "case", "provider", "service", "status", "requested_at")
    list_filter = ("status",)
    list_select_related = ("case", "provider", "service")


@admin.register(Consent)
class ConsentAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    list_display = ("id", "case", "provider", "method", "obtained_at", "withdrawn_at")
    list_select_related = ("case", "provider")
