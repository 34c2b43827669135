"""Words people read (issue 13, item 7; issue 14): no raw code on a staff page. The case page,
the neighbor page, the search results, the duplicates queue, the debriefs and the access log are
rendered for the demo city in English and in Spanish, and what a person reads there (the text and
the spoken attributes) may hold no choice code that differs from its label (`no_answer`,
`retry_call`), no system actor's username (`system:seed_demo`), no ISO timestamp, no E.164 phone
(`+19195550142`), no pair by its id (`pair #3`) and no language code (`es`). History reasons the
system wrote read in the reader's language; what people typed reads as typed."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone, translation

from heart_cases import debriefs, neighbors
from heart_cases.actors import system_actor
from heart_cases.models import Case, Debrief, Neighbor, PossibleDuplicate
from heart_cases.services import FieldResponseInput, NeighborInput, field_response_record
from heart_cases.templatetags.words import actor_name, change_words, history_reason
from navigation.services import case_assign_auto
from tests.i18n import back_to_english, compile_catalog
from tests.test_no_english_left import PageText

pytestmark = pytest.mark.django_db
compile_catalog()
__all__ = ["back_to_english"]  # autouse: English again after each test

ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}")
E164_PHONE = re.compile(r"\+1\s?\d{3}")
PAIR_ID = re.compile(r"(?i)\b(pair|pareja)\s*(n\.?º\s*)?#\s*\d+")
SYSTEM = "system:"
# A language code alone (a table cell, a definition) or where a language is named.
LANGUAGE_CODE = re.compile(r"^(en|es)$|\b(speaks|language:?|habla|idioma:?)\s+(en|es)\b", re.I)


def _choice_codes() -> set[str]:
    """Every choice code of the program's models that a person would not read as a word: one
    that differs from its label and holds `_` or `-` (`no_answer`, `in-progress`)."""
    codes: set[str] = set()
    for app in ("heart_cases", "navigation", "referrals"):
        for model in apps.get_app_config(app).get_models():
            for field in model._meta.concrete_fields:
                for value, label in field.flatchoices if field.choices else []:
                    if isinstance(value, str) and value != str(label) and re.search(r"[_-]", value):
                        codes.add(value)
    return codes


CODES = _choice_codes()
CODE_PATTERN = re.compile(
    r"(?<![\w-])("
    + "|".join(re.escape(c) for c in sorted(CODES, key=len, reverse=True))
    + r")(?![\w-])"
)


def raw_words(text: str, *, language: str) -> list[str]:
    """The raw codes in a page's text."""
    found = [m.group(0) for m in CODE_PATTERN.finditer(text)]
    found += [m.group(0) for m in ISO_TIME.finditer(text)]
    found += [m.group(0) for m in E164_PHONE.finditer(text)]
    found += [m.group(0) for m in PAIR_ID.finditer(text)]
    if SYSTEM in text:
        found.append(text[text.index(SYSTEM) :][:40])
    if language == "en":  # "es" is a word in Spanish
        found += [m.group(0) for m in LANGUAGE_CODE.finditer(text)]
    return found


def _client(username: str, language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(get_user_model().objects.get(username=username))
    response = client.post("/language/", {"language": language, "next": "/"})
    assert response.status_code == 302
    return client


def _visible(html: str) -> list[str]:
    page = PageText()
    page.feed(html)
    return [" ".join(chunk.split()) for chunk in page.chunks]


@pytest.fixture
def demo(roles: None) -> dict[str, object]:
    """The demo city, and what it lacks: an automatic assignment, a debrief held, two records
    of one person linked, a contact with a phone."""
    call_command("seed_demo", "--responses", "20", "--days", "7", stdout=io.StringIO())
    users = get_user_model().objects
    supervisor = users.get(username="supervisor")
    cad = users.get(username="cad")
    now = timezone.now()
    made = []
    for n, phone in enumerate(["+19195550871", "+19195550872"]):
        made.append(
            field_response_record(
                actor=cad,
                data=FieldResponseInput(
                    incident_number=f"W2026-{n:07d}",
                    unit="CRT-2",
                    program="CRT",
                    call_type="Trespass",
                    responded_at=now - timedelta(hours=3 - n),
                    cleared_at=now - timedelta(hours=2 - n),
                    follow_up_consent=True,
                    debrief_requested=n == 0,
                    neighbor=NeighborInput(
                        first_name="Rosalinda",
                        last_name="Quintanilla",
                        phone=phone,
                        language="es",
                    ),
                ),
            )
        )
    for result in made:
        case_assign_auto(actor=system_actor("navigation.assign_case"), case=result.case)
    debrief = Debrief.objects.get(field_response__incident_number="W2026-0000000")
    debriefs.debrief_done(actor=supervisor, debrief=debrief, note="Talked it over.")
    duplicate = PossibleDuplicate.objects.get(
        neighbor_id__in=[r.case.neighbor_id for r in made],
        other_id__in=[r.case.neighbor_id for r in made],
    )
    neighbors.duplicate_link(
        actor=supervisor,
        duplicate=duplicate,
        into_id=made[0].case.neighbor_id,
        reason="Same person at the shelter",
    )
    neighbor = Neighbor.objects.get(pk=made[0].case.neighbor_id)
    neighbors.contact_add(
        actor=supervisor,
        neighbor=neighbor,
        data=neighbors.ContactInput(
            name="Marta Quintanilla",
            relationship="sister",
            phone="+19195550999",
            language="es",
            may_contact=True,
            note="",
        ),
    )
    return {"case": made[0].case, "neighbor": neighbor, "linked_case": made[1].case}


def _pages(demo: dict[str, object]) -> list[str]:
    case = demo["case"]
    assert isinstance(case, Case)
    cases = list(
        Case.objects.filter(field_responses__isnull=False)
        .exclude(pk=case.pk)
        .distinct()
        .order_by("-status", "id")[:6]
    )
    closed = Case.objects.filter(status="closed").first()
    assert closed is not None, "the demo closes cases"
    neighbor_ids = {c.neighbor.linked_to_id or c.neighbor_id for c in [*cases, closed]}
    return [
        f"/cases/{case.pk}/",
        f"/cases/{closed.pk}/",
        *(f"/cases/{c.pk}/" for c in cases),
        f"/neighbors/{case.neighbor_id}/",
        *(f"/neighbors/{n}/" for n in sorted(neighbor_ids)),
        "/neighbors/?q=Quintanilla",
        "/neighbors/?q=919-555",
        "/possible-duplicates/",
        "/possible-duplicates/?status=linked",
        "/debriefs/",
        "/debriefs/?status=done",
        "/access-log/",
    ]


@pytest.mark.parametrize("language", ["en", "es"])
def test_no_staff_page_shows_a_raw_code(demo: dict[str, object], language: str) -> None:
    client = _client("supervisor", language)
    problems = []
    for path in _pages(demo):
        response = client.get(path)
        assert response.status_code == 200, path
        for chunk in _visible(response.content.decode()):
            for word in raw_words(chunk, language=language):
                problems.append(f"{path}: {word!r} in {chunk[:140]!r}")
    assert not problems, "\n".join(sorted(set(problems)))


def test_the_pages_say_things_in_words(demo: dict[str, object]) -> None:
    case = demo["case"]
    assert isinstance(case, Case)
    english = " ".join(
        _visible(_client("supervisor", "en").get(f"/cases/{case.pk}/").content.decode())
    )
    assert "(919) 555-0871" in english
    assert "Spanish" in english
    assert "Automatic assignment" in english
    spanish = " ".join(
        _visible(_client("supervisor", "es").get(f"/cases/{case.pk}/").content.decode())
    )
    assert "Asignación automática" in spanish
    assert "habla español" in spanish
    assert "Español" in spanish  # the neighbor's language
    neighbor = demo["neighbor"]
    assert isinstance(neighbor, Neighbor)
    page = " ".join(
        _visible(_client("supervisor", "es").get(f"/neighbors/{neighbor.pk}/").content.decode())
    )
    assert "(919) 555-0999" in page
    linked = demo["linked_case"]
    assert isinstance(linked, Case)
    page = " ".join(
        _visible(_client("supervisor", "es").get(f"/cases/{linked.pk}/").content.decode())
    )
    # The system's sentence in Spanish, what the supervisor typed as typed.
    assert "como la misma persona: Same person at the shelter" in page
    assert "Datos de demostración" not in page  # the case came from the CAD, not the demo
    assert "CAD integration" in page


def test_the_check_finds_raw_codes() -> None:
    """The check can fail: each kind of raw code it looks for is found."""
    assert raw_words("Outcome: no_answer", language="en") == ["no_answer"]
    assert raw_words("retry_call — pending", language="es") == ["retry_call"]
    assert raw_words("by system:seed_demo", language="en")
    assert raw_words("at 2026-12-01T14:00:00+00:00", language="en")
    assert raw_words("call +19195550142", language="en")
    assert raw_words("Assigned to pair #3", language="en")
    assert raw_words("Language: es", language="en") == ["Language: es"]
    assert raw_words("es", language="en") == ["es"]
    assert raw_words("La llamada es mañana", language="es") == []
    assert raw_words("No answer — (919) 555-0142, Spanish, Mon Dec 1, 14:00", language="en") == []


def test_a_system_actor_has_a_plain_name_in_each_language() -> None:
    for name, english, spanish in [
        ("seed_demo", "Demo data", "Datos de demostración"),
        ("navigation.sweep_follow_ups", "Follow-up sweep", "Revisión de seguimientos"),
        ("navigation.assign_case", "Automatic assignment", "Asignación automática"),
    ]:
        actor = system_actor(name)
        assert actor_name(actor) == english
        with translation.override("es"):
            assert actor_name(actor) == spanish
    person = get_user_model().objects.create(username="ana", first_name="Ana", last_name="Ruiz")
    assert actor_name(person) == "Ana Ruiz"
    assert actor_name(system_actor("some.new_task")) == "Automatic task"
    assert actor_name(None) == "—"


def test_a_change_reads_in_local_time_and_words() -> None:
    with translation.override("es"):
        assert change_words("unsheltered: no → yes") == "unsheltered: no → sí"
        assert change_words("deadline: — → 2026-12-02T19:00:00+00:00") == (
            "deadline: — → mié 2 dic 2026, 14:00"
        )
        assert change_words("pair: pair #3 → pair #4", {3: "Ana Ruiz & Ben Cole"}) == (
            "pair: Ana Ruiz & Ben Cole → pair #4"
        )
        assert change_words("number: — → +19195550142") == "number: — → (919) 555-0142"
        assert change_words("date of birth: — → 2026-13-45") == "date of birth: — → 2026-13-45"


def test_system_reasons_read_in_spanish_and_typed_ones_as_typed() -> None:
    with translation.override("es"):
        assert history_reason("Pair formed") != "Pair formed"
        assert history_reason("Assigned automatically: least load") != (
            "Assigned automatically: least load"
        )
        assert history_reason("Called her sister, she is fine") == "Called her sister, she is fine"
        assert history_reason("Note: Reached") == "Note: Reached"
        # A field response from another source names it, in the reader's language too.
        assert history_reason("Field response DPD-26-1 from Officer Ruiz (Police referral)") == (
            "Respuesta en campo DPD-26-1 de Officer Ruiz (Referencia de la policía)"
        )
        assert (
            history_reason("Field response D26-1 from CRT-3") == "Respuesta en campo D26-1 de CRT-3"
        )
        assert history_reason("Phone attempt: No answer: call again next") == (
            "Intento (Teléfono): No contestó: a continuación, volver a llamar"
        )
        assert history_reason("Assigned automatically: speaks es, knew the neighbor") == (
            "Asignado automáticamente: habla español, conocía al vecino"
        )
        # The system's sentence in Spanish; the note a person typed into it as typed.
        assert history_reason("Closed: Connected to care. She has a bed tonight.") == (
            "Cerrado: Conectado a servicios. She has a bed tonight."
        )
        assert history_reason(
            "Closed: Follow-up declined. No consent to a follow-up at D2026-1 (COR-1)."
        ) == (
            "Cerrado: Rechazó el seguimiento. "
            "Sin consentimiento para un seguimiento en D2026-1 (COR-1)."
        )
        assert history_reason(
            "Declined by Triangle Food Share through the signed link "
            "(additional assessment required)"
        ) == (
            "Rechazada por Triangle Food Share mediante el enlace firmado "
            "(se requiere una evaluación adicional)"
        )
    assert history_reason("Pair formed") == "Pair formed"  # in English, as stored
