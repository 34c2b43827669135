"""Sending a notice once to the people who must hear of it, in their language."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.template.exceptions import TemplateDoesNotExist
from django.template.loader import render_to_string

from heart_cases.models import Case
from heart_cases.queueing import enqueue_on_commit

from .models import Notice, Notification

SUPPORTED_LANGUAGES = ("en", "es")


def recipient_language(user: User) -> str:
    profile = getattr(user, "staff_profile", None)
    for code in getattr(profile, "languages", None) or []:
        if code in SUPPORTED_LANGUAGES:
            return code
    return "en"


def render_notice(kind: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
    """Templates `notices/<kind>.<language>.txt`: the first line is the title, the rest the
    body. English where a language has no template."""
    for code in (language, "en"):
        try:
            text = render_to_string(f"notices/{kind}.{code}.txt", context).strip()
        except TemplateDoesNotExist:
            continue
        title, _, body = text.partition("\n")
        return title.strip()[:200], body.strip()
    raise TemplateDoesNotExist(f"notices/{kind}.en.txt")


def notice_send(
    *,
    kind: str,
    subject_key: str,
    recipients: Iterable[User],
    context: dict[str, Any],
    created_by: str,
    case: Case | None = None,
    link: str = "",
    email: bool = True,
) -> Notice | None:
    """Record the notice and one notification per recipient, once. Returns None when the
    notice was already sent (by an earlier sweep, a second beat, a redelivered message).

    Runs inside the caller's transaction; emails go out after it commits.
    """
    try:
        with transaction.atomic():
            notice = Notice.objects.create(
                kind=kind, subject_key=subject_key, case=case, created_by=created_by[:150]
            )
    except IntegrityError:
        return None
    from .tasks import send_notification_email

    for recipient in {r.pk: r for r in recipients}.values():
        language = recipient_language(recipient)
        title, body = render_notice(kind, language, {**context, "recipient": recipient})
        notification = Notification.objects.create(
            notice=notice,
            recipient=recipient,
            language=language,
            title=title,
            body=body,
            link=link,
        )
        if email and recipient.email:
            enqueue_on_commit(send_notification_email, notification.pk)
    return notice
