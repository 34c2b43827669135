"""The case page's words for what the selectors give as codes: history actions and the objects
a history entry names. The API keeps the codes; a page shows them in the reader's language."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext, pgettext_lazy

from heart_cases.models import Need
from heart_cases.roles import Role

register = template.Library()

ACTIONS = {
    "created": pgettext_lazy("history", "created"),
    "changed": pgettext_lazy("history", "changed"),
    "deleted": pgettext_lazy("history", "deleted"),
}

# "case HC-2026-000001", "contact attempt #12": the label's words, then what identifies it.
OBJECTS = {
    "case": pgettext_lazy("history object", "case"),
    "neighbor": pgettext_lazy("history object", "neighbor"),
    "neighbor phone": pgettext_lazy("history object", "neighbor phone"),
    "field response": pgettext_lazy("history object", "field response"),
    "note": pgettext_lazy("history object", "note"),
    "contact attempt": pgettext_lazy("history object", "contact attempt"),
    "pair assignment": pgettext_lazy("history object", "pair assignment"),
    "referral": pgettext_lazy("history object", "referral"),
    "consent": pgettext_lazy("history object", "consent"),
}


@register.filter
def history_action(code: str) -> str:
    return str(ACTIONS.get(code, code))


@register.filter
def history_object(label: str) -> str:
    """The object's kind in the reader's language; its number or name as it is."""
    text = str(label or "")
    for words in sorted(OBJECTS, key=len, reverse=True):
        if text == words or text.startswith(words + " "):
            rest = text[len(words) :]
            rest = rest.replace(" to share", " " + gettext("to share"))
            rest = rest.replace("(pair ", "(" + gettext("pair") + " ")
            return str(OBJECTS[words]) + rest
    return text


@register.filter
def need_labels(needs: list[str]) -> str:
    """The needs a field response recorded ("food", "housing"), in the reader's words."""
    labels = dict(Need.choices)
    return ", ".join(str(labels.get(need, need)) for need in needs or [])


# The fields a case's timeline most often names in a change ("status: Open → Closed"): the
# selectors give Django's own field names; the page says them in the reader's language.
FIELDS = {
    "status": pgettext_lazy("field", "status"),
    "outcome": pgettext_lazy("field", "outcome"),
    "outcome note": pgettext_lazy("field", "outcome note"),
    "closed at": pgettext_lazy("field", "closed at"),
    "opened at": pgettext_lazy("field", "opened at"),
    "pair": pgettext_lazy("field", "pair"),
    "kind": pgettext_lazy("field", "kind"),
    "work by": pgettext_lazy("field", "work by"),
    "deadline": pgettext_lazy("field", "deadline"),
    "resolved at": pgettext_lazy("field", "resolved at"),
    "next task": pgettext_lazy("field", "next task"),
    "ended at": pgettext_lazy("field", "ended at"),
    "reason": pgettext_lazy("field", "reason"),
    "notes": pgettext_lazy("field", "notes"),
    "first name": pgettext_lazy("field", "first name"),
    "last name": pgettext_lazy("field", "last name"),
    "alias": pgettext_lazy("field", "alias"),
    "language": pgettext_lazy("field", "language"),
    "date of birth": pgettext_lazy("field", "date of birth"),
    "unsheltered": pgettext_lazy("field", "unsheltered"),
    "business status": pgettext_lazy("field", "business status"),
    "status reason": pgettext_lazy("field", "status reason"),
    "acknowledged at": pgettext_lazy("field", "acknowledged at"),
    "handoff at": pgettext_lazy("field", "handoff at"),
    "due at": pgettext_lazy("field", "due at"),
    "completed at": pgettext_lazy("field", "completed at"),
    "status changed at": pgettext_lazy("field", "status changed at"),
    "status changed by": pgettext_lazy("field", "status changed by"),
    "linked to": pgettext_lazy("field", "linked to"),
}


@register.filter
def change_text(text: str) -> str:
    """'pair: — → pair #1' with the field's name, and a related record's, in the reader's
    words; the values as the selectors gave them."""
    name, sep, rest = str(text).partition(": ")
    if not sep or name not in FIELDS:
        return str(text)
    if name == "pair":
        rest = rest.replace("pair #", gettext("pair") + " #")
    return f"{FIELDS[name]}: {rest}"


@register.filter
def role_label(code: str | None) -> str:
    """A role's code ("peer") as people say it ("Peer support specialist")."""
    return str(dict(Role.choices).get(code or "", code or "—"))


# What an access-log entry says was read (AccessLog.object_type), in the reader's words.
OBJECT_TYPES = {
    "access_log": pgettext_lazy("access log", "access log"),
    "case": pgettext_lazy("access log", "case"),
    "case_history": pgettext_lazy("access log", "case history"),
    "case_note": pgettext_lazy("access log", "case note"),
    "debrief": pgettext_lazy("access log", "debrief"),
    "monthly_report": pgettext_lazy("access log", "monthly report"),
    "neighbor": pgettext_lazy("access log", "neighbor"),
    "notification": pgettext_lazy("access log", "notification"),
    "referral": pgettext_lazy("access log", "referral"),
    "task": pgettext_lazy("access log", "task"),
    "consent": pgettext_lazy("access log", "consent"),
    "field_response": pgettext_lazy("access log", "field response"),
}


@register.filter
def object_type_label(code: str) -> str:
    return str(OBJECT_TYPES.get(code, code))
