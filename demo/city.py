"""The demo city: staff, pairs, providers and a few weeks of field responses, with the
follow-up calls and visits, referrals and closures that came of them, and what a navigator's
day also holds (demo.workspace: contacts, notes, possible duplicates, a police referral).

Everything goes through the services, in the order and at the time it would have happened
(time-machine moves the clock), so the demo's history, task lists and metrics read like a real
program's. Every name here is fictional. The history is loaded once: when field responses exist,
a second run adds none.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, ClassVar

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from calls.models import EligibleCall
from heart_cases.actors import stamp, system_actor
from heart_cases.calendar import add_business_days
from heart_cases.models import ELIGIBLE_CALL_TYPES, Case, FieldResponse, Need
from heart_cases.services import (
    FieldResponseInput,
    NeighborInput,
    case_close,
    field_response_record,
)
from heart_cases.staff import staff_create_or_update
from navigation import sweeps
from navigation.models import ContactAttempt, FollowUpTask, Pair
from navigation.selectors import case_current_pair
from navigation.services import attempt_record, open_task_q, pair_assign, pair_create
from referrals.models import (
    Address,
    Location,
    Phone,
    Provider,
    ReasonCode,
    Referral,
    Service,
    ServiceLanguage,
    ServiceLocation,
)
from referrals.services import (
    allowed_actions,
    provider_link_actor,
    provider_staff,
    referral_cancel,
    referral_create,
    referral_transition,
)

from .calls import eligible_calls_load

DEMO_PASSWORD = "heart-demo"  # noqa: S105 - demo accounts on a local machine only

# The demo directory. Every organization, address, phone and email here is fictional
# (555-01xx numbers, the reserved .example domain). Casa Esperanza and Bull City Housing have
# staff accounts (the provider portal); the others answer through signed links by email.
DIRECTORY: list[dict[str, Any]] = [
    {
        "slug": "casa-esperanza",
        "name": "Casa Esperanza Community Health",
        "description": "Bilingual community health center; most staff speak Spanish.",
        "phone": "+1 919 555 0101",
        "contact_language": "es",
        "services": [
            (
                "Salud mental en español (counseling)",
                "mental_health",
                ["es", "en"],
                "Mon–Fri 09:00–18:00",
                True,
            ),
            (
                "Clínica comunitaria (primary care)",
                "medical",
                ["es", "en"],
                "Mon–Sat 08:00–17:00",
                True,
            ),
        ],
        "locations": [
            ("Casa Esperanza East", "412 N Alston Ave, Durham, NC 27701", "35.9961", "-78.8886")
        ],
    },
    {
        "slug": "bull-city-housing",
        "name": "Bull City Housing Collaborative",
        "description": "Coordinated entry, rapid rehousing and shelter placement.",
        "phone": "+1 919 555 0102",
        "services": [
            ("Rapid rehousing", "housing", ["en"], "Mon–Fri 08:30–17:00", True),
            ("Emergency shelter placement", "housing", ["en", "es"], "Every day 07:00–22:00", True),
        ],
        "locations": [("Main office", "215 E Main St, Durham, NC 27701", "35.9940", "-78.8986")],
    },
    {
        "slug": "eno-recovery",
        "name": "Eno River Recovery Center",
        "description": "Outpatient substance use treatment and peer recovery support.",
        "phone": "+1 919 555 0103",
        "email": "intake@eno-recovery.example",
        "services": [
            (
                "Outpatient substance use treatment",
                "substance_use",
                ["en"],
                "Mon–Fri 08:00–20:00",
                True,
            ),
            ("Peer recovery support", "substance_use", ["en", "es"], "Every day 10:00–18:00", True),
        ],
        "locations": [
            ("Eno River Recovery", "1800 W Club Blvd, Durham, NC 27705", "36.0154", "-78.9258")
        ],
    },
    {
        "slug": "triangle-food-share",
        "name": "Triangle Food Share",
        "description": "Food pantry and grocery delivery for people who cannot travel.",
        "phone": "+1 919 555 0104",
        "email": "referrals@triangle-food-share.example",
        "services": [
            ("Community food pantry", "food", ["en", "es"], "Tue, Thu, Sat 10:00–14:00", True),
            ("Home-delivered groceries", "food", ["en"], "Mon–Fri 09:00–16:00", True),
        ],
        "locations": [("Pantry", "1100 Holloway St, Durham, NC 27703", "35.9870", "-78.8790")],
    },
    {
        "slug": "lincoln-clinic",
        "name": "Lincoln Street Community Clinic",
        "description": "Walk-in primary care with integrated behavioral health.",
        "phone": "+1 919 555 0105",
        "email": "frontdesk@lincoln-clinic.example",
        "services": [
            ("Walk-in primary care", "medical", ["en", "es"], "Mon–Fri 08:00–19:00", True),
            ("Integrated behavioral health", "mental_health", ["en"], "Mon–Fri 09:00–17:00", True),
        ],
        "locations": [("Clinic", "1301 Fayetteville St, Durham, NC 27707", "35.9793", "-78.8985")],
    },
    {
        "slug": "benefits-bridge",
        "name": "Benefits Bridge Legal Aid",
        "description": "Help applying for Medicaid, SNAP, SSI and SSDI; legal aid for denials.",
        "phone": "+1 919 555 0106",
        "email": "help@benefits-bridge.example",
        "services": [
            ("Medicaid and SNAP enrollment", "benefits", ["en", "es"], "Mon–Thu 09:00–16:00", True),
            ("Disability benefits (SSI/SSDI) appeals", "legal", ["en"], "By appointment", False),
        ],
        "locations": [
            ("Downtown office", "201 W Main St, Durham, NC 27701", "35.9960", "-78.9020")
        ],
    },
    {
        "slug": "hope-crisis-center",
        "name": "Hope Behavioral Health Crisis Center",
        "description": "24/7 walk-in crisis stabilization and same-day psychiatric assessment.",
        "phone": "+1 919 555 0107",
        "email": "intake@hope-crisis.example",
        "services": [
            ("Crisis stabilization", "mental_health", ["en"], "24/7", True),
            (
                "Same-day psychiatric assessment",
                "mental_health",
                ["en", "es"],
                "Every day 08:00–20:00",
                True,
            ),
        ],
        "locations": [("Crisis center", "300 N Duke St, Durham, NC 27701", "36.0005", "-78.9103")],
    },
    {
        "slug": "familias-unidas",
        "name": "Familias Unidas Family Services",
        "description": "Servicios para familias en español: apoyo familiar y ayuda con beneficios.",
        "phone": "+1 919 555 0108",
        "email": "referencias@familias-unidas.example",
        "contact_language": "es",
        "services": [
            (
                "Apoyo familiar (family support)",
                "family",
                ["es", "en"],
                "Mon–Fri 10:00–18:00",
                True,
            ),
            (
                "Ayuda con beneficios (benefits help)",
                "benefits",
                ["es"],
                "Wed, Fri 10:00–15:00",
                True,
            ),
        ],
        "locations": [
            ("Centro familiar", "2000 Chapel Hill Rd, Durham, NC 27707", "35.9800", "-78.9300")
        ],
    },
]
PROVIDERS = [(entry["slug"], entry["name"]) for entry in DIRECTORY]

STAFF: list[dict[str, Any]] = [
    {
        "username": "supervisor",
        "role": "supervisor",
        "first_name": "Dana",
        "last_name": "Whitfield",
    },
    {
        "username": "clinician1",
        "role": "clinician",
        "first_name": "María",
        "last_name": "Ortega",
        "languages": ["en", "es"],
    },
    {
        "username": "peer1",
        "role": "peer",
        "first_name": "Jamal",
        "last_name": "Barnes",
        "languages": ["en", "es"],
    },
    {"username": "clinician2", "role": "clinician", "first_name": "Ruth", "last_name": "Alston"},
    {"username": "peer2", "role": "peer", "first_name": "Tyrell", "last_name": "Jones"},
    {"username": "clinician3", "role": "clinician", "first_name": "Kevin", "last_name": "Park"},
    {
        "username": "peer3",
        "role": "peer",
        "first_name": "Lucía",
        "last_name": "Reyes",
        "languages": ["en", "es"],
    },
    {"username": "responder1", "role": "responder", "first_name": "Sam", "last_name": "Holt"},
    {
        "username": "cad",
        "role": "responder",
        "first_name": "CAD",
        "last_name": "integration",
        "service": True,
    },
    {"username": "analyst", "role": "analyst", "first_name": "Priya", "last_name": "Nair"},
    {
        "username": "provider-casa",
        "role": "provider",
        "provider": "casa-esperanza",
        "first_name": "Ana",
        "last_name": "Morales",
        "languages": ["en", "es"],
    },
    {
        "username": "provider-housing",
        "role": "provider",
        "provider": "bull-city-housing",
        "first_name": "Greg",
        "last_name": "Tate",
    },
    {"username": "admin", "role": "admin", "first_name": "Site", "last_name": "Admin"},
]

PAIRS = [("clinician1", "peer1"), ("clinician2", "peer2"), ("clinician3", "peer3")]

NEIGHBORS = [
    ("Ana", "Díaz", "", date(1988, 4, 2), "+19195550142", "es", False),
    ("Marcus", "Hill", "", date(1975, 9, 14), "+19195550117", "en", True),
    ("", "", "Smokey", None, "", "en", True),
    ("Linda", "Carter", "", date(1961, 1, 30), "+19195550188", "en", False),
    ("José", "Hernández", "", date(1993, 7, 8), "+19195550163", "es", False),
    ("Tasha", "Green", "", date(2001, 11, 21), "+19195550109", "en", False),
    ("Robert", "Lee", "Bobby", date(1958, 5, 3), "", "en", True),
    ("Keisha", "Wright", "", date(1990, 2, 17), "+19195550131", "en", False),
    ("Miguel", "Santos", "", date(1984, 12, 1), "+19195550176", "es", True),
    ("Emily", "Brooks", "", date(1999, 6, 25), "+19195550154", "en", False),
    ("Darnell", "Price", "", date(1979, 3, 11), "+19195550195", "en", True),
    ("Rosa", "Méndez", "", date(1967, 8, 19), "+19195550128", "es", False),
]

ADDRESSES = [
    "101 City Hall Plaza, Durham, NC",
    "500 W Main St, Durham, NC",
    "1000 Fayetteville St, Durham, NC",
    "2100 Angier Ave, Durham, NC",
    "300 N Duke St, Durham, NC",
    "800 Broad St, Durham, NC",
]

NEEDS = ["mental_health", "substance_use", "housing", "food", "medical", "benefits"]


def demo_consent(service: Service, method: str) -> dict[str, Any]:
    """The consent a navigator records: for substance-use care (42 CFR Part 2) always written,
    naming its purpose and holding substance use in its scope."""
    if service.category == Need.SUBSTANCE_USE:
        return {
            "consent_method": "written",
            "consent_purpose": "referral for substance-use treatment",
            "consent_scope": ["contact", "reason", "substance_use"],
        }
    return {"consent_method": method}


class DemoCity:
    """Loads the city; `manage.py seed_demo` (demo/management/commands/seed_demo.py) runs it."""

    def __init__(self, write: Callable[[str], Any]) -> None:
        self.write = write

    def load(self, *, responses: int = 60, days: int = 21, if_empty: bool = False) -> None:
        options = {"responses": responses, "days": days, "if_empty": if_empty}
        if FieldResponse.objects.exists():
            # The history is loaded once: a second run adds none (and logs no attempt twice).
            # Demo data from before eligible calls gets the demo's year of them, once.
            calls = self._eligible_calls_retrofit()
            if options["if_empty"]:
                if not Service.objects.exists():
                    # Demo data from before the directory had services: add the directory.
                    with transaction.atomic():
                        self._providers()
                    self.write("Demo data already loaded; added the demo provider directory.")
                    return
                if calls:
                    self.write(f"Demo data already loaded; added {calls} eligible calls.")
                    return
                self.write("Demo data already loaded; nothing to do.")
                return
            with transaction.atomic():
                self._providers()
                self._staff()
                self._pairs()
            self.write(
                f"Demo data already loaded ({FieldResponse.objects.count()} field responses): "
                "brought the directory, staff and pairs up to date and added no history"
                + (f" but {calls} eligible calls." if calls else ".")
            )
            return
        try:
            import time_machine
        except ImportError as exc:  # pragma: no cover - dev dependency
            raise CommandError("seed_demo needs time-machine: run `make install`.") from exc
        with transaction.atomic():
            self._providers()
            self._staff()
            pairs = self._pairs()
        rng = random.Random(2026)  # noqa: S311 - demo data, not security
        now = timezone.now()
        count = options["responses"]
        start = now - timedelta(days=options["days"])
        step = (now - timedelta(hours=2) - start) / max(count, 1)
        history = DemoHistory(
            time_machine=time_machine,
            now=now,
            # Its own generator, so that the encounters are the same whatever happens after.
            rng=random.Random(2027),  # noqa: S311 - demo data, not security
        )
        for index in range(count):
            responded_at = start + step * index + timedelta(minutes=rng.randint(0, 50))
            which = rng.randrange(len(NEIGHBORS))
            neighbor = NEIGHBORS[which]
            program = rng.choice(["CRT", "CRT", "CRT", "CCD", "COR"])
            data = FieldResponseInput(
                incident_number=f"D{responded_at:%Y}-{index + 1:07d}",
                unit=f"{program}-{rng.randint(1, 4)}",
                program=program,
                call_type=rng.choice(ELIGIBLE_CALL_TYPES[program]),
                responded_at=responded_at,
                cleared_at=responded_at + timedelta(minutes=rng.randint(20, 90)),
                address=rng.choice(ADDRESSES),
                neighbor=NeighborInput(
                    first_name=neighbor[0],
                    last_name=neighbor[1],
                    alias=neighbor[2],
                    date_of_birth=neighbor[3],
                    phone=neighbor[4],
                    language=neighbor[5],
                    unsheltered=neighbor[6],
                ),
                needs=tuple(rng.sample(NEEDS, rng.randint(1, 2))),
                disposition=rng.choice(
                    ["resolved_on_scene", "resolved_on_scene", "transported", "referred"]
                ),
                follow_up_consent=rng.random() > 0.1,
                responder_felt_safe=rng.random() > 0.01,
                narrative="Demo encounter.",
            )
            # A neighbor stays with one pair (continuity of care).
            history.encounter(data, pair=pairs[which % len(pairs)])
        history.play()
        referrals = self._open_referrals(time_machine, now, leave=history.held_cases)
        from .workspace import workspace_load

        day = workspace_load(time_machine=time_machine, now=now)
        # After every field response is recorded: each gets its call under its own incident.
        demand = eligible_calls_load(now=now, actor=history.cad)
        self.write(
            f"Demo city loaded: {len(STAFF)} staff, {len(pairs)} pairs, {len(PROVIDERS)} "
            f"providers, {count} field responses, {history.attempts} contact attempts, "
            f"{history.referrals} referrals made over those days and {referrals} open referrals "
            f"for the providers' inboxes; and {day.contacts} contacts, {day.notes} case notes, "
            f"{day.duplicates} possible duplicates to review, {day.responses} field responses "
            f"from other sources or asking for a debrief; {demand.total} eligible calls over "
            f"the past year. Password for every demo login: "
            f"{DEMO_PASSWORD}"
        )

    def _eligible_calls_retrofit(self) -> int:
        """The demo's eligible calls for a demo database loaded before there were any: only
        where the demo's own encounters and CAD account are, never on a real program's data."""
        cad = get_user_model().objects.filter(username="cad").first()
        if (
            cad is None
            or EligibleCall.objects.exists()
            or not FieldResponse.objects.filter(narrative="Demo encounter.").exists()
        ):
            return 0
        return eligible_calls_load(now=timezone.now(), actor=cad).total

    # Referrals on open cases, one per scenario: (provider, need, how long ago it was made,
    # what the provider did since). "chase-due" is made far enough back that the next sweep
    # chases it.
    OPEN_SCENARIOS: ClassVar[list[tuple[str, str, Any, list[str]]]] = [
        ("casa-esperanza", "mental_health", timedelta(hours=3), []),
        ("bull-city-housing", "housing", timedelta(hours=1), []),
        ("casa-esperanza", "medical", timedelta(hours=30), ["accept"]),
        ("bull-city-housing", "housing", timedelta(hours=50), ["accept", "waitlist"]),
        ("triangle-food-share", "food", "chase-due", []),
        ("eno-recovery", "substance_use", timedelta(hours=26), ["decline"]),
        ("lincoln-clinic", "medical", timedelta(hours=20), ["acknowledge", "accept"]),
    ]

    def _open_referrals(self, time_machine: Any, now: datetime, *, leave: set[int]) -> int:
        """The scenarios, on the oldest open cases without a referral, leaving out the cases
        in `leave` (still waiting for their first call)."""
        referred = Referral.objects.filter(case=OuterRef("pk"), status__in=Referral.OPEN_STATUSES)
        cases = list(
            Case.objects.filter(status=Case.Status.OPEN, pair_assignments__ended_at__isnull=True)
            .filter(~Exists(referred))
            .exclude(pk__in=leave)
            .order_by("opened_at", "id")
        )
        made = 0
        for case, (slug, need, ago, steps) in zip(cases, self.OPEN_SCENARIOS, strict=False):
            pair = case_current_pair(case)
            service = service_for(need, slug=slug)
            if pair is None or service is None:
                continue
            if ago == "chase-due":
                made_at = now - timedelta(days=2)
                while not (add_business_days(made_at, 2) < now < add_business_days(made_at, 5)):
                    made_at -= timedelta(days=1)
            else:
                made_at = now - ago
            made_at = max(made_at, case.opened_at + timedelta(hours=1))
            with time_machine.travel(made_at, tick=False):
                referral = referral_create(
                    actor=pair.clinician,
                    case=case,
                    service=service,
                    reason=f"Demo: the neighbor asked for help with {need.replace('_', ' ')}.",
                    consent_obtained_at=timezone.now(),
                    **demo_consent(service, "verbal" if made % 2 else "written"),
                )
            for index, step in enumerate(steps, start=1):
                extra = {"reason_code": "no-capacity"} if step == "decline" else {}
                with time_machine.travel(made_at + timedelta(minutes=40 * index), tick=False):
                    referral = provider_answers(referral, step, **extra)
            made += 1
        return made

    def _providers(self) -> None:
        actor = system_actor("seed_demo")
        reason = "Demo directory"
        for entry in DIRECTORY:
            provider = Provider.objects.filter(slug=entry["slug"]).first() or Provider(
                slug=entry["slug"]
            )
            provider.name = entry["name"]
            provider.description = entry["description"]
            provider.phone = entry["phone"]
            provider.email = entry.get("email", "")
            provider.contact_language = entry.get("contact_language", "en")
            stamp(provider, actor=actor, reason=reason).save()
            if not Phone.objects.filter(provider=provider).exists():
                phone = Phone(provider=provider, number=entry["phone"], type="voice")
                stamp(phone, actor=actor, reason=reason).save()
            for name, category, languages, hours, accepting in entry["services"]:
                service = Service.objects.filter(provider=provider, name=name).first() or Service(
                    provider=provider, name=name
                )
                service.category = category
                service.hours = hours
                service.phone = entry["phone"]
                service.accepting_referrals = accepting
                stamp(service, actor=actor, reason=reason).save()
                for code in languages:
                    if not ServiceLanguage.objects.filter(service=service, code=code).exists():
                        stamp(
                            ServiceLanguage(service=service, code=code), actor=actor, reason=reason
                        ).save()
            for name, address, latitude, longitude in entry["locations"]:
                location = Location.objects.filter(
                    provider=provider, name=name
                ).first() or Location(provider=provider, name=name)
                location.address = address
                location.latitude = Decimal(latitude)
                location.longitude = Decimal(longitude)
                stamp(location, actor=actor, reason=reason).save()
                # The same address in HSDS fields, for the /hsds/ API ("412 N Alston Ave,
                # Durham, NC 27701").
                street, city, state_zip = (part.strip() for part in address.split(",", 2))
                state, postal_code = state_zip.split()
                structured = Address.objects.filter(location=location).first() or Address(
                    location=location
                )
                structured.address_1, structured.city = street, city
                structured.state_province, structured.postal_code = state, postal_code
                structured.country = "US"
                stamp(structured, actor=actor, reason=reason).save()
                for service in provider.services.all():
                    if not ServiceLocation.objects.filter(
                        service=service, location=location
                    ).exists():
                        stamp(
                            ServiceLocation(service=service, location=location),
                            actor=actor,
                            reason=reason,
                        ).save()

    def _staff(self) -> None:
        for person in STAFF:
            staff_create_or_update(
                username=person["username"],
                role=person["role"],
                languages=person.get("languages", ["en"]),
                password=DEMO_PASSWORD,
                provider_slug=person.get("provider"),
                service_account=person.get("service", False),
                first_name=person.get("first_name", ""),
                last_name=person.get("last_name", ""),
            )

    def _pairs(self) -> list[Pair]:
        users = get_user_model().objects
        actor = system_actor("seed_demo")
        return [
            pair_create(
                actor=actor,
                clinician=users.get(username=clinician),
                peer=users.get(username=peer),
            )
            for clinician, peer in PAIRS
        ]


def service_for(
    need: str, *, slug: str | None = None, other_than: int | None = None
) -> Service | None:
    """A service taking referrals for the need (of that provider, with `slug`: any of its
    services if none fits; never of provider `other_than`, which has just declined)."""
    services = Service.objects.filter(
        accepting_referrals=True, provider__accepting_referrals=True
    ).select_related("provider")
    if slug:
        services = services.filter(provider__slug=slug)
    if other_than is not None:
        services = services.exclude(provider_id=other_than)
    return services.filter(category=need).order_by("id").first() or (
        services.order_by("id").first() if slug else None
    )


def provider_answers(referral: Referral, action: str, **kwargs: Any) -> Referral:
    """The provider answers: as its staff in the portal, or through the signed link."""
    staff = provider_staff(referral.provider)
    actor = staff[0] if staff else provider_link_actor(referral.provider)
    return referral_transition(
        actor=actor, referral=referral, action=action, via_link=not staff, **kwargs
    )


Step = Callable[[datetime], None]
Call = tuple[float, str, str]  # hours after the field response, method, outcome

# How the demo's 48-hour follow-ups went, with their weights: most neighbors reached on the
# first call or after a missed one, within the 48 hours; some only after them; a few never
# (calls, then visits, fail and the case closes as unable to reach); some decline further help;
# and a few nobody called in time.
FOLLOW_UP_STORIES: list[tuple[str, int]] = [
    ("reached", 45),
    ("reached_after_retries", 16),
    ("reached_late", 14),
    ("never_reached", 9),
    ("declined", 8),
    ("not_attempted", 8),
]
# What the pair did after reaching a neighbor, with weights: a referral whose handoff was
# confirmed (the case then closes as connected to care); one a provider declined first, then
# another provider took; one the neighbor withdrew; or nothing yet (the work goes on).
AFTER_CONTACT: list[tuple[str, int]] = [
    ("handoff", 55),
    ("declined", 15),
    ("withdrawn", 8),
    ("ongoing", 22),
]
DECLINE_REASONS = [
    ReasonCode.NO_CAPACITY,
    ReasonCode.NOT_ELIGIBLE,
    ReasonCode.WAITLIST,
    ReasonCode.ADDITIONAL_ASSESSMENT_REQUIRED,
]
ATTEMPT_NOTES: dict[str, str] = {
    ContactAttempt.Outcome.REACHED: "Demo: talked it through and agreed on next steps.",
    ContactAttempt.Outcome.DECLINED: "Demo: reached; the neighbor wants no further help now.",
    ContactAttempt.Outcome.NO_ANSWER: "Demo: no answer.",
    ContactAttempt.Outcome.LEFT_VOICEMAIL: "Demo: left a voicemail with the callback number.",
}


class DemoHistory:
    """The demo's weeks, replayed in the order things happened: each encounter, the pair's calls
    and visits, the sweep marking follow-ups missed at their deadline, referrals and the
    providers' answers, and closures. Each is written through its service with the clock at its
    own time (time-machine), so history, the metrics facts and the task lists read as they
    would after real weeks. A step that would fall after now is left undone: that work is still
    on the lists. So is each pair's latest encounter with a follow-up: from it on, nothing more
    is done on its case, so that every pair has a case and a follow-up waiting for it."""

    def __init__(self, *, time_machine: Any, now: datetime, rng: random.Random) -> None:
        self.time_machine = time_machine
        self.now = now
        self.rng = rng
        users = get_user_model().objects
        self.cad = users.get(username="cad")
        self.assigner = system_actor("seed_demo")
        self.sweeper = system_actor(sweeps.SWEEP_NAME)
        self.encounters: list[tuple[FieldResponseInput, Pair]] = []
        self.steps: list[tuple[datetime, int, Step]] = []
        self.order = itertools.count()
        # Cases left as they are from their pair's latest encounter on.
        self.held_cases: set[int] = set()
        self.attempts = 0
        self.referrals = 0

    def encounter(self, data: FieldResponseInput, *, pair: Pair) -> None:
        self.encounters.append((data, pair))

    def play(self) -> None:
        latest: dict[int, FieldResponseInput] = {}
        for data, pair in self.encounters:
            if data.follow_up_consent and data.responded_at + timedelta(minutes=75) <= self.now:
                latest[pair.pk] = max(latest.get(pair.pk, data), data, key=lambda d: d.responded_at)
        held = {id(data) for data in latest.values()}
        for data, pair in self.encounters:
            # Recorded as the CAD integration would: 75 minutes after the response began.
            intake = partial(self._intake, data, pair, id(data) in held)
            self._at(data.responded_at + timedelta(minutes=75), intake)
        while self.steps:
            when, _, step = heapq.heappop(self.steps)
            with self.time_machine.travel(when, tick=False):
                step(when)
        # What beat's sweep would have found by now.
        with self.time_machine.travel(self.now, tick=False):
            self._sweep(self.now)

    def _pick(self, weighted: list[tuple[str, int]]) -> str:
        names, weights = zip(*weighted, strict=True)
        return self.rng.choices(names, weights=weights)[0]

    def _at(self, when: datetime, step: Step) -> None:
        if when <= self.now:
            heapq.heappush(self.steps, (when, next(self.order), step))

    def _intake(self, data: FieldResponseInput, pair: Pair, hold: bool, when: datetime) -> None:
        result = field_response_record(actor=self.cad, data=data)
        if result.case.status != Case.Status.OPEN:
            return
        with self.time_machine.travel(when + timedelta(minutes=5), tick=False):
            pair_assign(
                actor=self.assigner,
                case=result.case,
                pair=pair,
                reason="Demo: assigned to the pair on duty",
            )
        if hold:
            self.held_cases.add(result.case.pk)
        if result.case.pk in self.held_cases:
            return
        if result.follow_up is None:
            # No consent to a follow-up: with nothing else owed, the case is closed that day.
            self._at(when + timedelta(hours=3), partial(self._close_if_idle, result.case.pk))
            return
        # Beat sweeps every minute: the follow-up is marked missed just after its deadline.
        self._at(result.follow_up.deadline + timedelta(minutes=1), self._sweep)
        story = self._pick(FOLLOW_UP_STORIES)
        for hours, method, outcome in self._calls(story):
            occurred_at = data.responded_at + timedelta(hours=hours)
            logged_at = occurred_at + timedelta(minutes=self.rng.randint(2, 20))
            self._at(
                logged_at,
                partial(self._attempt, result.follow_up.id, occurred_at, method, outcome, data),
            )

    def _calls(self, story: str) -> list[Call]:
        """The calls and visits of a story, in hours after the field response."""
        rng = self.rng
        phone, visit = ContactAttempt.Method.PHONE, ContactAttempt.Method.IN_PERSON
        outcome = ContactAttempt.Outcome
        if story == "reached":
            return [(rng.uniform(1.5, 30), phone, outcome.REACHED)]
        if story == "reached_after_retries":
            missed = rng.choice([outcome.NO_ANSWER, outcome.LEFT_VOICEMAIL])
            calls: list[Call] = [(rng.uniform(1, 10), phone, missed)]
            if rng.random() < 0.4:
                calls.append((calls[-1][0] + rng.uniform(5, 10), phone, outcome.LEFT_VOICEMAIL))
            return [*calls, (rng.uniform(calls[-1][0] + 5, 46), phone, outcome.REACHED)]
        if story == "reached_late":
            late: Call = (rng.uniform(50, 80), phone, outcome.REACHED)
            if rng.random() < 0.5:
                return [late]  # the first call came after the 48 hours
            return [(rng.uniform(3, 20), phone, outcome.NO_ANSWER), late]
        if story == "never_reached":
            # Three calls fail, then two visits; the last after the deadline.
            return [
                (rng.uniform(2, 6), phone, outcome.NO_ANSWER),
                (rng.uniform(10, 18), phone, outcome.LEFT_VOICEMAIL),
                (rng.uniform(22, 30), phone, outcome.NO_ANSWER),
                (rng.uniform(32, 40), visit, outcome.NO_ANSWER),
                (rng.uniform(54, 70), visit, outcome.NO_ANSWER),
            ]
        if story == "declined":
            return [(rng.uniform(2, 30), phone, outcome.DECLINED)]
        return []  # not attempted in time: the sweep marks it missed

    def _attempt(
        self,
        follow_up_id: int,
        occurred_at: datetime,
        method: str,
        outcome: str,
        data: FieldResponseInput,
        when: datetime,
    ) -> None:
        """A call or visit, logged on the task now on the list for this follow-up (a retry or
        a visit that replaced it)."""
        task = FollowUpTask.objects.select_related("case").get(pk=follow_up_id)
        while task.next_task_id is not None:
            task = FollowUpTask.objects.select_related("case").get(pk=task.next_task_id)
        owed = task.status == FollowUpTask.Status.PENDING or (
            task.status == FollowUpTask.Status.MISSED and task.resolved_at is None
        )
        pair = case_current_pair(task.case)
        # A contact on a later encounter of the case may have answered for this one already,
        # or the case closed.
        if not owed or not self._workable(task.case) or pair is None:
            return
        reached = outcome in (ContactAttempt.Outcome.REACHED, ContactAttempt.Outcome.DECLINED)
        attempt_record(
            actor=self.rng.choice([pair.clinician, pair.peer]),
            task=task,
            method=method,
            outcome=outcome,
            occurred_at=occurred_at,
            duration_minutes=self.rng.randint(5, 30) if reached else None,
            notes=ATTEMPT_NOTES.get(outcome, ""),
        )
        self.attempts += 1
        if outcome != ContactAttempt.Outcome.REACHED:
            return
        plan = self._pick(AFTER_CONTACT)
        if plan != "ongoing":
            made_at = when + timedelta(hours=self.rng.uniform(2, 20))
            self._at(made_at, partial(self._refer, task.case_id, data.needs, plan, None))

    def _refer(
        self,
        case_id: int,
        needs: tuple[str, ...],
        plan: str,
        other_than: int | None,
        when: datetime,
    ) -> None:
        case = Case.objects.get(pk=case_id)
        pair = case_current_pair(case)
        if not self._workable(case) or pair is None:
            return
        if Referral.objects.filter(case=case, status__in=Referral.OPEN_STATUSES).exists():
            return  # one referral at a time in the demo
        service = next(
            (s for need in needs if (s := service_for(need, other_than=other_than)) is not None),
            None,
        )
        if service is None:
            return
        referral = referral_create(
            actor=pair.clinician,
            case=case,
            service=service,
            reason=f"Demo: {service.get_category_display().lower()} support after the "
            "field response.",
            consent_obtained_at=when,
            **demo_consent(service, self.rng.choice(["verbal", "written"])),
        )
        self.referrals += 1
        answered_at = when + timedelta(hours=self.rng.uniform(1, 20))
        if plan == "withdrawn":
            self._at(answered_at, partial(self._withdraw, referral.pk))
        elif plan == "declined":
            self._at(answered_at, partial(self._decline, referral.pk, needs))
        else:
            self._at(answered_at, partial(self._provider, referral.pk, "accept"))

    def _provider(self, referral_id: int, action: str, when: datetime) -> None:
        """The provider accepts, then confirms the handoff a day or so later."""
        referral = Referral.objects.select_related("case", "provider").get(pk=referral_id)
        if action not in allowed_actions(referral, by="provider"):
            return  # withdrawn meanwhile, or the case closed
        if not self._workable(referral.case):
            return
        if action == "accept":
            provider_answers(referral, "accept")
            arrives = when + timedelta(hours=self.rng.uniform(18, 40))
            self._at(arrives, partial(self._provider, referral_id, "confirm-handoff"))
            return
        provider_answers(referral, "confirm-handoff", occurred_at=when - timedelta(hours=1))
        closes = when + timedelta(hours=self.rng.uniform(1, 6))
        note = f"Demo: handoff to {referral.provider.name} confirmed."
        self._at(
            closes,
            partial(self._close, referral.case_id, Case.Outcome.CONNECTED_TO_CARE, note),
        )

    def _decline(self, referral_id: int, needs: tuple[str, ...], when: datetime) -> None:
        """The provider declines, with its reason; the pair refers to another provider."""
        referral = Referral.objects.select_related("case", "provider").get(pk=referral_id)
        if "decline" not in allowed_actions(referral, by="provider"):
            return
        if not self._workable(referral.case):
            return
        provider_answers(referral, "decline", reason_code=self.rng.choice(DECLINE_REASONS))
        again = when + timedelta(hours=self.rng.uniform(1, 4))
        self._at(
            again, partial(self._refer, referral.case_id, needs, "handoff", referral.provider_id)
        )

    def _withdraw(self, referral_id: int, when: datetime) -> None:
        """The neighbor changed their mind before the provider answered: staff cancel."""
        referral = Referral.objects.select_related("case").get(pk=referral_id)
        pair = case_current_pair(referral.case)
        if not referral.is_open or not self._workable(referral.case) or pair is None:
            return
        referral_cancel(
            actor=pair.clinician,
            referral=referral,
            reason=ReasonCode.NEIGHBOR_DECLINED,
            note="Demo: the neighbor would rather wait.",
        )

    def _close(self, case_id: int, outcome: str, note: str, when: datetime) -> None:
        case = Case.objects.get(pk=case_id)
        pair = case_current_pair(case)
        if not self._workable(case) or pair is None:
            return
        case_close(actor=pair.clinician, case=case, outcome=outcome, note=note)

    def _close_if_idle(self, case_id: int, when: datetime) -> None:
        owed = FollowUpTask.objects.filter(open_task_q(), case_id=case_id)
        referred = Referral.objects.filter(case_id=case_id, status__in=Referral.OPEN_STATUSES)
        if not owed.exists() and not referred.exists():
            note = "Demo: no consent to a follow-up; the neighbor has the program's number."
            self._close(case_id, Case.Outcome.OTHER, note, when)

    def _workable(self, case: Case) -> bool:
        return case.status == Case.Status.OPEN and case.pk not in self.held_cases

    def _sweep(self, when: datetime) -> None:
        sweeps.sweep_missed(actor=self.sweeper, now=when, batch=sweeps.BATCH)
