"""Referrals to community providers. The directory and the referral loop grow here."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class Provider(models.Model):
    """A community provider organization. Its staff are tied to it by its slug."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    accepting_referrals = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.name


class ProviderMembership(models.Model):
    """Provider staff belong to exactly one organization and see only its referrals."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="provider_membership"
    )
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="members")

    history = HistoricalRecords()

    class Meta:
        permissions = [("respond_referral", "Can answer referrals sent to their organization")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.provider}"
