"""/fhir/: FHIR R4 REST for providers' own systems (referrals.fhir_api). A path that names
nothing here, a trailing slash included (FHIR's paths have none), is a FHIR 404: an
OperationOutcome."""

from __future__ import annotations

from django.urls import URLPattern, path, re_path

from . import fhir_api

urlpatterns: list[URLPattern] = [
    path("Task", fhir_api.TaskSearchApi.as_view(), name="fhir-task-search"),
    path("Task/<str:task_id>", fhir_api.TaskApi.as_view(), name="fhir-task"),
    re_path(r"^(?P<rest>[\s\S]*)\Z", fhir_api.fhir_not_found, name="fhir-not-found"),
]
