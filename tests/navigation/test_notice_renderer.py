"""A sweep's notices are rendered by NoticeRenderer, which renders each template once per batch
and puts each notice's case number and neighbor in (issue 19). Its text must be render_notice's,
exactly, for every kind and language, whatever the names hold."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from navigation.notices import NoticeRenderer, _verbatim_names, render_notice
from tests.referrals.test_notices import CONTEXT as REFERRAL_CONTEXT

WHEN = datetime(2026, 12, 9, 16, 30, tzinfo=ZoneInfo("America/New_York"))
NAMES = ["Ana", "O'Brien & <Sons>", "Ana\nMaría", "", "José De la Cruz", "\x00", "%s {{ x }}"]
KINDS = sorted(
    {path.name.split(".")[0] for path in Path(settings.BASE_DIR, "templates/notices").iterdir()}
)


def contexts(kind: str) -> list[dict]:
    """Contexts that share their dates and differ in their texts, as a batch's do."""
    out = []
    for index, name in enumerate(NAMES):
        out.append(
            {
                **REFERRAL_CONTEXT,
                "audience": "navigators" if index % 2 else "provider",
                "work_by": WHEN,
                "deadline": WHEN,
                "kind_label": "Follow-up" if index % 3 else "",
                "case_number": f"HC-2026-{index:06d}",
                "neighbor_name": name,
                "provider": name or "Casa Esperanza",
                "day": WHEN.date(),
                "count": index,
            }
        )
    return out


@pytest.mark.parametrize("language", ["en", "es", "fr"])
@pytest.mark.parametrize("kind", KINDS)
def test_the_batch_renderer_writes_what_render_notice_writes(kind: str, language: str) -> None:
    render = NoticeRenderer(kind)
    for context in contexts(kind) * 2:  # the second time from what it kept
        assert render(language, context) == render_notice(kind, language, context)


def test_the_reminder_is_rendered_once_per_batch_and_language() -> None:
    """What makes the batch cheap: the reminder prints its case number, neighbor and kind as
    they are, so those are put in, not rendered."""
    assert _verbatim_names("reminder", "en") == {"case_number", "neighbor_name", "kind_label"}
    assert _verbatim_names("reminder", "es") == {"case_number", "neighbor_name"}
    render = NoticeRenderer("reminder")
    # A batch's reminders: one due time, one kind, their own cases and neighbors.
    batch = [
        {
            "work_by": WHEN,
            "deadline": WHEN,
            "kind_label": "Follow-up",
            "case_number": context["case_number"],
            "neighbor_name": context["neighbor_name"],
        }
        for context in contexts("reminder")
    ]
    for context in batch:
        render("es", context)
    # Rendered once for the names, once more for the empty one (rendered as it is).
    assert len(render._rendered) == 2


def test_a_template_with_tags_is_rendered_whole() -> None:
    """The assignment notice uses a filter on a value and the missed one looks values up: they
    have nothing to put in, so each notice is rendered as render_notice renders it."""
    assert "neighbor" not in _verbatim_names("assigned", "en")
    assert _verbatim_names("missed", "en") == frozenset()
