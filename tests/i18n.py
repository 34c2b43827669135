"""The Spanish catalog for the tests: compiled when the .po is newer than the .mo (`make test`
does it through `make install`; this keeps a bare `pytest` run from testing a stale one), and
read as the English source strings the no-English test looks for."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

ROOT = Path(__file__).resolve().parents[1]
CATALOGS = sorted((ROOT / "locale").glob("*/LC_MESSAGES/*.po"))
SPANISH = ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po"


def compile_catalog() -> None:
    """msgfmt each .po that changed since its .mo was made. Called at import, before Django
    has loaded any translation in this process."""
    msgfmt = shutil.which("msgfmt")
    for po in CATALOGS:
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        assert msgfmt, "msgfmt is missing: `make test` installs Debian's gettext"
        subprocess.run([msgfmt, "--check", f"--output-file={mo}", str(po)], check=True)  # noqa: S603


_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sdr]|%[sd]|\{[a-z_]+\}")


@cache
def english_source_strings() -> tuple[tuple[str, re.Pattern[str], bool], ...]:
    """(msgid, a pattern finding it in page text with its placeholders filled in, whether it
    is one word) for every catalog entry whose Spanish differs from its English."""
    found = []
    for entry in polib.pofile(str(SPANISH)):
        if entry.obsolete:
            continue
        forms = [entry.msgid, entry.msgid_plural] if entry.msgid_plural else [entry.msgid]
        spanish = set(entry.msgstr_plural.values()) if entry.msgid_plural else {entry.msgstr}
        for msgid in forms:
            if not msgid or msgid in spanish:
                continue
            # Markup in a msgid (a link in a note's line) is not page text: the text around it.
            text = re.sub(r"<[^>]+>", " ", msgid)
            parts = [re.escape(" ".join(p.split())) for p in _PLACEHOLDER.split(text)]
            body = r"\s*.+?\s*".join(part for part in parts if part) if any(parts) else ""
            if not body.strip():
                continue
            words = _PLACEHOLDER.sub("", text).split()
            pattern = re.compile(rf"(?<![\w-]){body}(?![\w-])")
            found.append((msgid, pattern, len(words) == 1 and not _PLACEHOLDER.search(text)))
    return tuple(found)


@pytest.fixture(autouse=True)
def back_to_english() -> Iterator[None]:
    """A Spanish request leaves Spanish active in the test's thread (LocaleMiddleware activates
    a language per request and leaves it): later code outside a request gets English again."""
    yield
    translation.activate(settings.LANGUAGE_CODE)
