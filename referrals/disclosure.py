"""What a provider may see of the neighbor a referral is about, and the notice that goes with
it. One place for every surface a provider reads: the API, the portal, the signed link, the
emails and the FHIR Bundle.

The consent decides (API.md, "Consent and privacy"): while it is neither withdrawn nor expired
the provider sees what its scope covers — the name and phone (`contact`), the referral's
reason (`reason`); after, the provider keeps the referral and its status, but no longer learns
who the neighbor is. A referral under 42 CFR Part 2 carries the redisclosure notice of §2.32
with every disclosure, in the reader's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from .models import Consent, Referral

# 42 CFR § 2.32(a)(2), as amended in 2024; and in Spanish for Spanish-speaking readers.
PART2_NOTICE = {
    "en": "42 CFR part 2 prohibits unauthorized use or disclosure of these records.",
    "es": (
        "La parte 2 del título 42 del Código de Regulaciones Federales (42 CFR part 2) prohíbe "
        "el uso o la divulgación no autorizados de estos registros."
    ),
}
WITHHELD = {
    "consent-withdrawn": {
        "en": "The neighbor withdrew consent to share: who they are is no longer shown.",
        "es": "El vecino retiró su consentimiento: ya no se muestra quién es.",
    },
    "consent-expired": {
        "en": "The neighbor's consent to share has expired: who they are is no longer shown.",
        "es": "El consentimiento del vecino venció: ya no se muestra quién es.",
    },
}
# FHIR: the security label that marks a resource as 42 CFR Part 2 information.
PART2_SECURITY = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
    "code": "42CFRPart2",
    "display": "42 CFR Part2",
}


def language_of(code: str | None) -> str:
    return "es" if (code or "").lower().startswith("es") else "en"


def part2_notice(referral: Referral, language: str | None) -> str:
    """The §2.32 notice for this referral in `language`, or "" when it is not under Part 2."""
    return PART2_NOTICE[language_of(language)] if referral.is_part2 else ""


@dataclass(frozen=True)
class ProviderView:
    """The neighbor as the provider may see them now. Empty strings stand for what is not
    shared; `withheld` says why nothing identifying is (a reason code), None while consent
    holds."""

    name: str
    phone: str
    language: str
    reason: str
    withheld: str | None
    part2: bool

    def withheld_message(self, language: str | None) -> str:
        return WITHHELD[self.withheld][language_of(language)] if self.withheld else ""


def withheld_because(consent: Consent, now: datetime) -> str | None:
    if consent.withdrawn_at is not None:
        return "consent-withdrawn"
    if now >= consent.expires_at:
        return "consent-expired"
    return None


def provider_view(referral: Referral, *, now: datetime | None = None) -> ProviderView:
    consent = referral.consent
    neighbor = referral.case.neighbor
    withheld = withheld_because(consent, now or timezone.now())
    contact = withheld is None and Consent.Scope.CONTACT in consent.scope
    reason = withheld is None and Consent.Scope.REASON in consent.scope
    return ProviderView(
        name=neighbor.display_name if contact else "",
        phone=str(neighbor.phone) if contact and neighbor.phone else "",
        language=neighbor.language,
        reason=referral.reason if reason else "",
        withheld=withheld,
        part2=referral.is_part2,
    )
