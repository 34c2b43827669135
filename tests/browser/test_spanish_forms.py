"""The new forms in Spanish, in Chromium (issue 14: every page works in Spanish). Each person
logs in, presses "Español" in the header's language menu as a person would, and then fills and
sends the forms by their Spanish labels and buttons: the case note, a contact, a field response
by hand, a debrief marked done, linking and unlinking duplicates and saying they are not the
same person. Each form also refuses one bad entry with a Spanish message, writing nothing. The
names and messages below are the catalog's Spanish, written out: a string left in English fails.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from heart_cases.models import (
    CaseNote,
    Contact,
    Debrief,
    FieldResponse,
    Neighbor,
    PossibleDuplicate,
    StaffProfile,
)
from heart_cases.services import FieldResponseInput, NeighborInput, field_response_record
from navigation.services import pair_assign

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
PASSWORD = "heart-demo-espanol"


def log_in(page: Any, base: str, username: str, *, button: str = "Log in") -> None:
    page.goto(f"{base}/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()


def choose_spanish(page: Any) -> None:
    """The header's language menu, pressed like a person would."""
    menu = page.locator("header form.language-menu")
    with page.expect_navigation():
        menu.get_by_role("button", name="Español").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(menu.get_by_role("button", name="Español")).to_have_attribute("aria-pressed", "true")


def in_spanish(page: Any, base: str, username: str) -> None:
    log_in(page, base, username)
    choose_spanish(page)


def intake(cad: Any, n: int, *, debrief: bool = False, **neighbor: Any) -> Any:
    responded_at = timezone.now() - timedelta(hours=2)
    return field_response_record(
        actor=cad,
        data=FieldResponseInput(
            incident_number=f"D2026-00{n:05d}",
            unit="CRT-2",
            program="CRT",
            call_type="Trespass",
            responded_at=responded_at,
            cleared_at=responded_at + timedelta(minutes=30),
            follow_up_consent=True,
            debrief_requested=debrief,
            neighbor=NeighborInput(**neighbor),
        ),
    ).case


def test_the_language_menu_keeps_the_choice_on_the_account(live_server, browser, make_staff):
    peer, _ = make_staff("pilar", "peer", password=PASSWORD)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, live_server.url, peer.username)
    assert page.locator("html").get_attribute("lang") == "en"
    choose_spanish(page)
    # The same page, now in Spanish, and the choice kept on the account.
    nav = page.get_by_role("navigation", name="Principal")
    expect(nav.get_by_role("link", name="Tareas")).to_be_visible()
    expect(nav.get_by_role("button", name="Cerrar sesión")).to_be_visible()
    assert StaffProfile.objects.get(user=peer).language == "es"
    context.close()

    # Another browser (no language cookie, an English Accept-Language): Spanish after login.
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, live_server.url, peer.username)
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("button", name="Cerrar sesión")).to_be_visible()
    # And back to English from the same menu.
    with page.expect_navigation():
        page.locator("header form.language-menu").get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert StaffProfile.objects.get(user=peer).language == "en"
    context.close()


def test_a_case_note_in_spanish(live_server, page, make_staff, make_pair):
    cad, _ = make_staff("cad", "responder", service_account=True)
    pair = make_pair("a")
    pair.peer.set_password(PASSWORD)
    pair.peer.save()
    case = intake(cad, 1, first_name="Rosa", last_name="Mejía", phone="+19195550188")
    pair_assign(actor=pair.clinician, case=case, pair=pair, reason="test")

    in_spanish(page, live_server.url, pair.peer.username)
    page.goto(f"{live_server.url}/cases/{case.pk}/")
    notes = page.locator("#notes")
    expect(notes.get_by_role("heading", name="Notas")).to_be_visible()
    expect(notes).to_contain_text("Todavía no hay notas.")

    # Spaces only: refused, in Spanish, nothing written.
    notes.get_by_label("Nota", exact=True).fill("   ")
    with page.expect_navigation():
        notes.get_by_role("button", name="Guardar la nota").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "No se guardó la nota. Nota: Escriba la nota; no puede quedar en blanco."
    )
    assert not CaseNote.objects.exists()

    notes = page.locator("#notes")
    notes.get_by_label("Nota", exact=True).fill("Llamé; contestó su hermana Marta.")
    notes.get_by_label("Corrige una nota anterior").select_option("")
    with page.expect_navigation():
        notes.get_by_role("button", name="Guardar la nota").click()
    expect(page.get_by_role("status")).to_contain_text("Nota guardada.")
    expect(page.locator("#notes .note-text")).to_have_text("Llamé; contestó su hermana Marta.")
    note = CaseNote.objects.get()
    assert (note.case_id, note.author, note.text) == (
        case.pk,
        pair.peer,
        "Llamé; contestó su hermana Marta.",
    )


def test_a_contact_in_spanish(live_server, page, make_staff, make_pair):
    cad, _ = make_staff("cad", "responder", service_account=True)
    pair = make_pair("a")
    pair.peer.set_password(PASSWORD)
    pair.peer.save()
    case = intake(
        cad, 2, first_name="José", last_name="De la Cruz", phone="+19195550142", language="es"
    )
    pair_assign(actor=pair.clinician, case=case, pair=pair, reason="test")

    in_spanish(page, live_server.url, pair.peer.username)
    page.goto(f"{live_server.url}/neighbors/{case.neighbor_id}/")
    expect(page.locator("#contacts")).to_contain_text("Todavía no hay contactos.")
    expect(page.locator("#identity")).to_contain_text("Español")

    # A phone too short: the form again, the field named in Spanish, nothing written.
    form = page.locator("form.add-contact")
    form.get_by_label("Nombre").fill("Lucía De la Cruz")
    form.get_by_label("Teléfono").fill("12")
    with page.expect_navigation():
        form.get_by_role("button", name="Añadir el contacto").click()
    errors = page.locator("#contact-errors")
    expect(errors).to_contain_text("No se añadió el contacto:")
    expect(errors).to_contain_text("Teléfono:")
    assert "Phone" not in errors.inner_text()
    assert not Contact.objects.exists()

    form = page.locator("form.add-contact")
    assert form.get_by_label("Nombre").input_value() == "Lucía De la Cruz"
    form.get_by_label("Relación").fill("hermana")
    form.get_by_label("Teléfono").fill("919 555 0177")
    form.get_by_label("Idioma").select_option("es")
    form.get_by_label("La pareja puede contactar a esta persona").check()
    with page.expect_navigation():
        form.get_by_role("button", name="Añadir el contacto").click()
    shown = page.locator("#contacts")
    expect(shown).to_contain_text("Lucía De la Cruz")
    expect(shown).to_contain_text("(hermana)")
    expect(shown).to_contain_text("(919) 555-0177")
    expect(shown).to_contain_text("se le puede contactar")
    contact = Contact.objects.get()
    assert (contact.neighbor_id, str(contact.phone), contact.language, contact.created_by) == (
        case.neighbor_id,
        "+19195550177",
        "es",
        pair.peer,
    )
    assert contact.history.get().history_user == pair.peer


def test_a_field_response_by_hand_and_its_debrief_in_spanish(live_server, page, make_staff):
    responder, _ = make_staff("rene", "responder", password=PASSWORD)
    supervisor, _ = make_staff("dana", "supervisor", password=PASSWORD)
    began = timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

    in_spanish(page, live_server.url, responder.username)
    page.get_by_role("link", name="Registrar una respuesta").click()
    page.get_by_role("heading", name="Registrar a mano una respuesta en campo").wait_for()
    page.get_by_label("Origen").select_option("police_referral")
    page.get_by_label("Número de incidente o de informe").fill("DPD-26-004513")
    page.get_by_label("Unidad, o la unidad u oficial que hace la referencia").fill("Oficial Ruiz")
    page.get_by_label("Programa").select_option("CRT")
    # The call type's value is the CAD's; the person reads it in Spanish.
    call_type = page.get_by_label("Tipo de llamada")
    expect(call_type.locator('option[value="Nonviolent mental health crisis"]')).to_have_text(
        "Crisis de salud mental no violenta"
    )
    call_type.select_option(label="Crisis de salud mental no violenta")
    page.get_by_label("Inicio de la respuesta").fill(began)
    page.get_by_label("Nombre", exact=True).fill("Marco")
    page.get_by_label("Apellido").fill("Álvarez")
    page.get_by_label("Teléfono").fill("555")
    consent = page.get_by_role("group", name="¿El vecino da su consentimiento para un seguimiento?")
    consent.get_by_label("Sí").check()
    page.get_by_label("Una sesión de repaso con un(a) supervisor(a) ayudaría").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Registrar la respuesta en campo").click()
    expect(page.get_by_role("alert").first).to_contain_text(
        "No se registró nada. Revise los campos marcados abajo."
    )
    phone_error = page.locator("#fr-neighbor_phone-error")
    expect(phone_error).to_be_visible()
    assert "phone" not in phone_error.inner_text().lower()
    assert page.get_by_label("Apellido").input_value() == "Álvarez"
    assert not FieldResponse.objects.exists()

    page.get_by_label("Teléfono").fill("(919) 555-0142")
    page.get_by_label("Inicio de la respuesta").fill(began)
    with page.expect_navigation():
        page.get_by_role("button", name="Registrar la respuesta en campo").click()
    recorded = FieldResponse.objects.get()
    expect(page.get_by_role("status")).to_contain_text(
        f"Registrado: se abrió el caso {recorded.case.number}."
    )
    assert (
        recorded.source,
        recorded.incident_number,
        recorded.call_type,
        recorded.recorded_by,
    ) == ("police_referral", "DPD-26-004513", "Nonviolent mental health crisis", responder)
    assert str(recorded.neighbor.phone) == "+19195550142"
    assert Debrief.objects.get().status == "open"
    with page.expect_navigation():
        page.get_by_role("button", name="Cerrar sesión").click()

    # The login page stays in Spanish (the browser's choice); the supervisor holds the debrief.
    expect(page.get_by_role("heading", name="Iniciar sesión")).to_be_visible()
    log_in(page, live_server.url, supervisor.username, button="Iniciar sesión")
    choose_spanish(page)
    page.get_by_role("link", name="Sesiones de repaso").click()
    page.get_by_role(
        "heading", name="Sesiones de repaso que pidió el personal de respuesta"
    ).wait_for()
    note = page.get_by_label("Nota sobre la sesión de repaso de DPD-26-004513")
    # A note over the limit (a browser that ignores maxlength): refused in Spanish.
    note.evaluate("element => element.removeAttribute('maxlength')")
    note.fill("x" * 5001)
    done = page.get_by_role("button", name="Marcar como hecha la sesión de repaso de DPD-26-004513")
    with page.expect_navigation():
        done.click()
    expect(page.get_by_role("alert")).to_contain_text("No se marcó como hecho:")
    expect(page.get_by_role("alert")).to_contain_text("Asegúrese de que este campo no tenga más")
    assert Debrief.objects.get().status == "open"

    note.fill("Lo hablamos con René.")
    with page.expect_navigation():
        done.click()
    expect(page.get_by_role("status")).to_contain_text(
        "La sesión de repaso de DPD-26-004513 (Oficial Ruiz) quedó marcada como hecha."
    )
    debrief = Debrief.objects.get()
    assert (debrief.status, debrief.done_by, debrief.note) == (
        "done",
        supervisor,
        "Lo hablamos con René.",
    )
    expect(page.locator("main")).to_contain_text("No hay ninguna sesión de repaso pendiente.")


def test_duplicates_linked_unlinked_and_dismissed_in_spanish(live_server, page, make_staff):
    cad, _ = make_staff("cad", "responder", service_account=True)
    supervisor, _ = make_staff("dana", "supervisor", password=PASSWORD)
    first = intake(cad, 11, first_name="Rosa", last_name="Mejía", phone="+19195550111")
    second = intake(cad, 12, first_name="Rosa", last_name="Mejia", phone="+19195550112")
    duplicate = PossibleDuplicate.objects.get()

    in_spanish(page, live_server.url, supervisor.username)
    page.goto(f"{live_server.url}/possible-duplicates/")
    page.get_by_role("heading", name="Posibles duplicados", exact=True).wait_for()
    card = page.locator(f"#duplicate-{duplicate.pk}")
    expect(card).to_contain_text("Por qué se parecen")
    group = card.get_by_role("group", name="La misma persona: ¿qué registro se queda?")
    group.get_by_label(f"Rosa Mejía (#{first.neighbor_id})").check()

    # A reason of spaces only: refused in Spanish, nothing linked.
    card.get_by_label("Por qué son la misma persona").fill("   ")
    with page.expect_navigation():
        card.get_by_role("button", name="Vincular como la misma persona").click()
    card = page.locator(f"#duplicate-{duplicate.pk}")
    expect(card.get_by_role("alert")).to_have_text(
        "Indique un motivo: el historial lo guarda junto con su decisión."
    )
    assert Neighbor.objects.get(pk=second.neighbor_id).linked_to_id is None

    card.get_by_role("group", name="La misma persona: ¿qué registro se queda?").get_by_label(
        f"Rosa Mejía (#{first.neighbor_id})"
    ).check()
    card.get_by_label("Por qué son la misma persona").fill("La misma fecha de nacimiento")
    with page.expect_navigation():
        card.get_by_role("button", name="Vincular como la misma persona").click()
    assert page.url == f"{live_server.url}/neighbors/{first.neighbor_id}/"
    linked = page.locator("#linked-records")
    expect(linked.get_by_role("heading", name="Registros vinculados")).to_be_visible()
    expect(linked).to_contain_text("Rosa Mejia")
    expect(linked).to_contain_text("vinculado")
    assert Neighbor.objects.get(pk=second.neighbor_id).linked_to_id == first.neighbor_id

    # Unlink with a blank reason: the Spanish refusal, still linked.
    linked.get_by_label("No es la misma persona porque").fill("  ")
    with page.expect_navigation():
        linked.get_by_role("button", name="Desvincular").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Diga por qué los registros no son de la misma persona."
    )
    assert Neighbor.objects.get(pk=second.neighbor_id).linked_to_id == first.neighbor_id
    with page.expect_navigation():
        page.get_by_role("link", name="Volver al vecino").click()

    linked = page.locator("#linked-records")
    linked.get_by_label("No es la misma persona porque").fill("Madres distintas")
    with page.expect_navigation():
        linked.get_by_role("button", name="Desvincular").click()
    expect(page.locator("#linked-records")).not_to_contain_text("Rosa Mejia")
    gone = Neighbor.objects.get(pk=second.neighbor_id)
    assert gone.linked_to_id is None
    row = gone.history.first()
    assert row.history_user == supervisor
    assert "Madres distintas" in row.history_change_reason

    # Not the same person: a blank reason refused, then a reason dismisses it.
    page.goto(f"{live_server.url}/possible-duplicates/")
    card = page.locator(f"#duplicate-{duplicate.pk}")
    card.get_by_label("Por qué no son la misma persona").fill(" ")
    with page.expect_navigation():
        card.get_by_role("button", name="No es la misma persona").click()
    expect(page.locator(f"#duplicate-{duplicate.pk}").get_by_role("alert")).to_have_text(
        "Indique un motivo: el historial lo guarda junto con su decisión."
    )
    duplicate.refresh_from_db()
    assert duplicate.status == "open"
    card = page.locator(f"#duplicate-{duplicate.pk}")
    card.get_by_label("Por qué no son la misma persona").fill("Fechas de nacimiento distintas")
    with page.expect_navigation():
        card.get_by_role("button", name="No es la misma persona").click()
    expect(page.locator(f"#duplicate-{duplicate.pk}")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("No hay nada que revisar.")
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.resolved_by) == ("dismissed", supervisor)
