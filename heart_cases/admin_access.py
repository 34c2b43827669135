"""Django admin pages that show a neighbor's data write the access log, as every other page and
endpoint does: the change (view) page, the history list and each past version, the delete
confirmation, and the list page (one entry per case shown, so that a case's review finds it).

Use `AccessLoggedAdmin` as the first base of the admin of any model that holds a neighbor's
data; tests/heart_cases/test_access_logged_everywhere.py finds the admins that forget it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin

from . import services
from .middleware import client_address
from .models import AccessLog, Case


class AccessLoggedAdmin(SimpleHistoryAdmin):
    def access_log_case_id(self, obj: Any) -> int | None:
        """The case whose data `obj` is (None for a neighbor's own record, which the entry's
        object names)."""
        if isinstance(obj, Case):
            return obj.pk
        return getattr(obj, "case_id", None)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if obj is not None and not add:
            self._log_view(request, obj, self.model._meta.model_name)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def render_delete_form(self, request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
        obj = context.get("object")
        if obj is not None:
            self._log_view(request, obj, self.model._meta.model_name)
        return super().render_delete_form(request, context)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not hasattr(self.model._meta, "simple_history_manager_attribute"):
            # A model that keeps no history of its own (notices): Django's admin log instead.
            return admin.ModelAdmin.history_view(self, request, object_id, extra_context)
        return super().history_view(request, object_id, extra_context)

    def render_history_view(
        self, request: HttpRequest, template: str, context: dict[str, Any], **kwargs: Any
    ) -> HttpResponse:
        # The history list names the object ("object"); a past version shows it ("original").
        obj = context.get("original", context.get("object"))
        if obj is not None:
            self._log_view(request, obj, f"{self.model._meta.model_name}_history")
        return super().render_history_view(request, template, context, **kwargs)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is None:  # a redirect or an error page: no rows shown
            return response
        # The template iterates the same page of rows: reading them here costs no query.
        shown: dict[int | None, list[int]] = defaultdict(list)
        for obj in changelist.result_list:
            shown[self.access_log_case_id(obj)].append(obj.pk)
        if shown:
            services.access_log_write_by_case(
                user=request.user,
                action=AccessLog.Action.LIST,
                object_type=self.model._meta.model_name or "",
                ids_by_case=shown,
                **_where(request),
            )
        return response

    def _log_view(self, request: HttpRequest, obj: Any, object_type: str | None) -> None:
        services.access_log_write(
            user=request.user,
            action=AccessLog.Action.VIEW,
            object_type=object_type or "",
            object_ids=[obj.pk],
            case_id=self.access_log_case_id(obj),
            **_where(request),
        )


def _where(request: HttpRequest) -> dict[str, Any]:
    return {
        "client_address": client_address(request),
        "request_id": getattr(request, "request_id", ""),
        "path": request.path,
    }
