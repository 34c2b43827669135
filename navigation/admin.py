from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from heart_cases.admin_access import AccessLoggedAdmin

from .models import (
    ContactAttempt,
    FollowUpTask,
    Notice,
    Pair,
    PairAssignment,
    PairDutyWindow,
    ServiceSchedule,
    ServiceWindow,
)


class ServiceWindowInline(admin.TabularInline):
    model = ServiceWindow
    extra = 0


@admin.register(ServiceSchedule)
class ServiceScheduleAdmin(SimpleHistoryAdmin):
    list_display = ("program", "name", "time_zone", "works_holidays", "active")
    list_editable = ("active",)
    inlines = [ServiceWindowInline]


class PairDutyWindowInline(admin.TabularInline):
    model = PairDutyWindow
    extra = 0


@admin.register(Pair)
class PairAdmin(SimpleHistoryAdmin):
    list_display = ("id", "clinician", "peer", "active", "capacity")
    list_filter = ("active",)
    inlines = [PairDutyWindowInline]


class ReadOnlyAdmin(SimpleHistoryAdmin):
    """Care records change only through the services (attempts, sweeps), which keep history."""

    list_display: tuple[str, ...] = ("id",)
    list_filter: tuple[str, ...] = ()

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(FollowUpTask)
class FollowUpTaskAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    list_display = ("id", "case", "kind", "status", "work_by", "deadline", "pair")
    list_filter = ("status", "kind")


@admin.register(ContactAttempt)
class ContactAttemptAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    list_display = ("id", "case", "method", "outcome", "occurred_at", "made_by")
    list_filter = ("method", "outcome")


@admin.register(PairAssignment)
class PairAssignmentAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    list_display = ("id", "case", "pair", "assigned_at", "ended_at")
    list_filter = ()


@admin.register(Notice)
class NoticeAdmin(AccessLoggedAdmin, ReadOnlyAdmin):
    list_display = ("id", "kind", "subject_key", "created_at", "created_by")
    list_filter = ("kind",)
