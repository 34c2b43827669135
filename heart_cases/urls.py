from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import api, health, views

api_v1 = [
    path("field-responses/", api.FieldResponseCreateApi.as_view(), name="field-responses"),
    path("cases/", api.CaseListApi.as_view(), name="cases"),
    path("cases/<int:case_id>/", api.CaseDetailApi.as_view(), name="case-detail"),
    path("cases/<int:case_id>/history/", api.CaseHistoryApi.as_view(), name="case-history"),
    path("cases/<int:case_id>/close/", api.CaseCloseApi.as_view(), name="case-close"),
    path("", include("navigation.api_urls")),
    path("", include("referrals.api_urls")),
]

urlpatterns = [
    path("", include("navigation.urls")),
    path("", include("referrals.urls")),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="heart_cases/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("cases/<int:case_id>/", views.case_page, name="case"),
    path("healthz", health.healthz, name="healthz"),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]
