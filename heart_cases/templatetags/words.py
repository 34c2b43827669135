"""The words people read where the records hold codes (issue 13, item 7; issue 14): who acted
(a person's name, a system task's plain name), the reasons the system wrote into history (stored
in English, read in the reader's language), phone numbers in national format, language names,
pairs by their members' names, times in local time. The API keeps the codes: it is for machines.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import phonenumbers
from django import template
from django.apps import apps
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language, get_language_info, gettext, gettext_noop

from heart_cases.actors import actor_display_name

register = template.Library()


@register.filter
def actor_name(user: Any) -> str:
    """A person's full name (else username); a system task's plain name; "—" for nobody."""
    return actor_display_name(user)


@register.filter
def language_name(code: str | None) -> str:
    """'es' → 'Spanish' (in the reader's language: 'español'); an unknown code as it is."""
    if not code:
        return "—"
    try:
        return str(get_language_info(str(code))["name_translated"])
    except KeyError:
        return str(code)


@register.filter
def phone_national(value: Any) -> str:
    """+19195550142 → (919) 555-0142; a number of another country in international format."""
    text = str(value or "")
    if not text:
        return ""
    try:
        parsed = phonenumbers.parse(text, "US")
    except phonenumbers.NumberParseException:
        return text
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if parsed.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, style)


@register.filter
def pair_name(pair: Any) -> str:
    """A pair as the task list names it: "María López & Jamal Carter"."""
    if pair is None:
        return "—"
    return f"{actor_display_name(pair.clinician)} & {actor_display_name(pair.peer)}"


def pair_names(ids: set[int]) -> dict[int, str]:
    """Pairs by id → their members' names, in one query. Pairs are navigation's: looked up
    through the app registry, so that the core does not import navigation."""
    if not ids:
        return {}
    try:
        pair_model = apps.get_model("navigation", "Pair")
    except LookupError:
        return {}
    pairs = pair_model._default_manager.filter(pk__in=ids).select_related("clinician", "peer")
    return {pair.pk: pair_name(pair) for pair in pairs}


# --- times --------------------------------------------------------------------------------

_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
_ISO_DATE = re.compile(r"(?<![\d-])\d{4}-\d{2}-\d{2}(?![\d-])")


def local_time(value: datetime | date | str | None, format_name: str = "DATETIME_FORMAT") -> str:
    """A time (or its ISO text) in the program's time zone and the reader's named format."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return date_format(value, format_name)
    return date_format(value, "DATE_FORMAT")


def _a_date(text: str) -> str:
    try:
        return local_time(date.fromisoformat(text))
    except ValueError:  # 2026-13-45 is no date: as it is
        return text


def _times_in_words(text: str) -> str:
    text = _ISO_TIME.sub(lambda m: local_time(m.group(0)), text)
    return _ISO_DATE.sub(lambda m: _a_date(m.group(0)), text)


_PAIR_ID = re.compile(r"\bpair #(\d+)")
_E164 = re.compile(r"\+\d{8,15}\b")


def phones_in_words(text: str) -> str:
    """'neighbor phone +19195550142' → 'neighbor phone (919) 555-0142'."""
    return _E164.sub(lambda m: phone_national(m.group(0)), text)


# A yes/no field's values as the selectors write them ("unsheltered: no → yes").
_YES_NO = re.compile(r"(?<=: |→ )(yes|no)(?= →|$)")


def _user_id_pattern() -> re.Pattern[str]:
    """'user #4' as the selectors write a change to a user field (the model's own name, in
    the reader's language: 'usuario #4')."""
    label = str(get_user_model()._meta.verbose_name)
    return re.compile(rf"\b(?:{re.escape(label)}|user) #(\d+)")


def user_ids_in(texts: list[str]) -> set[int]:
    pattern = _user_id_pattern()
    return {int(n) for text in texts for n in pattern.findall(text)}


def user_names(ids: set[int]) -> dict[int, str]:
    """Users by id → the names people read (a system task by its plain name); one query."""
    if not ids:
        return {}
    users = get_user_model()._default_manager.filter(pk__in=ids)
    return {user.pk: actor_display_name(user) for user in users}


def change_words(
    text: str, names: dict[int, str] | None = None, users: dict[int, str] | None = None
) -> str:
    """A change's values as people read them: 'deadline: 2026-12-02T19:00:00+00:00 → …' in
    local time, 'pair #3' by its members' names, 'user #4' by the person's name, a phone in
    national format."""
    text = phones_in_words(_times_in_words(str(text)))
    if names:
        text = _PAIR_ID.sub(lambda m: names.get(int(m.group(1)), m.group(0)), text)
    if users:
        text = _user_id_pattern().sub(lambda m: users.get(int(m.group(1)), m.group(0)), text)
    text = text.replace("follow up task #", gettext("Follow-up").lower() + " #")
    text = _YES_NO.sub(
        lambda m: (gettext("Yes") if m.group(0) == "yes" else gettext("No")).lower(), text
    )
    return re.sub(r"\bneighbor #", gettext("Neighbor").lower() + " #", text)


# "pair assignment (pair 3)", the label of a pair assignment's history entry.
PAIR_IN_LABEL = re.compile(r"\(pair (\d+)\)")


def pair_ids_in(texts: list[str]) -> set[int]:
    found: set[int] = set()
    for text in texts:
        found.update(int(n) for n in _PAIR_ID.findall(text))
        found.update(int(n) for n in PAIR_IN_LABEL.findall(text))
    return found


# --- reasons the system writes ------------------------------------------------------------

# What services, sweeps and commands write into history, in English (the record keeps one
# language). A page shows each in the reader's language: a constant through the catalog, a
# sentence with values through its pattern here (the values found in the stored text). Kept
# in step with the code that writes them; anything else (what a person typed) reads as typed.
REASONS = (
    gettext_noop("Pair formed"),
    gettext_noop("Switched schedules"),
    gettext_noop("Note written"),
    gettext_noop("no reason given"),
    gettext_noop("Demo directory"),
    gettext_noop("Demo: assigned to the pair on duty"),
    gettext_noop("Viewed"),
    gettext_noop("Accepted"),
    gettext_noop("Declined"),
    gettext_noop("Neighbor engaged"),
    gettext_noop("Waitlisted"),
    gettext_noop("Handoff confirmed"),
    gettext_noop("Neighbor did not arrive"),
    gettext_noop("Cancelled"),
    gettext_noop("The 48-hour deadline passed without a successful contact"),
    gettext_noop(
        "The first service window after the encounter ended without a successful contact "
        "(its 48 hours fell outside service hours)"
    ),
    gettext_noop("Work-by corrected: the 48 hours fell outside service hours"),
    gettext_noop("Work-by corrected to the last service moment before the deadline"),
    gettext_noop("call again"),
    gettext_noop("visit in person"),
    gettext_noop("knew the neighbor"),
    gettext_noop("least loaded"),
    gettext_noop("unlinked records"),
    gettext_noop("same first and last name"),
    gettext_noop("same last name and date of birth"),
    gettext_noop("same alias"),
    gettext_noop("The neighbor declined follow-up when contacted."),
    gettext_noop("same phone as one record, same name and date of birth as the other"),
)

# Sentences with values, most specific first. A value named `reason`, `outcome`, `attempt`,
# `step`, `method`, `code`, `role` or `note` may itself be a system sentence (or a label) and
# is put in words too (a note a person typed matches none and stays as typed);
# `parts` is a list of them joined by commas; `language` a language code; `user` a username.
PATTERNS = (
    # Before the plain one: a response from another source names it ("(Police referral)").
    gettext_noop("Field response %(incident)s from %(unit)s (%(source)s)"),
    gettext_noop("Field response %(incident)s from %(unit)s"),
    gettext_noop("The CAD's record of %(incident)s from %(unit)s replaces the one entered by hand"),
    gettext_noop("Debrief requested: %(reason)s"),
    gettext_noop("Debrief done. %(note)s"),
    gettext_noop("Debrief done."),
    gettext_noop("Possible duplicate: %(reason)s"),
    gettext_noop("Closed: %(outcome)s. %(note)s"),
    gettext_noop("Closed: %(outcome)s."),
    gettext_noop("Case %(number)s closed: %(outcome)s"),
    gettext_noop("Linked to neighbor #%(id)s as the same person: %(note)s"),
    gettext_noop("Unlinked from neighbor #%(id)s: %(note)s"),
    gettext_noop("Linked as the same person: %(note)s"),
    gettext_noop("Not the same person: %(note)s"),
    gettext_noop("Unlinked: %(note)s"),
    gettext_noop("Contact added: %(name)s (%(relationship)s)"),
    gettext_noop("Contact added: %(name)s"),
    gettext_noop("Note amending note #%(id)s"),
    gettext_noop("Staff account: %(role)s"),
    gettext_noop("Staff of %(provider)s"),
    gettext_noop("48-hour follow-up for %(field_response)s"),
    gettext_noop("%(reason)s: deadline from the corrected time"),
    gettext_noop("Assigned automatically: %(parts)s"),
    gettext_noop("speaks %(language)s"),
    gettext_noop("Reassigned by %(user)s: %(note)s"),
    gettext_noop("Contact made (%(reason)s)"),
    gettext_noop("%(attempt)s (to %(name)s, a contact)"),
    gettext_noop("%(method)s attempt: %(outcome)s"),
    gettext_noop("%(reason)s: %(step)s next"),
    gettext_noop("%(reason)s: %(step)s"),
    gettext_noop("Referred to %(provider)s (%(service)s)"),
    gettext_noop("Consent (%(method)s) to share with %(provider)s"),
    gettext_noop("Consent to share with %(provider)s withdrawn: %(note)s"),
    gettext_noop("Consent to share with %(provider)s withdrawn"),
    gettext_noop("Consent to share with %(provider)s expired"),
    gettext_noop("Referral #%(id)s: %(reason)s"),
    gettext_noop("Referral #%(id)s to %(provider)s not acknowledged: call the provider"),
    gettext_noop("Referral #%(id)s to %(provider)s expired unanswered: refer elsewhere"),
    gettext_noop("Not acknowledged in %(days)s business days: provider reminded"),
    gettext_noop("%(step)s by %(provider)s through the signed link (%(code)s): %(note)s"),
    gettext_noop("%(step)s by %(provider)s through the signed link (%(code)s)"),
    gettext_noop("%(step)s by %(provider)s through the signed link: %(note)s"),
    gettext_noop("%(step)s by %(provider)s through the signed link"),
    gettext_noop("%(step)s (%(code)s): %(note)s"),
    gettext_noop("%(step)s (%(code)s)"),
    gettext_noop("%(step)s: %(note)s"),
    gettext_noop("HSDS import from %(file)s"),
    gettext_noop(
        "Erased under the retention rule: no activity for %(days)s days. Identifying fields "
        "blanked here and in the earlier versions."
    ),
    gettext_noop("No consent to a follow-up at %(incident)s (%(unit)s)."),
)

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# Values that are themselves system words; the others (names, numbers, what people typed) are
# shown as they are.
_IN_WORDS = frozenset(
    {"reason", "outcome", "attempt", "step", "role", "method", "code", "note", "source"}
)
_SYSTEM_WORDS = frozenset(REASONS)
# A value that must be one of the system's words for its sentence to be the system's: "%(step)s:
# %(note)s" is a referral step with a note, not any text with a colon in it.
_MUST_BE_WORDS = frozenset({"step"})


def _pattern(msgid: str) -> re.Pattern[str]:
    pieces = _PLACEHOLDER.split(msgid)
    regex = "".join(
        re.escape(piece) if index % 2 == 0 else f"(?P<{piece}>.+?)"
        for index, piece in enumerate(pieces)
    )
    return re.compile(regex, re.DOTALL)


_COMPILED = tuple((msgid, _pattern(msgid)) for msgid in PATTERNS)


def _label(text: str) -> str:
    """A choice label or a system word stored in English ("No answer", "call again")."""
    translated = gettext(text)
    if translated == text and text[:1].islower():
        # Labels stored lower-cased in a sentence ("(additional assessment required)").
        upper = text[:1].upper() + text[1:]
        again = gettext(upper)
        if again != upper:
            return again[:1].lower() + again[1:]
    return translated


def _username_name(username: str) -> str:
    user = get_user_model()._default_manager.filter(username=username).first()
    return actor_display_name(user) if user is not None else username


def _value(name: str, value: str, depth: int) -> str | None:
    if name in _MUST_BE_WORDS and value not in _SYSTEM_WORDS:
        return None
    if name == "language":
        # Mid-sentence: Spanish writes language names in lower case ("habla español").
        shown = language_name(value)
        return shown.lower() if (get_language() or "").startswith("es") else shown
    if name == "parts":
        return ", ".join(_in_words(part, depth + 1) for part in value.split(", "))
    if name == "user":
        return _username_name(value)
    if name in _IN_WORDS:
        return _in_words(value, depth + 1)
    return value


def _in_words(text: str, depth: int) -> str:
    if not text or depth > 4:
        return text
    if text in _SYSTEM_WORDS:
        return gettext(text)
    for msgid, pattern in _COMPILED:
        found = pattern.fullmatch(text)
        if found:
            values = {k: _value(k, v, depth) for k, v in found.groupdict().items()}
            if None not in values.values():
                return gettext(msgid) % values
    return _label(text) if depth else text


@register.filter
def history_reason(text: Any) -> str:
    """A history entry's reason in the reader's language when the system wrote it; what a
    person typed, as typed."""
    return _in_words(str(text or ""), 0)
