"""Pages of this app, included at the site root by heart_cases.urls."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

urlpatterns: list[URLPattern] = [
    path("provider/", views.provider_inbox, name="provider-inbox"),
    path(
        "provider/referrals/<int:referral_id>/",
        views.provider_referral,
        name="provider-referral",
    ),
    path(
        "provider/referrals/<int:referral_id>/<slug:action>/",
        views.provider_referral_action,
        name="provider-referral-action",
    ),
    # Signed links for providers without accounts (referrals.links).
    path("r/<str:token>/", views.provider_link, name="provider-link"),
    path("r/<str:token>/<slug:action>/", views.provider_link_action, name="provider-link-action"),
    path("cases/<int:case_id>/refer/", views.case_refer, name="case-refer"),
    path(
        "cases/<int:case_id>/referrals/<int:referral_id>/cancel/",
        views.case_referral_cancel,
        name="case-referral-cancel",
    ),
    path(
        "cases/<int:case_id>/consents/<int:consent_id>/withdraw/",
        views.case_consent_withdraw,
        name="case-consent-withdraw",
    ),
    path(
        "cases/<int:case_id>/close-connected/",
        views.case_close_connected,
        name="case-close-connected",
    ),
]
