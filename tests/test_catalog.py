"""The Spanish catalog is complete (issue 14): every entry translated, none fuzzy or obsolete,
every placeholder kept, and every string the code and templates mark for translation present
(makemessages run afresh into a temporary directory, compared with the catalog in git)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.test import override_settings

from tests.i18n import CATALOGS, ROOT, SPANISH

# What makemessages reads: the project's own code and templates (not the tests, the venv or the
# benchmark scripts). The Makefile's `catalog` target reads the same.
SOURCES = ["heart_cases", "navigation", "referrals", "calls", "metrics", "templates"]
IGNORED = ["*/migrations/*"]
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sdr]|%[sd]|\{[a-z_]+\}")


def _entries(path: Path) -> polib.POFile:
    return polib.pofile(str(path))


def test_there_is_a_spanish_catalog() -> None:
    assert SPANISH in CATALOGS
    assert len(_entries(SPANISH)) > 300


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_entry_is_translated_and_none_is_fuzzy_or_obsolete(path: Path) -> None:
    catalog = _entries(path)
    assert not catalog.metadata_is_fuzzy, "the header is marked fuzzy"
    problems = []
    for entry in catalog:
        if entry.obsolete:
            problems.append(f"obsolete: {entry.msgid!r}")
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {entry.msgid!r}")
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        if not all(text.strip() for text in translations):
            problems.append(f"untranslated: {entry.msgid!r}")
        wanted = sorted(set(PLACEHOLDER.findall(entry.msgid)))
        for text in translations:
            if text.strip() and sorted(set(PLACEHOLDER.findall(text))) != wanted:
                problems.append(f"placeholders differ: {entry.msgid!r} -> {text!r}")
    assert not problems, "\n".join(problems)


def test_every_string_marked_for_translation_is_in_the_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """makemessages afresh (into a temporary directory, from the project's root): a msgid it
    finds that the catalog lacks is a string someone marked and nobody translated."""
    # A copy of the sources without the locale directory: makemessages run in the project
    # itself would merge what it finds into the catalog under test.
    source = tmp_path / "source"
    for name in SOURCES:
        shutil.copytree(
            ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "static")
        )
    monkeypatch.chdir(source)
    with override_settings(LOCALE_PATHS=[tmp_path]):
        call_command(
            "makemessages",
            locale=["es"],
            ignore_patterns=IGNORED,
            add_location="never",
            verbosity=0,
        )
    fresh = _entries(tmp_path / "es" / "LC_MESSAGES" / "django.po")
    assert len(fresh) > 300, "makemessages found the project's strings"
    kept = {(e.msgctxt, e.msgid, e.msgid_plural) for e in _entries(SPANISH)}
    missing = [
        (e.msgctxt, e.msgid) for e in fresh if (e.msgctxt, e.msgid, e.msgid_plural) not in kept
    ]
    assert not missing, (
        "Strings marked for translation but not in locale/es/LC_MESSAGES/django.po "
        "(run `make catalog`, then translate them):\n" + "\n".join(map(repr, missing))
    )
    # And nothing in the catalog that the code no longer has (it would be kept translated
    # for nothing, and hide that a string changed).
    found = {(e.msgctxt, e.msgid, e.msgid_plural) for e in fresh}
    stale = sorted(str(key[1]) for key in kept - found)
    assert not stale, "In the catalog but no longer in the code:\n" + "\n".join(stale)


def test_the_check_fails_on_an_untranslated_or_fuzzy_entry(tmp_path: Path) -> None:
    """The checks above can fail: a copy of the catalog with one entry emptied, one fuzzy."""
    catalog = _entries(SPANISH)
    catalog[0].msgstr = ""
    catalog[1].flags.append("fuzzy")
    broken = tmp_path / "django.po"
    catalog.save(str(broken))
    with pytest.raises(AssertionError) as failed:
        test_every_entry_is_translated_and_none_is_fuzzy_or_obsolete(broken)
    assert f"untranslated: {catalog[0].msgid!r}" in str(failed.value)
    assert f"fuzzy: {catalog[1].msgid!r}" in str(failed.value)
