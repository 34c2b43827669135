"""`/hsds/`: the Open Referral HSDS 3.0 read API for the directory (referrals.hsds_api)."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import hsds_api

app_name = "hsds"

urlpatterns: list[URLPattern] = [
    path("", hsds_api.HsdsRootApi.as_view(), name="root"),
    path("services", hsds_api.HsdsServiceListApi.as_view(), name="services"),
    path("services/<str:id>", hsds_api.HsdsServiceDetailApi.as_view(), name="service"),
    path("organizations", hsds_api.HsdsOrganizationListApi.as_view(), name="organizations"),
    path(
        "organizations/<str:id>",
        hsds_api.HsdsOrganizationDetailApi.as_view(),
        name="organization",
    ),
]
