"""API v1 routes of this app, included under /api/v1/ by heart_cases.urls."""

from __future__ import annotations

from django.urls import path

from . import api

urlpatterns = [
    path("tasks/", api.TaskListApi.as_view(), name="tasks"),
    path("tasks/<int:task_id>/attempts/", api.AttemptCreateApi.as_view(), name="task-attempts"),
    path("cases/<int:case_id>/assign/", api.CaseAssignApi.as_view(), name="case-assign"),
]
