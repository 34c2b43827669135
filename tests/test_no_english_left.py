"""No English left on a Spanish page (issue 14): with Spanish chosen in the header's menu, every
page each role reaches (from its start page, following the links a person can follow), the case
and break-the-glass pages, the provider portal, the signed-link page, login, locked-out, 403,
404 and 500, and a form's errors, is rendered and what a person reads or hears there (the text,
and the title, aria-label, placeholder, alt, data-label and button values) is checked against
the English source strings of the catalog: none may be left untranslated. Data (names, services,
call types, notes: what people typed or imported) is not the catalog's and is left out."""

from __future__ import annotations

import io
import re
from collections import deque
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models
from django.test import Client, RequestFactory
from django.utils import translation

from heart_cases import errors
from navigation.models import PairAssignment
from referrals.links import link_token
from referrals.models import Referral
from tests.i18n import back_to_english, compile_catalog, english_source_strings

pytestmark = pytest.mark.django_db
compile_catalog()
__all__ = ["back_to_english"]  # autouse: English again after each test

# Words the same in both languages, or meant in English: short, and each says why.
ALLOWED = {
    "HEART Care Navigation",  # the program's name
    "English",  # the language menu names each language in itself (and marks it lang="en")
}
# What a person reads besides the text: the attributes a screen reader speaks or CSS shows.
SPOKEN_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt", "data-label")
SCRIPT_TEXT = ("data-minutes-left", "data-seconds-left", "data-unreachable")  # session.js
SKIPPED_PATHS = ("/admin/", "/api/", "/static/", "/logout", "/language/", "/hsds/", "/fhir/")
PAGES_PER_ROLE = 40
# English's commonest words that are not Spanish ones ("no", "a", "me" are both).
ENGLISH_WORDS = frozenset(
    [
        "the",
        "and",
        "of",
        "is",
        "are",
        "not",
        "your",
        "this",
        "that",
        "with",
        "was",
        "were",
        "has",
        "have",
        "be",
        "by",
        "you",
        "it",
        "its",
        "an",
        "for",
        "from",
        "been",
        "which",
        "what",
        "who",
        "when",
        "will",
        "can",
        "may",
        "must",
    ]
)


class PageText(HTMLParser):
    """The text chunks of a page a person meets, and its same-site links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.links: list[str] = []
        self._skip: list[str] = []  # open elements whose text is not the page's language
        self._stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        english = values.get("lang", "").startswith("en") and tag != "html"
        if tag not in ("br", "input", "meta", "link", "img", "hr", "rect", "line", "circle"):
            self._stack.append(tag)
            self._skip.append("skip" if english or tag in ("script", "style") else "")
        if english or any(self._skip):
            return
        for name in SPOKEN_ATTRIBUTES + SCRIPT_TEXT:
            if values.get(name):
                self.chunks.append(values[name])
        if tag == "input" and values.get("type") in ("submit", "button", "reset"):
            self.chunks.append(values.get("value", ""))
        href = values.get("href", "")
        if tag == "a" and href.startswith("/") and "download" not in values:
            self.links.append(href.split("#")[0])

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            self._skip.pop()
            if self._stack.pop() == tag:
                break

    def handle_data(self, data: str) -> None:
        if not any(self._skip) and data.strip():
            self.chunks.append(data)


def _data_strings() -> list[str]:
    """Every text value stored in the program's tables: what people typed or imported."""
    found: set[str] = set()
    for app in ("heart_cases", "navigation", "referrals"):
        for model in apps.get_app_config(app).get_models():
            names = [
                f.name
                for f in model._meta.concrete_fields
                if isinstance(f, models.CharField | models.TextField) and not f.choices
            ]
            for row in model._default_manager.values_list(*names) if names else []:
                found.update(v for v in row if isinstance(v, str) and len(v.split()) > 1)
    # One word alone ("Accepted") could hide a label left in English: only longer data goes.
    return sorted(found, key=len, reverse=True)


class Checker:
    def __init__(self) -> None:
        self.sources = english_source_strings()
        self._data: list[str] | None = None
        self.problems: list[str] = []
        self.pages = 0

    def data(self) -> list[str]:
        if self._data is None:
            self._data = _data_strings()
        return self._data

    def english_in(self, chunk: str) -> list[str]:
        text = " ".join(chunk.split())
        bare = text.strip(" :.,;…·—–()")
        if not bare or bare in ALLOWED:
            return []
        hits = [
            msgid
            for msgid, pattern, one_word in self.sources
            if (bare == msgid.strip(" :.…") if one_word else pattern.search(text))
        ]
        if hits:  # Data that happens to hold the words is not the catalog's: take it out.
            for value in self.data():
                if value in text:
                    text = text.replace(value, " ")
            bare = " ".join(text.split()).strip(" :.,;…·—–()")
            hits = [
                msgid
                for msgid, pattern, one_word in self.sources
                if (bare == msgid.strip(" :.…") if one_word else pattern.search(text))
            ]
        return hits

    def english_words_in(self, chunk: str) -> list[str]:
        """Text the catalog does not hold but that reads as English (two of its commonest
        words): a string someone forgot to mark for translation."""
        text = " ".join(chunk.split())
        words = set(re.findall(r"[a-z]+", text.lower()))
        if len(words & ENGLISH_WORDS) < 2:
            return []
        for value in self.data():
            text = text.replace(value, " ")
        left = sorted(set(re.findall(r"[a-z]+", text.lower())) & ENGLISH_WORDS)
        return left if len(left) >= 2 else []

    def check(self, where: str, html: str) -> PageText:
        page = PageText()
        page.feed(html)
        self.pages += 1
        if '<html lang="es">' not in html:
            self.problems.append(f'{where}: not marked <html lang="es">')
        for chunk in page.chunks:
            for msgid in self.english_in(chunk):
                self.problems.append(f"{where}: {msgid!r} untranslated in {chunk.strip()[:120]!r}")
            words = self.english_words_in(chunk)
            if words:
                self.problems.append(f"{where}: English {words} in {chunk.strip()[:120]!r}")
        return page


def _pattern(path: str) -> str:
    return re.sub(r"\d+", "N", path.split("?")[0])


def _spanish_client(username: str | None = None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")  # the browser says English; the menu says Spanish
    if username:
        from django.contrib.auth import get_user_model

        client.force_login(get_user_model().objects.get(username=username))
    response = client.post("/language/", {"language": "es", "next": "/"})
    assert response.status_code == 302
    return client


def _crawl(checker: Checker, username: str, extra: tuple[str, ...] = ()) -> set[str]:
    client = _spanish_client(username)
    queue = deque(["/", *extra])
    seen: set[str] = set()
    visited: set[str] = set()
    while queue and len(visited) < PAGES_PER_ROLE:
        path = queue.popleft()
        if path.startswith(SKIPPED_PATHS) or _pattern(path) in seen:
            continue
        seen.add(_pattern(path))
        response = client.get(path, follow=True)
        if "text/html" not in response.get("Content-Type", ""):
            continue
        final = response.redirect_chain[-1][0] if response.redirect_chain else path
        visited.add(final)
        page = checker.check(
            f"{username} {path} ({response.status_code})", response.content.decode()
        )
        queue.extend(link for link in page.links if _pattern(link) not in seen)
    return visited


@pytest.fixture
def demo(roles: None) -> None:
    call_command("seed_demo", "--responses", "20", "--days", "7", stdout=io.StringIO())


def test_no_page_of_any_role_is_left_in_english(demo: None) -> None:
    checker = Checker()
    reached: dict[str, set[str]] = {}
    for username in (
        "clinician1",
        "peer1",
        "supervisor",
        "analyst",
        "provider-casa",
        "responder1",
        "admin",
    ):
        # The header's neighbor search is a form: its results page, by hand.
        reached[username] = _crawl(checker, username, extra=("/neighbors/?q=Brooks",))

    # What each role's pages lead to: the task list, a case, the provider portal.
    assert "/tasks/" in reached["clinician1"]
    assert any(re.fullmatch(r"/cases/\d+/", p) for p in reached["peer1"])
    assert any(re.fullmatch(r"/cases/\d+/refer/", p) for p in reached["clinician1"])
    assert "/access-log/" in reached["supervisor"]
    assert "/cases/" in reached["clinician1"]
    assert "/metrics/" in reached["analyst"]
    assert any(re.fullmatch(r"/provider/referrals/\d+/", p) for p in reached["provider-casa"])

    # Break the glass: a case of another pair asks for a reason first.
    mine = PairAssignment.objects.filter(pair__clinician__username="clinician1")
    theirs = (
        PairAssignment.objects.filter(ended_at__isnull=True)
        .exclude(case_id__in=mine.values("case_id"))
        .values_list("case_id", flat=True)
        .first()
    )
    clinician = _spanish_client("clinician1")
    response = clinician.get(f"/cases/{theirs}/")
    assert response.status_code == 403
    checker.check("clinician1 break the glass", response.content.decode())
    response = clinician.post(f"/cases/{theirs}/", {"access_reason": ""})
    checker.check("clinician1 break the glass, blank reason", response.content.decode())

    # A form's errors and a message after a submit.
    supervisor = _spanish_client("supervisor")
    response = supervisor.get("/access-log/?case=HC-1999-000001&user=nobody&from=1800-01-01")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Ningún caso tiene el número HC-1999-000001." in page
    checker.check("supervisor access log with errors", page)
    response = supervisor.get("/cases/?opened_after=2026-13-01&ordering=name&status=open")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Ordenar por: Ordene por uno de estos:" in page
    checker.check("supervisor case list with errors", page)
    analyst = _spanish_client("analyst")
    response = analyst.get("/metrics/?start=2026-02-01&end=nonsense")
    checker.check("analyst metrics with errors", response.content.decode())
    task_page = _spanish_client("peer1").get("/tasks/").content.decode()
    task_id = re.search(r'action="/tasks/(\d+)/attempts/"', task_page)
    assert task_id, "the demo gives peer1 tasks"
    peer = _spanish_client("peer1")
    response = peer.post(f"/tasks/{task_id.group(1)}/attempts/", {"method": "phone"}, follow=True)
    page = response.content.decode()
    assert "No se registró" in page
    checker.check("peer1 attempt without an outcome", page)

    # Signed in as nobody: login, the signed link, the error pages, the lockout.
    anonymous = _spanish_client()
    for path in ("/login/", "/no-such-page/"):
        response = anonymous.get(path)
        checker.check(f"anonymous {path} ({response.status_code})", response.content.decode())
    referral = Referral.objects.filter(status__in=["requested", "accepted"]).first()
    assert referral is not None, "the demo has open referrals"
    response = anonymous.get(f"/r/{link_token(referral)}/")
    assert response.status_code == 200
    checker.check("signed link", response.content.decode())
    response = anonymous.get("/r/not-a-token/")
    checker.check(f"signed link refused ({response.status_code})", response.content.decode())
    response = _spanish_client("provider-casa").get("/tasks/")
    assert response.status_code == 403
    checker.check("provider on the task list (403)", response.content.decode())
    with translation.override("es"):
        response = errors.server_error(RequestFactory().get("/tasks/"))
    assert response.status_code == 500
    checker.check("500", response.content.decode())
    for _ in range(5):
        response = anonymous.post(
            "/login/", {"username": "clinician1", "password": "wrong"}, REMOTE_ADDR="192.0.2.9"
        )
    assert response.status_code == 429
    checker.check("locked out", response.content.decode())
    response = anonymous.post(
        "/login/", {"username": "x", "password": "y"}, REMOTE_ADDR="192.0.2.8"
    )
    checker.check("login failed", response.content.decode())

    assert checker.pages >= 40, checker.pages
    assert not checker.problems, "\n".join(checker.problems)


def test_the_checker_finds_english_that_is_left(demo: None) -> None:
    """The check itself can fail: an English page, a Spanish page with one English label."""
    checker = Checker()
    english = Client(HTTP_ACCEPT_LANGUAGE="en").get("/login/").content.decode()
    checker.check("english login", english)
    assert any("'Log in'" in problem for problem in checker.problems)
    assert any("not marked" in problem for problem in checker.problems)

    checker = Checker()
    spanish = _spanish_client().get("/login/").content.decode()
    checker.check("spanish login", spanish)
    assert not checker.problems
    checker.check("one label left", spanish.replace("Contraseña", "Password"))
    assert checker.problems == ["one label left: 'Password' untranslated in 'Password'"]
    checker.problems.clear()
    checker.check("a sentence left", spanish.replace("Contraseña", "Back, without opening it"))
    assert checker.problems
