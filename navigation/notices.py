"""Sending a notice once to the people who must hear of it, in their language.

A Notice row is the effect ('remind the pair about task 12'); its unique (kind, subject_key)
makes a second sweep, a second beat or a redelivered message harmless. Notifications are the
notice as each person gets it: in the app at once, by email through `send_pending_emails`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.template.exceptions import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import translation

from heart_cases.models import Case
from heart_cases.queueing import enqueue_on_commit

from .models import FollowUpTask, Notice, Notification

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
            template = get_template(f"notices/{kind}.{code}.txt")
        except TemplateDoesNotExist:
            continue
        with translation.override(code):
            title, _, body = template.render(context).strip().partition("\n")
        return title.strip()[:200], body.strip()
    raise TemplateDoesNotExist(f"notices/{kind}.en.txt")


@dataclass
class NoticeItem:
    subject_key: str
    recipients: Sequence[User]
    context: dict[str, Any] = field(default_factory=dict)
    case: Case | None = None
    task: FollowUpTask | None = None
    link: str = ""


def notice_send(
    *,
    kind: str,
    subject_key: str,
    recipients: Iterable[User],
    context: dict[str, Any],
    created_by: str,
    case: Case | None = None,
    task: FollowUpTask | None = None,
    link: str = "",
    email: bool = True,
) -> Notice | None:
    """Record one notice and its notifications, once. Returns None when it was already sent.
    Runs inside the caller's transaction; emails go out after it commits."""
    try:
        with transaction.atomic():
            notice = Notice.objects.create(
                kind=kind, subject_key=subject_key, case=case, task=task, created_by=created_by
            )
    except IntegrityError:
        return None
    item = NoticeItem(subject_key, list(recipients), context, case, task, link)
    _notify([(notice, item)], kind=kind, email=email)
    return notice


def notices_send_bulk(
    *, kind: str, items: Sequence[NoticeItem], created_by: str, email: bool = True
) -> int:
    """The same for many subjects at once (sweeps). Callers hold locks on the subjects and have
    excluded those already noticed; a conflict that still happens is skipped, not doubled.
    Returns how many notices were recorded."""
    if not items:
        return 0
    Notice.objects.bulk_create(
        [
            Notice(
                kind=kind,
                subject_key=item.subject_key,
                case=item.case,
                task=item.task,
                created_by=created_by,
            )
            for item in items
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    by_key = {item.subject_key: item for item in items}
    notices = Notice.objects.filter(
        kind=kind, subject_key__in=list(by_key), notifications__isnull=True
    )
    pairs = [(notice, by_key[notice.subject_key]) for notice in notices]
    _notify(pairs, kind=kind, email=email)
    return len(pairs)


def _notify(pairs: list[tuple[Notice, NoticeItem]], *, kind: str, email: bool) -> None:
    rows = []
    for notice, item in pairs:
        for recipient in {r.pk: r for r in item.recipients}.values():
            language = recipient_language(recipient)
            title, body = render_notice(kind, language, {**item.context, "recipient": recipient})
            rows.append(
                Notification(
                    notice=notice,
                    recipient=recipient,
                    language=language,
                    title=title,
                    body=body,
                    link=item.link,
                    email_pending=email and bool(recipient.email),
                )
            )
    Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    if any(row.email_pending for row in rows):
        from .tasks import send_pending_emails

        enqueue_on_commit(send_pending_emails)
