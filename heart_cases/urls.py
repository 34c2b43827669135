from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import api, auth_api, errors, health, session_views, views

api_v1: list[URLPattern | URLResolver] = [
    path("field-responses/", api.FieldResponseCreateApi.as_view(), name="field-responses"),
    path("cases/", api.CaseListApi.as_view(), name="cases"),
    path("cases/<int:case_id>/", api.CaseDetailApi.as_view(), name="case-detail"),
    path("cases/<int:case_id>/history/", api.CaseHistoryApi.as_view(), name="case-history"),
    path("cases/<int:case_id>/close/", api.CaseCloseApi.as_view(), name="case-close"),
    path("access-log/", api.AccessLogApi.as_view(), name="access-log"),
    path(
        "neighbors/<int:neighbor_id>/export/",
        api.NeighborExportApi.as_view(),
        name="neighbor-export",
    ),
    path("access-log/export/", api.AccessLogExportApi.as_view(), name="access-log-export"),
    path("auth/logout/", auth_api.LogoutApi.as_view(), name="auth-logout"),
    path("", include("navigation.api_urls")),
    path("", include("referrals.api_urls")),
    path("", include("metrics.api_urls")),
]

if settings.HEART_BENCH_ENDPOINTS:
    api_v1.append(path("bench/bare-row/", api.BareRowApi.as_view(), name="bench-bare-row"))

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
    path("cases/<int:case_id>/", views.case_page, name="case"),
    path("access-log/", views.access_log_page, name="access-log-page"),
    path("healthz", health.healthz, name="healthz"),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    # Last: under /api/ even a path that matches nothing answers JSON.
    re_path(r"^api/", errors.api_not_found),
]

handler404 = errors.not_found
handler500 = errors.server_error
