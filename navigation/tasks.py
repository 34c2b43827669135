"""Celery tasks: thin, named, take ids, re-read state, safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from .models import Notification


@shared_task(
    name="navigation.send_notification_email",
    bind=True,
    max_retries=5,
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=300,
)
def send_notification_email(self: object, notification_id: int) -> None:
    # The row lock keeps two deliveries of this message from both sending. A crash between
    # sending and committing can still send twice: email is at-least-once.
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .select_related("recipient")
            .filter(pk=notification_id, emailed_at__isnull=True)
            .first()
        )
        if notification is None or not notification.recipient.email:
            return
        link = f"{settings.HEART_BASE_URL}{notification.link}" if notification.link else ""
        send_mail(
            subject=notification.title,
            message=f"{notification.body}\n\n{link}".strip(),
            from_email=None,
            recipient_list=[notification.recipient.email],
        )
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
