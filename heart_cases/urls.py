from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import (
    api,
    auth_api,
    case_list_views,
    close_views,
    debriefs,
    errors,
    field_response_views,
    health,
    language,
    neighbor_views,
    neighbors_api,
    notes,
    notes_api,
    session_views,
    views,
)

api_v1: list[URLPattern | URLResolver] = [
    path("field-responses/", api.FieldResponseCreateApi.as_view(), name="field-responses"),
    path("cases/", api.CaseListApi.as_view(), name="cases"),
    path("cases/<int:case_id>/", api.CaseDetailApi.as_view(), name="case-detail"),
    path("cases/<int:case_id>/history/", api.CaseHistoryApi.as_view(), name="case-history"),
    path("cases/<int:case_id>/close/", api.CaseCloseApi.as_view(), name="case-close"),
    path("cases/<int:case_id>/notes/", notes_api.CaseNotesApi.as_view(), name="case-notes"),
    path("debriefs/", debriefs.DebriefListApi.as_view(), name="debriefs"),
    path("debriefs/<int:debrief_id>/done/", debriefs.DebriefDoneApi.as_view(), name="debrief-done"),
    path("access-log/", api.AccessLogApi.as_view(), name="access-log"),
    path(
        "neighbors/<int:neighbor_id>/export/",
        api.NeighborExportApi.as_view(),
        name="neighbor-export",
    ),
    path("access-log/export/", api.AccessLogExportApi.as_view(), name="access-log-export"),
    path("neighbors/", neighbors_api.NeighborSearchApi.as_view(), name="neighbors"),
    path(
        "neighbors/<int:neighbor_id>/",
        neighbors_api.NeighborDetailApi.as_view(),
        name="neighbor-detail",
    ),
    path(
        "neighbors/<int:neighbor_id>/contacts/",
        neighbors_api.ContactCreateApi.as_view(),
        name="neighbor-contacts",
    ),
    path(
        "neighbors/<int:neighbor_id>/unlink/",
        neighbors_api.NeighborUnlinkApi.as_view(),
        name="neighbor-unlink",
    ),
    path(
        "possible-duplicates/",
        neighbors_api.DuplicateListApi.as_view(),
        name="possible-duplicates",
    ),
    path(
        "possible-duplicates/<int:duplicate_id>/link/",
        neighbors_api.DuplicateLinkApi.as_view(),
        name="possible-duplicate-link",
    ),
    path(
        "possible-duplicates/<int:duplicate_id>/dismiss/",
        neighbors_api.DuplicateDismissApi.as_view(),
        name="possible-duplicate-dismiss",
    ),
    path("auth/logout/", auth_api.LogoutApi.as_view(), name="auth-logout"),
    path("", include("navigation.api_urls")),
    path("", include("referrals.api_urls")),
    path("", include("calls.api_urls")),
    path("", include("metrics.api_urls")),
]

if settings.HEART_BENCH_ENDPOINTS:
    from .bench_api import SqlRowsApi

    api_v1.append(path("bench/bare-row/", api.BareRowApi.as_view(), name="bench-bare-row"))
    api_v1.append(path("bench/sql-rows/", SqlRowsApi.as_view(), name="bench-sql-rows"))

urlpatterns = [
    path("", include("navigation.urls")),
    path("", include("referrals.urls")),
    path("", include("metrics.urls")),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="heart_cases/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("session/extend/", session_views.session_extend, name="session-extend"),
    path("language/", language.language_choose, name="set-language"),
    path("cases/", case_list_views.case_list_page, name="case-list-page"),
    path("cases/<int:case_id>/", views.case_page, name="case"),
    path("neighbors/", neighbor_views.neighbor_search_page, name="neighbor-search"),
    path("neighbors/<int:neighbor_id>/", neighbor_views.neighbor_page, name="neighbor"),
    path(
        "neighbors/<int:neighbor_id>/contacts/",
        neighbor_views.neighbor_contact_add_page,
        name="neighbor-contact-add",
    ),
    path(
        "neighbors/<int:neighbor_id>/unlink/",
        neighbor_views.neighbor_unlink_page,
        name="neighbor-unlink-page",
    ),
    path(
        "possible-duplicates/",
        neighbor_views.possible_duplicates_page,
        name="possible-duplicates-page",
    ),
    path(
        "possible-duplicates/<int:duplicate_id>/link/",
        neighbor_views.possible_duplicate_link_page,
        name="possible-duplicate-link-page",
    ),
    path(
        "possible-duplicates/<int:duplicate_id>/dismiss/",
        neighbor_views.possible_duplicate_dismiss_page,
        name="possible-duplicate-dismiss-page",
    ),
    path("cases/<int:case_id>/notes/new/", notes.case_note_page, name="case-note-page"),
    path("cases/<int:case_id>/close/", close_views.case_close_page, name="case-close-page"),
    path(
        "field-responses/new/",
        field_response_views.field_response_new,
        name="field-response-new",
    ),
    path("debriefs/", field_response_views.debriefs_page, name="debriefs-page"),
    path(
        "debriefs/<int:debrief_id>/done/",
        field_response_views.debrief_done_page,
        name="debrief-done-page",
    ),
    path("access-log/", views.access_log_page, name="access-log-page"),
    path("healthz", health.healthz, name="healthz"),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    path("hsds/", include("referrals.hsds_urls")),
    path("fhir/", include("referrals.fhir_urls")),
    # Last: under /api/ even a path that matches nothing answers JSON.
    re_path(r"^api/", errors.api_not_found),
]

handler404 = errors.not_found
handler500 = errors.server_error
