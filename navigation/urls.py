from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("tasks/", views.task_list_page, name="tasks"),
    path("tasks/<int:task_id>/attempts/", views.attempt_create_page, name="task-attempt"),
    path("my-cases/", views.open_cases_page, name="open-cases"),
    path("notifications/", views.notifications_page, name="notifications"),
    path("cases/<int:case_id>/assign/", views.case_assign_page, name="case-assign-page"),
]
