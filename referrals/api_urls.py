"""API v1 routes of this app, included under /api/v1/ by heart_cases.urls."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import api

urlpatterns: list[URLPattern] = [
    path("providers/", api.ProviderListApi.as_view(), name="providers"),
    path("referrals/", api.ReferralListCreateApi.as_view(), name="referrals"),
    path("referrals/<int:referral_id>/", api.ReferralDetailApi.as_view(), name="referral-detail"),
    path("referrals/<int:referral_id>/fhir/", api.ReferralFhirApi.as_view(), name="referral-fhir"),
    *[
        path(
            f"referrals/<int:referral_id>/{action}/",
            view.as_view(),
            name=f"referral-{action}",
        )
        for action, view in api.ACTION_APIS.items()
    ],
    path(
        "consents/<int:consent_id>/withdraw/",
        api.ConsentWithdrawApi.as_view(),
        name="consent-withdraw",
    ),
]
