"""Load a demo city: staff, pairs, providers and a few weeks of field responses.

Everything goes through the services, at the time it would have happened (time-machine moves
the clock), so the demo's history reads like a real one. Every name here is fictional.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from heart_cases.actors import stamp, system_actor
from heart_cases.calendar import add_business_days
from heart_cases.models import ELIGIBLE_CALL_TYPES, Case, FieldResponse
from heart_cases.services import (
    FieldResponseInput,
    NeighborInput,
    case_close,
    field_response_record,
)
from heart_cases.staff import staff_create_or_update
from navigation.models import Pair
from navigation.selectors import case_current_pair
from navigation.services import pair_assign, pair_create
from referrals.models import (
    Location,
    Provider,
    Referral,
    Service,
    ServiceLanguage,
    ServiceLocation,
)
from referrals.services import (
    provider_link_actor,
    provider_staff,
    referral_create,
    referral_transition,
)

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


class Command(BaseCommand):
    help = "Load the demo city (staff, pairs, providers, a few weeks of field responses)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if field responses exist."
        )
        parser.add_argument("--responses", type=int, default=60)
        parser.add_argument("--days", type=int, default=21)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and FieldResponse.objects.exists():
            if not Service.objects.exists():
                # Demo data from before the directory had services: add the directory.
                with transaction.atomic():
                    self._providers()
                self.stdout.write("Demo data already loaded; added the demo provider directory.")
                return
            self.stdout.write("Demo data already loaded; nothing to do.")
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
        users = get_user_model().objects
        cad = users.get(username="cad")
        supervisor = users.get(username="supervisor")
        assigner = system_actor("seed_demo")
        count = options["responses"]
        start = now - timedelta(days=options["days"])
        step = (now - timedelta(hours=2) - start) / max(count, 1)
        for index in range(count):
            responded_at = start + step * index + timedelta(minutes=rng.randint(0, 50))
            neighbor = NEIGHBORS[rng.randrange(len(NEIGHBORS))]
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
            with time_machine.travel(responded_at + timedelta(minutes=75), tick=False):
                result = field_response_record(actor=cad, data=data)
            if result.case.status != Case.Status.OPEN:
                continue
            with time_machine.travel(responded_at + timedelta(minutes=80), tick=False):
                pair_assign(
                    actor=assigner,
                    case=result.case,
                    pair=pairs[result.neighbor.pk % len(pairs)],
                    reason="Demo: assigned to the pair on duty",
                )
            age = now - responded_at
            if age > timedelta(days=5) and rng.random() < 0.7:
                outcome = rng.choice([Case.Outcome.CONNECTED_TO_CARE, Case.Outcome.UNABLE_TO_REACH])
                note = "Demo: closed after follow-up."
                if outcome == Case.Outcome.CONNECTED_TO_CARE:
                    pair = pairs[result.neighbor.pk % len(pairs)]
                    referral = self._closed_loop(
                        time_machine, result.case, data.needs, responded_at, pair.clinician
                    )
                    if referral is not None:
                        note = f"Demo: handoff to {referral.provider.name} confirmed."
                with time_machine.travel(responded_at + timedelta(days=2), tick=False):
                    case_close(actor=supervisor, case=result.case, outcome=outcome, note=note)
        referrals = self._open_referrals(time_machine, now)
        self.stdout.write(
            f"Demo city loaded: {len(STAFF)} staff, {len(pairs)} pairs, {len(PROVIDERS)} "
            f"providers, {count} field responses, {referrals} open referrals. Password for every "
            f"demo login: {DEMO_PASSWORD}"
        )

    def _service_for(self, need: str, slug: str | None = None) -> Service | None:
        services = Service.objects.filter(
            accepting_referrals=True, provider__accepting_referrals=True
        ).select_related("provider")
        if slug:
            services = services.filter(provider__slug=slug)
        return services.filter(category=need).order_by("id").first() or (
            services.order_by("id").first() if slug else None
        )

    def _answer(self, referral: Referral, action: str, **kwargs: Any) -> Referral:
        """The provider answers: as its staff in the portal, or through the signed link."""
        staff = provider_staff(referral.provider)
        actor = staff[0] if staff else provider_link_actor(referral.provider)
        return referral_transition(
            actor=actor, referral=referral, action=action, via_link=not staff, **kwargs
        )

    def _closed_loop(
        self,
        time_machine: Any,
        case: Case,
        needs: tuple[str, ...],
        responded_at: datetime,
        navigator: Any,
    ) -> Referral | None:
        """A referral that went the whole way: made the next day, accepted, handoff confirmed."""
        service = next(
            (found for need in needs if (found := self._service_for(need)) is not None), None
        )
        if service is None:
            return None
        with time_machine.travel(responded_at + timedelta(days=1), tick=False):
            referral = referral_create(
                actor=navigator,
                case=case,
                service=service,
                reason=f"Demo: {service.get_category_display().lower()} support after the "
                "field response.",
                consent_method="verbal",
                consent_obtained_at=timezone.now(),
            )
        with time_machine.travel(responded_at + timedelta(days=1, hours=3), tick=False):
            referral = self._answer(referral, "accept")
        arrived = responded_at + timedelta(days=2, hours=-3)
        with time_machine.travel(arrived + timedelta(hours=1), tick=False):
            return self._answer(referral, "confirm-handoff", occurred_at=arrived)

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

    def _open_referrals(self, time_machine: Any, now: datetime) -> int:
        cases = list(
            Case.objects.filter(
                status=Case.Status.OPEN, pair_assignments__ended_at__isnull=True
            ).order_by("opened_at", "id")
        )
        made = 0
        for case, (slug, need, ago, steps) in zip(cases, self.OPEN_SCENARIOS, strict=False):
            pair = case_current_pair(case)
            service = self._service_for(need, slug)
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
                    consent_method="verbal" if made % 2 else "written",
                    consent_obtained_at=timezone.now(),
                )
            for index, step in enumerate(steps, start=1):
                extra = {"reason_code": "no-capacity"} if step == "decline" else {}
                with time_machine.travel(made_at + timedelta(minutes=40 * index), tick=False):
                    referral = self._answer(referral, step, **extra)
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
