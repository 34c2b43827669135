"""Load a demo city: staff, pairs, providers and a few weeks of field responses.

Everything goes through the services, at the time it would have happened (time-machine moves
the clock), so the demo's history reads like a real one. Every name here is fictional.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from heart_cases.actors import stamp, system_actor
from heart_cases.models import ELIGIBLE_CALL_TYPES, Case, FieldResponse
from heart_cases.services import (
    FieldResponseInput,
    NeighborInput,
    case_close,
    field_response_record,
)
from heart_cases.staff import staff_create_or_update
from navigation.models import Pair
from navigation.services import pair_assign, pair_create
from referrals.models import Provider

DEMO_PASSWORD = "heart-demo"  # noqa: S105 - demo accounts on a local machine only

PROVIDERS = [
    ("casa-esperanza", "Casa Esperanza Community Health"),
    ("bull-city-housing", "Bull City Housing Collaborative"),
    ("eno-recovery", "Eno River Recovery Center"),
    ("triangle-food-share", "Triangle Food Share"),
    ("lincoln-clinic", "Lincoln Street Community Clinic"),
    ("benefits-bridge", "Benefits Bridge Legal Aid"),
    ("hope-crisis-center", "Hope Behavioral Health Crisis Center"),
    ("familias-unidas", "Familias Unidas Family Services"),
]

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
                with time_machine.travel(responded_at + timedelta(days=2), tick=False):
                    case_close(
                        actor=supervisor,
                        case=result.case,
                        outcome=rng.choice(
                            [Case.Outcome.CONNECTED_TO_CARE, Case.Outcome.UNABLE_TO_REACH]
                        ),
                        note="Demo: closed after follow-up.",
                    )
        self.stdout.write(
            f"Demo city loaded: {len(STAFF)} staff, {len(pairs)} pairs, {len(PROVIDERS)} "
            f"providers, {count} field responses. Password for every demo login: {DEMO_PASSWORD}"
        )

    def _providers(self) -> None:
        actor = system_actor("seed_demo")
        for slug, name in PROVIDERS:
            provider = Provider.objects.filter(slug=slug).first() or Provider(slug=slug)
            provider.name = name
            stamp(provider, actor=actor, reason="Demo directory").save()

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
