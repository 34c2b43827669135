"""Case notes (API.md, "Case notes and closing"): progress notes on a case, written by the
pair or a supervisor. A note is never edited or deleted; a correction is a new note that amends
an earlier one of the same case, and both stay. Notes are in the case's history (a history
source) and on its page (the `_case_notes.html` include, fed by a case-page context provider).

The page's note form posts to `case_note_page`, which runs the API's validation and this
module's service, behind the same break-the-glass check as the case page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Min, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from . import hooks, selectors, services
from .actors import acting_user, stamp
from .middleware import client_address
from .models import Case, CaseNote

# A progress note is a paragraph or a page, not a document.
NOTE_TEXT_MAX_LENGTH = 10_000


class NoteInvalid(ValueError):
    """What the service refuses, by field: {"occurred_at": ["..."]}, the API's 400."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def case_first_response_at(case: Case) -> datetime | None:
    """When the case's first field response began: nothing on the case happened before it."""
    first: datetime | None = case.field_responses.aggregate(first=Min("responded_at"))["first"]
    return first


@transaction.atomic
def note_create(
    *,
    actor: User,
    case: Case,
    text: str,
    occurred_at: datetime | None = None,
    amends_id: int | None = None,
) -> CaseNote:
    """Write a note on the case, in its history by `actor`. `occurred_at` (when what it tells of
    happened) defaults to now; before the case's first field response it is refused, as is an
    `amends` that is not a note of the same case. The time rules of every recorded time
    (heart_cases.clock) are the caller's serializer's."""
    now = timezone.now()
    errors: dict[str, list[str]] = {}
    if not text.strip():
        errors["text"] = [str(_("Write the note; it cannot be blank."))]
    elif len(text) > NOTE_TEXT_MAX_LENGTH:
        errors["text"] = [
            str(_("At most %(n)d characters.") % {"n": NOTE_TEXT_MAX_LENGTH}),
        ]
    elif "\x00" in text:
        errors["text"] = [str(_("A note cannot hold a NUL character."))]
    when = occurred_at or now
    first = case_first_response_at(case)
    if first is not None and when < first:
        errors["occurred_at"] = [
            str(
                _("This is before the case's first field response (%(at)s).")
                % {"at": timezone.localtime(first).strftime("%Y-%m-%d %H:%M %Z")}
            )
        ]
    amends: CaseNote | None = None
    if amends_id is not None:
        amends = CaseNote.objects.filter(pk=amends_id, case=case).first()
        if amends is None:
            errors["amends"] = [str(_("Not a note of this case."))]
    if errors:
        raise NoteInvalid(errors)
    reason = f"Note amending note #{amends.pk}" if amends else gettext_noop("Note written")
    note = stamp(
        CaseNote(case=case, author=actor, at=now, occurred_at=when, text=text, amends=amends),
        actor=actor,
        reason=reason,
    )
    note.save()
    return note


def notes_of_case(case: Case) -> QuerySet[CaseNote]:
    """The case's notes in the order they were written, with their authors."""
    return CaseNote.objects.filter(case=case).select_related("author").order_by("at", "id")


def author_name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def note_json(note: CaseNote) -> dict[str, Any]:
    return {
        "id": note.pk,
        "author": note.author.get_username(),
        "author_name": author_name(note.author),
        "at": note.at,
        "occurred_at": note.occurred_at,
        "text": note.text,
        "amends": note.amends_id,
    }


# --- the case page ---------------------------------------------------------------------------


def case_page_context(*, case: Case, user: User) -> dict[str, Any]:
    """The notes section of the case page (`heart_cases/_case_notes.html`): the notes, each
    with the ids of the notes that amend it, and whether this person may write one."""
    notes = list(notes_of_case(case))
    amended_by: dict[int, list[int]] = {}
    for note in notes:
        if note.amends_id is not None:
            amended_by.setdefault(note.amends_id, []).append(note.pk)
    return {
        "case_notes": [{"note": note, "amended_by": amended_by.get(note.pk, [])} for note in notes],
        "may_write_notes": user.has_perm(WRITES_NOTES),
        "note_text_max_length": NOTE_TEXT_MAX_LENGTH,
    }


# Who may write a note: who may close the case (the pair's roles and supervisors).
WRITES_NOTES = "heart_cases.change_case"


def _log_denied(request: HttpRequest, case_id: int) -> None:
    services.access_log_write(
        user=request.user,
        action="view",
        object_type="case_note",
        object_ids=[case_id],
        denied=True,
        client_address=client_address(request),
        request_id=getattr(request, "request_id", ""),
        path=request.path,
    )


@login_required
@require_POST
def case_note_page(request: HttpRequest, case_id: int) -> HttpResponse:
    """The note form of the case page: the API's validation and service, then back to the page
    (with the API's messages on a refusal). A case not the person's pair's needs the reason
    they gave on the case page in this session (break the glass), else the case page asks."""
    from .notes_api import CaseNoteInput  # the API's rules and messages
    from .views import SESSION_ACCESS_REASONS

    user = acting_user(request)
    try:
        case = selectors.case_get_for_user(user=user, case_id=case_id)
    except Http404:
        _log_denied(request, case_id)
        raise
    if not user.has_perm(WRITES_NOTES):
        raise PermissionDenied
    given = request.session.get(SESSION_ACCESS_REASONS, {}).get(str(case.pk))
    try:
        selectors.case_access_check(user=user, case=case, reason=given)
    except (selectors.ReasonRequired, selectors.AccessReasonInvalid):
        return redirect("case", case_id=case.pk)
    data = {
        name: value
        for name, value in request.POST.dict().items()
        if name in ("text", "occurred_at", "amends") and value != ""
    }
    if "occurred_at" in data:
        data["occurred_at"] = local_input_as_aware(data["occurred_at"])
    form = CaseNoteInput(data=data)
    errors: dict[str, Any] = {}
    if form.is_valid():
        try:
            note_create(
                actor=user,
                case=case,
                text=form.validated_data["text"],
                occurred_at=form.validated_data.get("occurred_at"),
                amends_id=form.validated_data.get("amends"),
            )
        except NoteInvalid as exc:
            errors = exc.errors
    else:
        errors = form.errors
    if errors:
        labels = {"text": _("Note"), "occurred_at": _("When it happened"), "amends": _("Amends")}
        problems = "; ".join(
            f"{labels.get(name, name)}: {' '.join(map(str, found))}"
            for name, found in errors.items()
        )
        messages.error(
            request, str(_("The note was not saved. %(problems)s")) % {"problems": problems}
        )
    else:
        # The case page the redirect shows logs the read, with the reason, as every view does.
        messages.success(request, str(_("Note saved.")))
    return redirect(f"{reverse('case', args=[case.pk])}#notes")


def local_input_as_aware(value: str) -> str:
    """A `datetime-local` input's value ("2026-12-01T10:00", the person's wall clock in the
    program's time zone) as ISO 8601 with its offset, as the API takes times; any other text
    is passed on for the API's own message."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = timezone.make_aware(parsed, timezone.get_current_timezone())
    return parsed.isoformat()


def register() -> None:
    """Notes on the case page (called from the app's ready(); their history is one of the
    core's history sources, selectors._core_sources)."""
    hooks.register_case_page_context(case_page_context)
