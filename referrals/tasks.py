"""Celery tasks: thin, named, take ids, re-read state, safe to run twice."""

from __future__ import annotations

from datetime import datetime, timedelta

from celery import shared_task
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from heart_cases import queueing
from heart_cases.actors import system_actor

from . import conf, disclosure, links, services
from .models import ProviderEmail, Referral

SWEEP = "referrals.sweep_referrals"


@shared_task(name=SWEEP, max_retries=0)
def sweep_referrals() -> dict[str, int]:
    """Every minute (beat): expire what went unanswered, chase what went unacknowledged,
    and queue again the provider emails a lost message left unsent. Each step takes a bounded
    batch with SKIP LOCKED, so several workers can sweep at once; a full batch sweeps again."""
    actor = system_actor(SWEEP)
    now = timezone.now()
    lapsed = services.consents_expire_due(actor=actor, now=now)
    expired = services.referrals_expire_due(actor=actor, now=now)
    chased = services.referrals_chase_due(actor=actor, now=now)
    requeued = _requeue_unsent_emails(now)
    if max(lapsed, expired, chased, requeued) >= conf.SWEEP_BATCH:
        queueing.enqueue_now(sweep_referrals)
    return {
        "consents_expired": lapsed,
        "expired": expired,
        "chased": chased,
        "emails_requeued": requeued,
    }


def _requeue_unsent_emails(now: datetime) -> int:
    with transaction.atomic():
        candidates = (
            ProviderEmail.objects.select_for_update(skip_locked=True)
            .filter(
                sent_at__isnull=True,
                skipped_at__isnull=True,
                attempts__lt=conf.EMAIL_MAX_ATTEMPTS,
                queued_at__lte=now - conf.EMAIL_RETRY_AFTER,
            )
            .order_by("queued_at", "id")[: conf.SWEEP_BATCH]
        )
        stale = [email for email in candidates if now - email.queued_at >= _wait(email.attempts)]
        for email in stale:
            email.attempts += 1
            email.queued_at = now
            email.save(update_fields=["attempts", "queued_at"])
    for email in stale:
        queueing.enqueue_now(email_provider, email.referral_id, email.kind)
    return len(stale)


def _wait(attempts: int) -> timedelta:
    return min(conf.EMAIL_RETRY_AFTER * 2 ** min(attempts, 10), conf.EMAIL_RETRY_MAX_WAIT)


_LANGUAGES = ("en", "es")


def _email_text(referral: Referral, kind: str, language: str) -> str:
    context = {
        "provider": referral.provider.name,
        "service": referral.service.name,
        "referral_id": referral.pk,
        "link": links.link_url(referral) if referral.is_open else "",
        "link_days": conf.link_max_age().days,
        "status_label": referral.get_status_display(),
    }
    return render_to_string(f"referrals/email/provider_{kind}.{language}.txt", context)


@shared_task(
    name="referrals.email_provider",
    bind=True,
    max_retries=5,
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=300,
)
def email_provider(self: object, referral_id: int, kind: str = ProviderEmail.Kind.SENT) -> None:
    """Email a provider without accounts about a referral, with the signed link to answer it.
    The row lock keeps two deliveries of this message from both sending; a crash between
    sending and committing can still send twice (email is at-least-once)."""
    with transaction.atomic():
        email = (
            ProviderEmail.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("referral__provider", "referral__service")
            .filter(
                referral_id=referral_id,
                kind=kind,
                sent_at__isnull=True,
                skipped_at__isnull=True,
            )
            .first()
        )
        if email is None:
            return
        referral = email.referral
        never_told = (
            kind == ProviderEmail.Kind.CANCELLED
            and not ProviderEmail.objects.filter(
                referral=referral, kind=ProviderEmail.Kind.SENT, sent_at__isnull=False
            ).exists()
        )
        if never_told or (kind != ProviderEmail.Kind.CANCELLED and not referral.is_open):
            email.skipped_at = timezone.now()
            email.save(update_fields=["skipped_at"])
            return
        language = referral.provider.contact_language
        language = language if language in _LANGUAGES else "en"
        # The organization's language, not the worker's: labels and dates in the email too.
        with translation.override(language):
            text = _email_text(referral, kind, language)
        subject, _, body = text.strip().partition("\n")
        notice = disclosure.part2_notice(referral, language)
        if notice:  # 42 CFR § 2.32: the notice goes with every disclosure of a Part 2 referral
            body = f"{body.strip()}\n\n42 CFR § 2.32: {notice}"
        send_mail(
            subject=subject.strip(),
            message=body.strip(),
            from_email=None,
            recipient_list=[email.to],
        )
        email.sent_at = timezone.now()
        email.save(update_fields=["sent_at"])
