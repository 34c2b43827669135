"""Import an Open Referral HSDS 3.0 data package (a folder of CSVs with `datapackage.json`) into
the provider directory.

Re-importing updates by HSDS id instead of duplicating, and writes history only for what
changed. A row that cannot be used is reported by file, row and reason and the import goes on;
a row used with a correction (coordinates out of range, a malformed email) is reported too.
Services are mapped to the program's needs where the data says enough, else `other`.
"""

from __future__ import annotations

import csv
import json
import re
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from datetime import time as dt_time
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import DatabaseError, models, transaction
from django.utils.text import slugify

from heart_cases.actors import stamp
from heart_cases.models import Need

from .models import (
    Address,
    AddressType,
    Location,
    Phone,
    Provider,
    Schedule,
    Service,
    ServiceLanguage,
    ServiceLocation,
    new_hsds_id,
)

HSDS_VERSION = "3.0"
# Ids the program derives rather than mints (uuid5 in this namespace): the taxonomy of its needs
# and its terms, and the UUID served for an imported id that was not one.
HEART_NAMESPACE = uuid.UUID("6b1f3f0e-5d0c-4c4e-9a57-4845415254a1")
NEEDS_TAXONOMY_NAME = "HEART care navigation needs"
NEEDS_TAXONOMY_ID = str(uuid.uuid5(HEART_NAMESPACE, "taxonomy:needs"))


@lru_cache(maxsize=65536)
def hsds_uuid(kind: str, hsds_id: str) -> str:
    """The UUID an HSDS id is served as: the id itself, in canonical form, when it is a UUID
    (HSDS 3.0 says it must be); else one derived from it, the same every time."""
    try:
        return str(uuid.UUID(hsds_id))
    except (ValueError, TypeError, AttributeError):
        return str(uuid.uuid5(HEART_NAMESPACE, f"{kind}:{hsds_id}"))


@lru_cache(maxsize=64)
def need_term_id(need: str) -> str:
    """The HSDS taxonomy term id of one of the program's needs (cached: every service served
    fully nested asks for its need's)."""
    return str(uuid.uuid5(HEART_NAMESPACE, f"taxonomy_term:{need}"))


_NEED_BY_TERM = {need_term_id(need): need for need in Need.values}


def need_for_term(term_id: str) -> str | None:
    return _NEED_BY_TERM.get(term_id.lower())


# The files the directory uses, in the order they are read; the rest are listed as not used.
USED_FILES = (
    "taxonomy_terms",
    "attributes",
    "programs",
    "organizations",
    "services",
    "service_at_location",
    "locations",
    "addresses",
    "phones",
    "schedules",
    "languages",
)
# At or above this many rows, a progress bar shows (on a terminal).
PROGRESS_MIN_ROWS = 1000

Row = dict[str, str]


@dataclass(frozen=True)
class Problem:
    file: str
    row: int  # the CSV line, counting the header as line 1; 0 for the file as a whole
    reason: str
    used: bool = False  # True: the row was used, with the correction the reason says

    def __str__(self) -> str:
        where = f"{self.file} row {self.row}" if self.row else self.file
        return f"{where}: {self.reason}"


@dataclass
class ImportReport:
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)
    removed: Counter[str] = field(default_factory=Counter)
    not_used_files: list[str] = field(default_factory=list)
    rows_read: int = 0
    english_by_default: int = 0

    @property
    def skipped(self) -> list[Problem]:
        return [p for p in self.problems if not p.used]

    @property
    def corrected(self) -> list[Problem]:
        return [p for p in self.problems if p.used]

    def summary(self) -> list[str]:
        lines = [f"Read {self.rows_read} rows."]
        for kind in (
            "providers",
            "services",
            "locations",
            "service locations",
            "languages",
            "addresses",
            "phones",
            "schedules",
        ):
            counts = (self.created[kind], self.updated[kind], self.unchanged[kind])
            if kind in ("addresses", "phones", "schedules") and not any(
                (*counts, self.removed[kind])
            ):
                continue
            removed = f", {self.removed[kind]} removed" if self.removed[kind] else ""
            lines.append(
                f"{kind.capitalize()}: {self.created[kind]} created, {self.updated[kind]} "
                f"updated, {self.unchanged[kind]} unchanged{removed}."
            )
        if self.categories:
            mapped = ", ".join(f"{need} {n}" for need, n in sorted(self.categories.items()))
            lines.append(f"Service categories: {mapped}.")
        if self.english_by_default:
            lines.append(
                f"Services listing no language, taken as English: {self.english_by_default}."
            )
        lines.append(f"Rows not used: {len(self.skipped)}.")
        lines.extend(f"  {p}" for p in self.skipped)
        if self.corrected:
            lines.append(f"Rows used with a correction: {len(self.corrected)}.")
            lines.extend(f"  {p}" for p in self.corrected)
        if self.not_used_files:
            lines.append("Files the directory does not use: " + ", ".join(self.not_used_files))
        return lines


class PackageError(Exception):
    """The path is not an HSDS data package at all (not a folder of CSVs)."""


# --- mapping services to the program's needs -----------------------------------------------

_KEYWORDS: dict[str, tuple[str, ...]] = {
    Need.MENTAL_HEALTH: (
        r"mental health",
        r"counsel",
        r"psychiatr",
        r"psycholog",
        r"therap",
        r"behaviou?ral health",
        r"crisis (line|center|centre|stabili[sz])",
        r"depress",
        r"anxiety",
        r"trauma",
    ),
    Need.SUBSTANCE_USE: (
        r"substance",
        r"addict",
        r"recovery",
        r"detox",
        r"alcohol",
        r"opioid",
        r"\bdrugs?\b",
        r"harm reduction",
        r"methadone",
        r"\bsober",
    ),
    Need.HOUSING: (r"housing", r"shelter", r"homeless", r"\brent", r"evict", r"\btenan"),
    Need.FOOD: (r"\bfood", r"\bmeals?\b", r"pantry", r"nutrition", r"grocer", r"soup kitchen"),
    Need.MEDICAL: (
        r"medical",
        r"\bclinic",
        r"health ?care",
        r"primary care",
        r"dental",
        r"\bdoctor",
        r"\bnurs(e|ing)",
        r"pharmac",
        r"hospital",
    ),
    Need.BENEFITS: (
        r"benefit",
        r"medicaid",
        r"medicare",
        r"\bsnap\b",
        r"\bssi\b",
        r"\bssdi\b",
        r"disability",
        r"unemployment",
        r"public assistance",
    ),
    Need.TRANSPORTATION: (r"transport", r"bus pass", r"\brides?\b", r"\btransit\b"),
    Need.LEGAL: (r"\blegal", r"lawyer", r"attorney", r"\bcourts?\b", r"expunge"),
    Need.FAMILY: (r"\bfamil", r"\bchild", r"\bparent", r"\byouth", r"domestic violence"),
}
_PATTERNS = {need: [re.compile(p) for p in patterns] for need, patterns in _KEYWORDS.items()}
# AIRS/211 LA taxonomy codes by their leading letters.
_AIRS = (
    ("BD", Need.FOOD),
    ("BH", Need.HOUSING),
    ("BT", Need.TRANSPORTATION),
    ("FT", Need.LEGAL),
    ("NL", Need.BENEFITS),
    ("RP", Need.MENTAL_HEALTH),
    ("RX", Need.SUBSTANCE_USE),
    ("L", Need.MEDICAL),
)
_AIRS_CODE = re.compile(r"^[A-Z]{1,2}(-\d{4}(\.\d+)*)?$")


def category_for(
    *,
    name: str,
    alternate_name: str = "",
    description: str = "",
    program: str = "",
    taxonomy: Iterable[tuple[str, str]] = (),
) -> str:
    """The need a service meets, from its taxonomy terms (code, name), its name, its program
    and its description, in that order of weight; `other` when nothing says enough."""
    scores: Counter[str] = Counter()
    for code, term in taxonomy:
        if code and _AIRS_CODE.match(code):
            for prefix, need in _AIRS:
                if code.startswith(prefix):
                    scores[need] += 4
                    break
        _score(scores, term, weight=3)
    _score(scores, name, weight=3)
    _score(scores, f"{alternate_name} {program}", weight=2)
    _score(scores, description, weight=1)
    if not scores:
        return Need.OTHER
    order = list(Need.values)
    return max(scores, key=lambda need: (scores[need], -order.index(need)))


def _score(scores: Counter[str], text: str, *, weight: int) -> None:
    lowered = (text or "").lower()
    if not lowered.strip():
        return
    for need, patterns in _PATTERNS.items():
        hits = sum(1 for pattern in patterns if pattern.search(lowered))
        if hits:
            scores[need] += hits * weight


# --- reading the package -------------------------------------------------------------------

_DAYS = {"MO": "Mon", "TU": "Tue", "WE": "Wed", "TH": "Thu", "FR": "Fri", "SA": "Sat", "SU": "Sun"}
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_LANGUAGE_NAMES = {
    "english": "en",
    "spanish": "es",
    "español": "es",
    "french": "fr",
    "arabic": "ar",
    "chinese": "zh",
    "mandarin": "zh",
    "cantonese": "yue",
    "vietnamese": "vi",
    "korean": "ko",
    "portuguese": "pt",
    "haitian creole": "ht",
    "russian": "ru",
    "urdu": "ur",
    "hindi": "hi",
    "swahili": "sw",
    "american sign language": "ase",
}
_url = URLValidator(schemes=["http", "https"])


def _clean(value: str | None) -> str:
    """Trim, and drop the stray quotes some exports leave around a value (`"+44 1234"`)."""
    text = (value or "").strip()
    while len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    return text


class _Package:
    def __init__(self, path: Path, report: ImportReport) -> None:
        if path.is_file() and path.name == "datapackage.json":
            path = path.parent
        if not path.is_dir():
            raise PackageError(f"{path} is not a folder with an HSDS data package.")
        self.path = path
        self.report = report
        self.files = self._files()

    def _files(self) -> dict[str, Path]:
        """Resource name -> CSV file, from datapackage.json where it can be read, else the
        standard HSDS file names."""
        files = {p.stem: p for p in sorted(self.path.glob("*.csv")) if self._inside(p)}
        descriptor = self.path / "datapackage.json"
        try:
            if descriptor.is_symlink():
                raise OSError("a link")
            text = descriptor.read_text(encoding="utf-8")
        except OSError:
            self.report.problems.append(
                Problem("datapackage.json", 0, "missing or unreadable; used the CSV file names")
            )
            return files
        try:
            package = json.loads(text)
            resources = package["resources"]
            listed = {
                str(r["name"]): self.path / str(r["path"])
                for r in resources
                if isinstance(r, dict) and str(r.get("path", "")).endswith(".csv")
            }
        except (ValueError, KeyError, TypeError) as exc:
            self.report.problems.append(
                Problem(
                    "datapackage.json",
                    0,
                    f"not a valid data package descriptor ({type(exc).__name__}); used the CSV "
                    "file names",
                )
            )
            return files
        for name, file in listed.items():
            if self._inside(file):
                files[name] = file
        return files

    def _inside(self, file: Path) -> bool:
        """Whether `file` is a plain file of the package itself. A link, or a path that leads
        out of the folder, is refused and reported: an import reads the package and nothing
        else on the machine (a `locations.csv` linked to /etc/passwd was read once)."""
        if file.is_symlink() or file.resolve().parent != self.path.resolve():
            problem = Problem(file.name, 0, "a link or a path outside the package folder; not read")
            if problem not in self.report.problems:
                self.report.problems.append(problem)
            return False
        return file.is_file()

    def rows(self, name: str) -> list[tuple[int, Row]]:
        file = self.files.get(name)
        if file is None:
            return []
        label = file.name
        found: list[tuple[int, Row]] = []
        try:
            with file.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                try:
                    for row in reader:
                        found.append(
                            (
                                reader.line_num,
                                {k.strip(): v or "" for k, v in row.items() if k is not None},
                            )
                        )
                except csv.Error as exc:
                    self.report.problems.append(
                        # line_num counts the lines read before the one that failed.
                        Problem(label, reader.line_num + 1, f"unreadable CSV ({exc}); rest skipped")
                    )
        except UnicodeDecodeError:
            self.report.problems.append(Problem(label, 0, "not UTF-8 text; file skipped"))
            return []
        except OSError as exc:
            self.report.problems.append(Problem(label, 0, f"cannot be read ({exc.strerror})"))
            return []
        self.report.rows_read += len(found)
        return found


# --- the import ----------------------------------------------------------------------------

M = TypeVar("M", bound=models.Model)


class Importer:
    def __init__(
        self,
        path: Path,
        *,
        actor: User,
        progress: Callable[[int], Any] | None = None,
    ) -> None:
        self.report = ImportReport()
        self.package = _Package(path, self.report)
        self.actor = actor
        self.reason = f"HSDS import from {self.package.path.name}"
        self.progress = progress

    def skip(self, file: str, row: int, reason: str) -> None:
        self.report.problems.append(Problem(f"{file}.csv", row, reason))

    def correct(self, file: str, row: int, reason: str) -> None:
        self.report.problems.append(Problem(f"{file}.csv", row, reason, used=True))

    def total_rows(self) -> dict[str, list[tuple[int, Row]]]:
        return {name: self.package.rows(name) for name in USED_FILES}

    def run(self, rows: dict[str, list[tuple[int, Row]]] | None = None) -> ImportReport:
        tables = rows if rows is not None else self.total_rows()
        self.report.not_used_files = sorted(
            file.name for name, file in self.package.files.items() if name not in USED_FILES
        )
        with transaction.atomic():
            terms = self._taxonomy(tables["taxonomy_terms"], tables["attributes"])
            programs = self._programs(tables["programs"])
            providers = self._organizations(tables["organizations"])
            services = self._services(tables["services"], providers, terms, programs)
            at_location = self._service_at_location_rows(tables["service_at_location"])
            locations = self._locations(tables["locations"], providers, services, at_location)
            self._service_locations(tables["service_at_location"], services, locations)
            self._addresses(tables["addresses"], locations)
            self._phones(tables["phones"], providers, services, locations)
            self._schedules(tables["schedules"], services, locations)
            self._languages(tables["languages"], services)
        return self.report

    def _tick(self, n: int = 1) -> None:
        if self.progress is not None:
            self.progress(n)

    # Each step: validate rows, then create or update by HSDS id, saving only what changed.

    def _save(self, kind: str, instance: M, values: dict[str, Any]) -> M:
        changed = instance.pk is None or _differs(instance, values)
        if instance.pk is None:
            self.report.created[kind] += 1
        elif changed:
            self.report.updated[kind] += 1
        else:
            self.report.unchanged[kind] += 1
        if changed:
            for name, value in values.items():
                setattr(instance, name, value)
            stamp(instance, actor=self.actor, reason=self.reason).save()
        return instance

    def _existing(self, model: type[M], ids: Iterable[str]) -> dict[str, M]:
        found: dict[str, M] = {}
        wanted = list(ids)
        for start in range(0, len(wanted), 1000):
            chunk = wanted[start : start + 1000]
            for instance in model._default_manager.filter(hsds_id__in=chunk):
                found[instance.hsds_id] = instance  # type: ignore[attr-defined]
        return found

    def _unique(self, file: str, rows: list[tuple[int, Row]]) -> Iterator[tuple[int, Row]]:
        seen: dict[str, int] = {}
        for line, row in rows:
            self._tick()
            hsds_id = _clean(row.get("id"))
            if not hsds_id:
                self.skip(file, line, "no id")
                continue
            if hsds_id in seen:
                self.skip(file, line, f"id {hsds_id} appears again (first at row {seen[hsds_id]})")
                continue
            seen[hsds_id] = line
            yield line, row

    def _taxonomy(
        self, term_rows: list[tuple[int, Row]], attribute_rows: list[tuple[int, Row]]
    ) -> dict[str, list[tuple[str, str]]]:
        """service HSDS id -> [(term code, term name)] from taxonomy_terms + attributes."""
        terms = {
            _clean(row.get("id")): (_clean(row.get("code")), _clean(row.get("name")))
            for _line, row in self._unique("taxonomy_terms", term_rows)
        }
        by_service: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for line, row in attribute_rows:
            self._tick()
            entity = _clean(row.get("link_entity")).lower()
            term_id = _clean(row.get("taxonomy_term_id"))
            if entity != "service":
                self.skip(
                    "attributes",
                    line,
                    f"describes a {entity or 'nameless entity'!s}, not a service; not used",
                )
                continue
            if term_id not in terms:
                self.skip("attributes", line, f"taxonomy term {term_id or '(none)'} is unknown")
                continue
            by_service[_clean(row.get("link_id"))].append(terms[term_id])
        return by_service

    def _programs(self, rows: list[tuple[int, Row]]) -> dict[str, str]:
        return {
            _clean(row.get("id")): f"{_clean(row.get('name'))} {_clean(row.get('description'))}"
            for _line, row in self._unique("programs", rows)
        }

    def _organizations(self, rows: list[tuple[int, Row]]) -> dict[str, Provider]:
        valid: list[tuple[int, Row]] = []
        for line, row in self._unique("organizations", rows):
            if not _clean(row.get("name")):
                self.skip("organizations", line, "no name")
                continue
            valid.append((line, row))
        existing = self._existing(Provider, (_clean(r.get("id")) for _, r in valid))
        taken = set(Provider.objects.values_list("slug", flat=True))
        providers: dict[str, Provider] = {}
        for line, row in valid:
            hsds_id = _clean(row.get("id"))
            provider = existing.get(hsds_id) or Provider(hsds_id=hsds_id)
            name = _clean(row.get("name"))[:200]
            if provider.pk is None:
                provider.slug = _free_slug(name, taken)
            values = {
                "name": name,
                "description": _clean(row.get("description")),
                "email": self._email("organizations", line, row.get("email")),
                "website": self._website("organizations", line, row.get("website")),
            }
            providers[hsds_id] = self._save("providers", provider, values)
        # Services may name organizations imported before, in an earlier package.
        return providers

    def _email(self, file: str, line: int, value: str | None) -> str:
        email = _clean(value)
        if not email:
            return ""
        try:
            validate_email(email)
        except ValidationError:
            self.correct(file, line, f"email {email!r} is not an email address; left out")
            return ""
        return email[:254]

    def _website(self, file: str, line: int, value: str | None) -> str:
        url = _clean(value)
        if not url:
            return ""
        try:
            _url(url)
        except ValidationError:
            self.correct(file, line, f"website {url!r} is not a web address; left out")
            return ""
        return url[:300]

    def _provider_for(self, org_id: str, providers: dict[str, Provider]) -> Provider | None:
        if org_id in providers:
            return providers[org_id]
        provider = Provider.objects.filter(hsds_id=org_id).first() if org_id else None
        if provider is not None:
            providers[org_id] = provider
        return provider

    def _services(
        self,
        rows: list[tuple[int, Row]],
        providers: dict[str, Provider],
        taxonomy: dict[str, list[tuple[str, str]]],
        programs: dict[str, str],
    ) -> dict[str, Service]:
        valid: list[tuple[int, Row, Provider]] = []
        for line, row in self._unique("services", rows):
            org_id = _clean(row.get("organization_id"))
            if not _clean(row.get("name")):
                self.skip("services", line, "no name")
                continue
            provider = self._provider_for(org_id, providers)
            if provider is None:
                self.skip(
                    "services",
                    line,
                    f"organization {org_id or '(none)'} is not in organizations.csv nor "
                    "imported before",
                )
                continue
            valid.append((line, row, provider))
        existing = self._existing(Service, (_clean(r.get("id")) for _, r, _p in valid))
        services: dict[str, Service] = {}
        for line, row, provider in valid:
            hsds_id = _clean(row.get("id"))
            name = _clean(row.get("name"))
            status = _clean(row.get("status")).lower()
            if status not in ("", "active", "inactive", "defunct", "temporarily closed"):
                self.correct(
                    "services", line, f"status {status!r} is not an HSDS status; read as active"
                )
                status = "active"
            category = category_for(
                name=name,
                alternate_name=_clean(row.get("alternate_name")),
                description=_clean(row.get("description")),
                program=programs.get(_clean(row.get("program_id")), ""),
                taxonomy=taxonomy.get(hsds_id, ()),
            )
            self.report.categories[category] += 1
            service = existing.get(hsds_id) or Service(hsds_id=hsds_id)
            values = {
                "provider": provider,
                "name": name[:200],
                "description": _clean(row.get("description")),
                "category": category,
                "email": self._email("services", line, row.get("email")),
                "accepting_referrals": status in ("", "active"),
            }
            services[hsds_id] = self._save("services", service, values)
        return services

    def _service_at_location_rows(self, rows: list[tuple[int, Row]]) -> dict[str, set[str]]:
        """location HSDS id -> service HSDS ids offered there (read before locations, which
        may need it to find their organization)."""
        by_location: dict[str, set[str]] = defaultdict(set)
        for _line, row in rows:
            by_location[_clean(row.get("location_id"))].add(_clean(row.get("service_id")))
        return by_location

    def _locations(
        self,
        rows: list[tuple[int, Row]],
        providers: dict[str, Provider],
        services: dict[str, Service],
        at_location: dict[str, set[str]],
    ) -> dict[str, Location]:
        valid: list[tuple[int, Row, Provider]] = []
        for line, row in self._unique("locations", rows):
            hsds_id = _clean(row.get("id"))
            org_id = _clean(row.get("organization_id"))
            provider = self._provider_for(org_id, providers)
            if provider is None:
                offered = [
                    services[s] for s in sorted(at_location.get(hsds_id, ())) if s in services
                ]
                if not offered:
                    self.skip(
                        "locations",
                        line,
                        f"organization {org_id or '(none)'} is unknown and no imported service "
                        "is offered there",
                    )
                    continue
                provider = offered[0].provider
                self.correct(
                    "locations",
                    line,
                    f"organization {org_id or '(none)'} is unknown; tied to {provider.name}, "
                    "whose service is offered there",
                )
            valid.append((line, row, provider))
        existing = self._existing(Location, (_clean(r.get("id")) for _, r, _p in valid))
        locations: dict[str, Location] = {}
        for line, row, provider in valid:
            hsds_id = _clean(row.get("id"))
            latitude, longitude = self._coordinates(line, row)
            location = existing.get(hsds_id) or Location(hsds_id=hsds_id)
            values = {
                "provider": provider,
                "name": (_clean(row.get("name")) or _clean(row.get("alternate_name")))[:200],
                "latitude": latitude,
                "longitude": longitude,
            }
            locations[hsds_id] = self._save("locations", location, values)
        return locations

    def _coordinates(self, line: int, row: Row) -> tuple[Decimal | None, Decimal | None]:
        raw_lat, raw_lon = _clean(row.get("latitude")), _clean(row.get("longitude"))
        if not raw_lat and not raw_lon:
            return None, None
        try:
            latitude = Decimal(raw_lat).quantize(Decimal("0.000001"))
            longitude = Decimal(raw_lon).quantize(Decimal("0.000001"))
        except (InvalidOperation, ValueError):
            self.correct(
                "locations", line, f"coordinates {raw_lat!r}, {raw_lon!r} are not numbers; left out"
            )
            return None, None
        if not (latitude.is_finite() and longitude.is_finite()):
            latitude = longitude = Decimal(1000)  # NaN or infinity: off the globe
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            self.correct(
                "locations",
                line,
                f"coordinates {raw_lat}, {raw_lon} are outside the globe's range; left out",
            )
            return None, None
        return latitude, longitude

    def _service_locations(
        self,
        rows: list[tuple[int, Row]],
        services: dict[str, Service],
        locations: dict[str, Location],
    ) -> None:
        for line, row in self._unique("service_at_location", rows):
            service = services.get(_clean(row.get("service_id")))
            location = locations.get(_clean(row.get("location_id")))
            if service is None or location is None:
                missing = "service" if service is None else "location"
                self.skip("service_at_location", line, f"its {missing} was not imported")
                continue
            link = ServiceLocation.objects.filter(service=service, location=location).first()
            self._save(
                "service locations",
                link or ServiceLocation(service=service, location=location),
                {"hsds_id": _clean(row.get("id"))[:100]},
            )

    def _addresses(self, rows: list[tuple[int, Row]], locations: dict[str, Location]) -> None:
        lines: dict[str, list[str]] = defaultdict(list)
        for line, row in self._unique("addresses", rows):
            location_id = _clean(row.get("location_id"))
            if location_id not in locations:
                self.skip("addresses", line, f"location {location_id or '(none)'} was not imported")
                continue
            parts = [
                _clean(row.get(key))
                for key in ("address_1", "address_2", "city", "state_province", "postal_code")
            ]
            text = ", ".join(part for part in parts if part)
            if not text:
                self.skip("addresses", line, "empty address")
                continue
            self._address_row(line, row, locations[location_id])
            # A physical address first: it is where a neighbor goes.
            if _clean(row.get("address_type")).lower() == "physical":
                lines[location_id].insert(0, text)
            else:
                lines[location_id].append(text)
        for location_id, texts in lines.items():
            location = locations[location_id]
            self._resave(location, {"address": texts[0][:300]})

    def _address_row(self, line: int, row: Row, location: Location) -> None:
        """The address in HSDS fields, beside the one line the location shows."""
        country = _clean(row.get("country")).upper()
        if not _COUNTRY.match(country):
            self.correct(
                "addresses", line, f"country {row.get('country')!r} is not a two-letter code; US"
            )
            country = "US"
        kind = _clean(row.get("address_type")).lower()
        if kind not in AddressType.values:
            kind = AddressType.PHYSICAL
        hsds_id = _clean(row.get("id"))[:100]
        self._save(
            "addresses",
            _find(Address, hsds_id) or Address(hsds_id=hsds_id),
            {
                "location": location,
                "attention": _clean(row.get("attention"))[:200],
                "address_1": _clean(row.get("address_1"))[:200],
                "address_2": _clean(row.get("address_2"))[:200],
                "city": _clean(row.get("city"))[:100],
                "region": _clean(row.get("region"))[:100],
                "state_province": _clean(row.get("state_province"))[:100],
                "postal_code": _clean(row.get("postal_code"))[:20],
                "country": country,
                "address_type": kind,
            },
        )

    def _resave(self, instance: models.Model, values: dict[str, Any]) -> None:
        """A second step's fields on an object saved earlier in this import."""
        if _differs(instance, values):
            for name, value in values.items():
                setattr(instance, name, value)
            stamp(instance, actor=self.actor, reason=self.reason).save()

    def _phones(
        self,
        rows: list[tuple[int, Row]],
        providers: dict[str, Provider],
        services: dict[str, Service],
        locations: dict[str, Location],
    ) -> None:
        first: dict[tuple[str, str], str] = {}
        for line, row in self._unique("phones", rows):
            number = _clean(row.get("number"))
            if not number:
                self.skip("phones", line, "no number")
                continue
            extension = _clean(row.get("extension"))
            text = f"{number} x{extension}" if extension else number
            named: list[tuple[str, str, dict[str, Any]]] = [
                ("service", _clean(row.get("service_id")), services),
                ("location", _clean(row.get("location_id")), locations),
                ("organization", _clean(row.get("organization_id")), providers),
            ]
            known = [(kind, key) for kind, key, table in named if key and key in table]
            if not known:
                self.skip("phones", line, "names no imported service, location or organization")
                continue
            for kind, key in known:
                first.setdefault((kind, key), text[:40])
            number_extension: int | None = None
            if extension:
                if extension.isdigit() and int(extension) <= 2_000_000_000:
                    number_extension = int(extension)
                else:
                    self.correct("phones", line, f"extension {extension!r} is not a number")
            hsds_id = _clean(row.get("id"))[:100]
            self._save(
                "phones",
                _find(Phone, hsds_id) or Phone(hsds_id=hsds_id),
                {
                    "service": services.get(_clean(row.get("service_id"))),
                    "location": locations.get(_clean(row.get("location_id"))),
                    "provider": providers.get(_clean(row.get("organization_id"))),
                    "number": number[:40],
                    "extension": number_extension,
                    "type": _clean(row.get("type"))[:20],
                    "description": _clean(row.get("description"))[:300],
                },
            )
        tables: dict[str, dict[str, Any]] = {
            "service": services,
            "location": locations,
            "organization": providers,
        }
        for (kind, key), text in first.items():
            self._resave(tables[kind][key], {"phone": text})

    def _schedules(
        self,
        rows: list[tuple[int, Row]],
        services: dict[str, Service],
        locations: dict[str, Location],
    ) -> None:
        hours: dict[str, list[str]] = defaultdict(list)
        for line, row in self._unique("schedules", rows):
            service_id = _clean(row.get("service_id"))
            location = locations.get(_clean(row.get("location_id")))
            if service_id not in services:
                if location is not None:
                    self._schedule_row(line, row, None, location)  # a location's hours
                    continue
                self.skip("schedules", line, "not for an imported service or location")
                continue
            self._schedule_row(line, row, services[service_id], location)
            text = self._hours_text(line, row)
            if text:
                hours[service_id].append(text)
            else:
                self.skip("schedules", line, "neither opening times nor a description")
        for service_id, texts in hours.items():
            self._resave(services[service_id], {"hours": "; ".join(texts)[:300]})

    def _schedule_row(
        self, line: int, row: Row, service: Service | None, location: Location | None
    ) -> None:
        """The schedule in HSDS fields, beside the one line the service shows."""
        values: dict[str, Any] = {"service": service, "location": location}
        freq = _clean(row.get("freq")).upper()
        values["freq"] = freq if freq in Schedule.Freq.values else ""
        interval = _clean(row.get("interval"))
        values["interval"] = (
            int(interval) if interval.isdigit() and 0 < int(interval) < 1000 else None
        )
        days = [
            re.sub(r"^[+-]?\d+", "", t.strip()) for t in _clean(row.get("byday")).upper().split(",")
        ]
        values["byday"] = ",".join(d for d in days if d in _DAYS)[:100]
        values["bymonthday"] = _clean(row.get("bymonthday"))[:100]
        for key in ("opens_at", "closes_at"):
            raw = _clean(row.get(key))
            match = _TIME.match(raw)
            try:
                values[key] = (
                    dt_time(int(match[1]), int(match[2]), int(match[3] or 0)) if match else None
                )
            except ValueError:
                values[key] = None
            if raw and values[key] is None:
                self.correct("schedules", line, f"{key} {raw!r} is not a time of day; left out")
        for key in ("valid_from", "valid_to"):
            raw = _clean(row.get(key))
            try:
                values[key] = date.fromisoformat(raw) if _DATE.match(raw) else None
            except ValueError:
                values[key] = None
            if raw and values[key] is None:
                self.correct("schedules", line, f"{key} {raw!r} is not a date; left out")
        values["description"] = _clean(row.get("description"))[:300]
        values["notes"] = _clean(row.get("notes"))[:300]
        hsds_id = _clean(row.get("id"))[:100]
        self._save("schedules", _find(Schedule, hsds_id) or Schedule(hsds_id=hsds_id), values)

    def _hours_text(self, line: int, row: Row) -> str:
        opens, closes = _clean(row.get("opens_at"))[:5], _clean(row.get("closes_at"))[:5]
        days = []
        for token in _clean(row.get("byday")).upper().split(","):
            code = re.sub(r"^[+-]?\d+", "", token.strip())
            if not code:
                continue
            if code not in _DAYS:
                self.correct("schedules", line, f"day {token.strip()!r} is not a weekday code")
                continue
            days.append(_DAYS[code])
        if opens and closes:
            return f"{', '.join(days) or 'Every day'} {opens}–{closes}"
        return _clean(row.get("description"))

    def _languages(self, rows: list[tuple[int, Row]], services: dict[str, Service]) -> None:
        wanted: dict[str, dict[str, str]] = defaultdict(dict)  # service -> code -> hsds id
        for line, row in self._unique("languages", rows):
            service_id = _clean(row.get("service_id"))
            if service_id not in services:
                self.skip(
                    "languages",
                    line,
                    "not for an imported service (location and phone languages are not used)",
                )
                continue
            code = _clean(row.get("code")).lower()
            if not code:
                code = _LANGUAGE_NAMES.get(_clean(row.get("name")).lower(), "")
            if not _LANGUAGE_CODE.match(code):
                self.skip(
                    "languages",
                    line,
                    f"no usable language code ({row.get('code')!r}, {row.get('name')!r})",
                )
                continue
            wanted[service_id].setdefault(code, _clean(row.get("id"))[:100])
        for service_id, service in services.items():
            codes = wanted.get(service_id)
            if not codes:
                # HSDS lists the languages a service is delivered in; a US service that lists
                # none is delivered in English.
                codes = {"en": ""}
                self.report.english_by_default += 1
            existing = {lang.code: lang for lang in ServiceLanguage.objects.filter(service=service)}
            for code, hsds_id in codes.items():
                language = existing.get(code) or ServiceLanguage(service=service, code=code)
                # No id in the package (English by default): the one it has, or a new one.
                self._save("languages", language, {"hsds_id": hsds_id or language.hsds_id})
            for code, language in existing.items():
                if code not in codes:
                    # The package no longer lists it: the directory follows the package.
                    stamp(language, actor=self.actor, reason=self.reason).delete()
                    self.report.removed["languages"] += 1


def _differs(instance: models.Model, values: dict[str, Any]) -> bool:
    for name, value in values.items():
        if isinstance(value, models.Model):
            # Compare ids: reading the related object would cost a query per row.
            if getattr(instance, f"{name}_id") != value.pk:
                return True
        elif getattr(instance, name) != value:
            return True
    return False


def _free_slug(name: str, taken: set[str]) -> str:
    base = slugify(name)[:70] or "provider"
    slug, n = base, 2
    while slug in taken:
        slug = f"{base}-{n}"
        n += 1
    taken.add(slug)
    return slug


# --- HSDS 3.0 JSON -------------------------------------------------------------------------

# A file over this size is refused before it is read (a directory's JSON is a few MB).
MAX_JSON_BYTES = 64 * 1024 * 1024
_DAY_CODES = frozenset(_DAYS)
_UUID_TEXT = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_TIME = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_STATUSES = ("active", "inactive", "defunct", "temporarily closed")


class _Skip(Exception):
    """This object cannot be used; the reason is reported and the rest goes on."""


def is_json_file(path: Path) -> bool:
    return path.suffix.lower() == ".json" and path.name != "datapackage.json"


def _text(value: Any) -> str:
    """A string the database takes: trimmed, without NUL characters."""
    return value.replace("\x00", "").strip() if isinstance(value, str) else ""


class JsonImporter:
    """HSDS 3.0 JSON (a service or organization object in the compiled schemas' shape, a list
    of them, or an HSDS API `Page` of them) into the directory, with the CSV package's
    guarantees: re-importing updates by UUID, an object that cannot be used is reported by its
    JSON path and reason and the rest is imported, a value used with a correction is reported.
    Nested objects the source lists (`phones`, `schedules`, `languages`, `addresses`,
    `service_at_locations`, an organization's `locations` and `services`) are what the directory
    keeps for their parent: one it no longer lists is removed."""

    def __init__(self, path: Path, *, actor: User) -> None:
        if path.is_symlink():
            raise PackageError(f"{path} is a link; give the file itself.")
        if not path.is_file():
            raise PackageError(f"{path} is not a file.")
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise PackageError(
                f"{path.name} is {size // (1024 * 1024)} MB; files over "
                f"{MAX_JSON_BYTES // (1024 * 1024)} MB are not read. Split it into smaller files."
            )
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_JSON_BYTES + 1)
            self.data = json.loads(raw.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise PackageError(f"{path.name} is not UTF-8 text ({exc.reason}).") from exc
        except json.JSONDecodeError as exc:
            raise PackageError(
                f"{path.name} is not valid JSON: {exc.msg} at line {exc.lineno}, column "
                f"{exc.colno}."
            ) from exc
        except (OSError, RecursionError) as exc:
            raise PackageError(f"{path.name} cannot be read ({type(exc).__name__}).") from exc
        self.name = path.name
        self.actor = actor
        self.reason = f"HSDS import from {path.name}"
        self.report = ImportReport()
        self.progress: Callable[[int], Any] | None = None
        # Provider by HSDS id, as read or written in this import.
        self._providers: dict[str, Provider] = {}
        self._taken_slugs: set[str] | None = None

    # -- reporting ----------------------------------------------------------------------

    def skip(self, where: str, reason: str) -> None:
        self.report.problems.append(Problem(f"{self.name} {where}", 0, reason))

    def correct(self, where: str, reason: str) -> None:
        self.report.problems.append(Problem(f"{self.name} {where}", 0, reason, used=True))

    def objects(self) -> list[tuple[str, Any]]:
        data = self.data
        if isinstance(data, dict) and isinstance(data.get("contents"), list):
            return [(f"$.contents[{i}]", item) for i, item in enumerate(data["contents"])]
        if isinstance(data, list):
            return [(f"$[{i}]", item) for i, item in enumerate(data)]
        return [("$", data)]

    def run(self) -> ImportReport:
        for where, item in self.objects():
            self.report.rows_read += 1
            if self.progress is not None:
                self.progress(1)
            if not isinstance(item, dict):
                self.skip(where, f"not an object but {_json_type(item)}")
                continue
            kind = _kind_of(item)
            if kind is None:
                self.skip(
                    where,
                    "neither a service (it has no status or organization) nor an organization "
                    "(it has no description, services, locations or website)",
                )
                continue
            try:
                with transaction.atomic():
                    if kind == "service":
                        self._service(where, item)
                    else:
                        self._organization(where, item)
            except _Skip as exc:
                self.skip(where, str(exc))
            except DatabaseError as exc:
                self.skip(where, f"could not be saved ({type(exc).__name__}: {exc})"[:300])
        return self.report

    # -- values -------------------------------------------------------------------------

    def _id(self, where: str, item: dict[str, Any], kind: str) -> str:
        value = item.get("id")
        if not isinstance(value, str) or not _UUID_TEXT.match(value.strip()):
            raise _Skip(f"{kind} id {value!r} is not a UUID" if value else f"{kind} has no id")
        return value.strip().lower()

    def _required_text(self, item: dict[str, Any], key: str, kind: str, limit: int) -> str:
        value = item.get(key)
        if not isinstance(value, str) or not _text(value):
            raise _Skip(
                f"{kind} has no {key}"
                if value in (None, "")
                else f"{kind} {key} is {_json_type(value)}, not a string"
            )
        return _text(value)[:limit]

    def _optional_text(self, where: str, item: dict[str, Any], key: str, limit: int) -> str:
        value = item.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.correct(f"{where}.{key}", f"{_json_type(value)}, not a string; left out")
            return ""
        return _text(value)[:limit]

    def _email(self, where: str, item: dict[str, Any]) -> str:
        email = self._optional_text(where, item, "email", 254)
        if not email:
            return ""
        try:
            validate_email(email)
        except ValidationError:
            self.correct(f"{where}.email", f"{email!r} is not an email address; left out")
            return ""
        return email

    def _website(self, where: str, item: dict[str, Any], key: str) -> str:
        url = self._optional_text(where, item, key, 300)
        if not url:
            return ""
        try:
            _url(url)
        except ValidationError:
            self.correct(f"{where}.{key}", f"{url!r} is not a web address; left out")
            return ""
        return url

    def _list(self, where: str, item: dict[str, Any], key: str) -> list[tuple[str, Any]] | None:
        """The nested objects under `key`, with their paths; None when the key is absent (the
        directory's rows are then left as they are)."""
        if key not in item or item[key] is None:
            return None
        value = item[key]
        if not isinstance(value, list):
            self.correct(f"{where}.{key}", f"{_json_type(value)}, not a list; not used")
            return None
        found = []
        for index, entry in enumerate(value):
            path = f"{where}.{key}[{index}]"
            if isinstance(entry, dict):
                found.append((path, entry))
            else:
                self.skip(path, f"not an object but {_json_type(entry)}")
        return found

    def _nested_id(self, path: str, entry: dict[str, Any], kind: str) -> str | None:
        try:
            return self._id(path, entry, kind)
        except _Skip as exc:
            self.skip(path, str(exc))
            return None

    def _save(self, kind: str, instance: M, values: dict[str, Any]) -> M:
        changed = instance.pk is None or _differs(instance, values)
        if instance.pk is None:
            self.report.created[kind] += 1
        elif changed:
            self.report.updated[kind] += 1
        else:
            self.report.unchanged[kind] += 1
        if changed:
            for name, value in values.items():
                setattr(instance, name, value)
            stamp(instance, actor=self.actor, reason=self.reason).save()
        return instance

    def _delete(self, kind: str, instance: models.Model) -> None:
        stamp(instance, actor=self.actor, reason=self.reason).delete()
        self.report.removed[kind] += 1

    # -- organizations ------------------------------------------------------------------

    def _organization(self, where: str, item: dict[str, Any], *, nested: bool = False) -> Provider:
        hsds_id = self._id(where, item, "organization")
        if nested and hsds_id in self._providers:
            return self._providers[hsds_id]
        name = self._required_text(item, "name", "organization", 200)
        provider = _find(Provider, hsds_id)
        if provider is None:
            if self._taken_slugs is None:
                self._taken_slugs = set(Provider.objects.values_list("slug", flat=True))
            provider = Provider(hsds_id=hsds_id, slug=_free_slug(name, self._taken_slugs))
        values = {
            "name": name,
            "description": self._optional_text(where, item, "description", 10_000),
            "email": self._email(where, item),
            "website": self._website(where, item, "website"),
        }
        provider = self._save("providers", provider, values)
        self._providers[hsds_id] = provider
        phones = self._phones(where, item, provider=provider)
        if phones is not None:
            self._resave(provider, {"phone": phones})
        if nested:
            return provider
        locations = self._list(where, item, "locations")
        if locations is not None:
            kept = set()
            for path, entry in locations:
                location = self._location_or_skip(path, entry, provider)
                if location is not None:
                    kept.add(location.pk)
            for location in Location.objects.filter(provider=provider).exclude(pk__in=kept):
                if not ServiceLocation.objects.filter(location=location).exists():
                    self._delete("locations", location)
        services = self._list(where, item, "services")
        for path, entry in services or []:
            try:
                with transaction.atomic():
                    self._service(path, entry, provider=provider)
            except _Skip as exc:
                self.skip(path, str(exc))
        return provider

    def _resave(self, instance: models.Model, values: dict[str, Any]) -> None:
        if _differs(instance, values):
            for name, value in values.items():
                setattr(instance, name, value)
            stamp(instance, actor=self.actor, reason=self.reason).save()

    # -- services -----------------------------------------------------------------------

    def _service(
        self, where: str, item: dict[str, Any], *, provider: Provider | None = None
    ) -> Service:
        hsds_id = self._id(where, item, "service")
        name = self._required_text(item, "name", "service", 200)
        if provider is None:
            provider = self._service_provider(where, item)
        status = item.get("status")
        if status not in _STATUSES:
            self.correct(
                f"{where}.status",
                f"{status!r} is not an HSDS status; read as active"
                if status is not None
                else "missing; read as active",
            )
            status = "active"
        description = self._optional_text(where, item, "description", 10_000)
        category = self._category(where, item, name, description)
        self.report.categories[category] += 1
        service = _find(Service, hsds_id) or Service(hsds_id=hsds_id)
        values = {
            "provider": provider,
            "name": name,
            "description": description,
            "category": category,
            "email": self._email(where, item),
            "accepting_referrals": status == "active",
        }
        service = self._save("services", service, values)
        phones = self._phones(where, item, service=service)
        schedules = self._schedules(where, item, service=service)
        flat: dict[str, Any] = {}
        if phones is not None:
            flat["phone"] = phones
        if schedules is not None:
            flat["hours"] = schedules
        self._resave(service, flat)
        self._languages(where, item, service)
        self._service_at_locations(where, item, service)
        return service

    def _service_provider(self, where: str, item: dict[str, Any]) -> Provider:
        nested = item.get("organization")
        if isinstance(nested, dict):
            return self._organization(f"{where}.organization", nested, nested=True)
        org_id = item.get("organization_id")
        if isinstance(org_id, str) and org_id.strip():
            key = org_id.strip().lower()
            provider = self._providers.get(key) or _find(Provider, key)
            if provider is not None:
                self._providers[key] = provider
                return provider
            raise _Skip(f"organization {org_id} is not in this file nor imported before")
        raise _Skip("names no organization (neither organization nor organization_id)")

    def _category(self, where: str, item: dict[str, Any], name: str, description: str) -> str:
        terms: list[tuple[str, str]] = []
        for _path, attribute in self._list(where, item, "attributes") or []:
            term = attribute.get("taxonomy_term")
            term = term if isinstance(term, dict) else {}
            term_id = attribute.get("taxonomy_term_id") or term.get("id")
            need = need_for_term(term_id) if isinstance(term_id, str) else None
            if need is not None:
                return need
            code, label = term.get("code"), term.get("name")
            terms.append((_text(code), _text(label)))
        return category_for(
            name=name,
            alternate_name=_text(item.get("alternate_name")),
            description=description,
            taxonomy=terms,
        )

    def _languages(self, where: str, item: dict[str, Any], service: Service) -> None:
        listed = self._list(where, item, "languages")
        wanted: dict[str, dict[str, Any]] = {}
        for path, entry in listed or []:
            code = _text(entry.get("code")).lower()
            if not code:
                code = _LANGUAGE_NAMES.get(_text(entry.get("name")).lower(), "")
            if not _LANGUAGE_CODE.match(code):
                self.skip(
                    path, f"no usable language code ({entry.get('code')!r}, {entry.get('name')!r})"
                )
                continue
            hsds_id = self._nested_id(path, entry, "language") if entry.get("id") else None
            wanted.setdefault(
                code,
                {
                    "hsds_id": hsds_id or new_hsds_id(),
                    "name": _text(entry.get("name"))[:100],
                    "note": _text(entry.get("note"))[:300],
                },
            )
        existing = {lang.code: lang for lang in ServiceLanguage.objects.filter(service=service)}
        if not wanted:
            if listed is None and existing:
                return  # the source says nothing of languages: keep what the directory has
            english = existing.get("en")
            wanted = {
                "en": {
                    "hsds_id": english.hsds_id if english else new_hsds_id(),
                    "name": english.name if english else "",
                    "note": english.note if english else "",
                }
            }
            self.report.english_by_default += 1
        for code, values in wanted.items():
            self._save(
                "languages",
                existing.get(code) or ServiceLanguage(service=service, code=code),
                values,
            )
        for code, language in existing.items():
            if code not in wanted:
                self._delete("languages", language)

    def _service_at_locations(self, where: str, item: dict[str, Any], service: Service) -> None:
        listed = self._list(where, item, "service_at_locations")
        if listed is None:
            return
        kept: set[int] = set()
        for path, entry in listed:
            link_id = self._nested_id(path, entry, "service_at_location")
            if link_id is None:
                continue
            nested = entry.get("location")
            if isinstance(nested, dict):
                location = self._location_or_skip(f"{path}.location", nested, service.provider)
            else:
                location_id = _text(entry.get("location_id")).lower()
                location = _find(Location, location_id) if location_id else None
                if location is None:
                    self.skip(
                        path,
                        f"location {location_id or '(none)'} is not in this file nor imported "
                        "before",
                    )
            if location is None or location.pk in kept:
                continue
            kept.add(location.pk)
            link = ServiceLocation.objects.filter(service=service, location=location).first()
            others = ServiceLocation.objects.filter(hsds_id=link_id)
            other = (others.exclude(pk=link.pk) if link is not None else others).first()
            if other is not None:
                self._delete("service locations", other)
            self._save(
                "service locations",
                link or ServiceLocation(service=service, location=location),
                {"hsds_id": link_id},
            )
        for link in ServiceLocation.objects.filter(service=service).exclude(location__in=kept):
            self._delete("service locations", link)

    # -- locations ----------------------------------------------------------------------

    def _location_or_skip(
        self, where: str, item: dict[str, Any], provider: Provider
    ) -> Location | None:
        try:
            with transaction.atomic():
                return self._location(where, item, provider)
        except _Skip as exc:
            self.skip(where, str(exc))
            return None

    def _location(self, where: str, item: dict[str, Any], provider: Provider) -> Location:
        hsds_id = self._id(where, item, "location")
        org_id = _text(item.get("organization_id")).lower()
        if org_id and org_id != provider.hsds_id.lower():
            owner = self._providers.get(org_id) or _find(Provider, org_id)
            if owner is not None:
                provider = owner
        latitude, longitude = self._coordinates(where, item)
        location = _find(Location, hsds_id) or Location(hsds_id=hsds_id)
        values = {
            "provider": provider,
            "name": (
                self._optional_text(where, item, "name", 200)
                or _text(item.get("alternate_name"))[:200]
            ),
            "latitude": latitude,
            "longitude": longitude,
        }
        location = self._save("locations", location, values)
        flat: dict[str, Any] = {}
        address = self._addresses(where, item, location)
        if address is not None:
            flat["address"] = address
        phones = self._phones(where, item, location=location)
        if phones is not None:
            flat["phone"] = phones
        self._schedules(where, item, location=location)
        self._resave(location, flat)
        return location

    def _coordinates(
        self, where: str, item: dict[str, Any]
    ) -> tuple[Decimal | None, Decimal | None]:
        lat, lon = item.get("latitude"), item.get("longitude")
        if lat is None and lon is None:
            return None, None
        try:
            if isinstance(lat, bool) or isinstance(lon, bool):
                raise TypeError
            latitude = Decimal(str(lat)).quantize(Decimal("0.000001"))
            longitude = Decimal(str(lon)).quantize(Decimal("0.000001"))
        except (InvalidOperation, ValueError, TypeError):
            self.correct(where, f"coordinates {lat!r}, {lon!r} are not numbers; left out")
            return None, None
        if not (latitude.is_finite() and longitude.is_finite()):
            latitude = longitude = Decimal(1000)  # NaN or infinity: off the globe
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            self.correct(where, f"coordinates {lat}, {lon} are outside the globe's range; left out")
            return None, None
        return latitude, longitude

    def _addresses(self, where: str, item: dict[str, Any], location: Location) -> str | None:
        listed = self._list(where, item, "addresses")
        if listed is None:
            return None
        kept: list[Address] = []
        for path, entry in listed:
            hsds_id = self._nested_id(path, entry, "address")
            if hsds_id is None:
                continue
            try:
                values: dict[str, Any] = {
                    "location": location,
                    "address_1": self._required_text(entry, "address_1", "address", 200),
                    "city": self._required_text(entry, "city", "address", 100),
                    "state_province": self._required_text(entry, "state_province", "address", 100),
                    "postal_code": self._required_text(entry, "postal_code", "address", 20),
                }
            except _Skip as exc:
                self.skip(path, str(exc))
                continue
            country = _text(entry.get("country")).upper()
            if not _COUNTRY.match(country):
                self.correct(
                    f"{path}.country",
                    f"{entry.get('country')!r} is not a two-letter country code; read as US",
                )
                country = "US"
            kind = entry.get("address_type")
            if kind not in AddressType.values:
                self.correct(
                    f"{path}.address_type",
                    f"{kind!r} is not physical, postal or virtual; read as physical",
                )
                kind = AddressType.PHYSICAL
            values.update(
                country=country,
                address_type=kind,
                attention=self._optional_text(path, entry, "attention", 200),
                address_2=self._optional_text(path, entry, "address_2", 200),
                region=self._optional_text(path, entry, "region", 100),
            )
            address = _find(Address, hsds_id) or Address(hsds_id=hsds_id)
            kept.append(self._save("addresses", address, values))
        for address in Address.objects.filter(location=location).exclude(
            pk__in=[a.pk for a in kept]
        ):
            self._delete("addresses", address)
        kept.sort(key=lambda a: a.address_type != AddressType.PHYSICAL)
        return kept[0].one_line()[:300] if kept else ""

    # -- phones and schedules (of an organization, a service or a location) ---------------

    def _phones(self, where: str, item: dict[str, Any], **owner: models.Model) -> str | None:
        """Keep the listed phones for the owner; the first in one line (None: none listed)."""
        listed = self._list(where, item, "phones")
        if listed is None:
            return None
        ((field_name, parent),) = owner.items()
        kept: list[Phone] = []
        for path, entry in listed:
            hsds_id = self._nested_id(path, entry, "phone")
            if hsds_id is None:
                continue
            number = entry.get("number")
            if not isinstance(number, str) or not _text(number):
                self.skip(path, "no number")
                continue
            extension = entry.get("extension")
            if extension is not None:
                try:
                    if isinstance(extension, bool):
                        raise ValueError
                    extension = int(Decimal(str(extension)))  # OverflowError: infinity
                    if not 0 <= extension <= 2_000_000_000:
                        raise ValueError
                except (InvalidOperation, ValueError, OverflowError):
                    self.correct(
                        f"{path}.extension", f"{extension!r} is not a whole number; left out"
                    )
                    extension = None
            phone = _find(Phone, hsds_id) or Phone(hsds_id=hsds_id)
            values = {
                field_name: parent,
                "number": _text(number)[:40],
                "extension": extension,
                "type": self._optional_text(path, entry, "type", 20),
                "description": self._optional_text(path, entry, "description", 300),
            }
            kept.append(self._save("phones", phone, values))
        self._release(Phone, "phones", field_name, parent, kept)
        return kept[0].one_line()[:40] if kept else ""

    def _release(
        self,
        model: type[Phone] | type[Schedule],
        kind: str,
        field_name: str,
        parent: models.Model,
        kept: list[Any],
    ) -> None:
        """The owner's rows the source no longer lists: no longer the owner's, and gone when
        nobody else has them."""
        owners = ("provider", "service", "location") if model is Phone else ("service", "location")
        stale = model._default_manager.filter(**{field_name: parent}).exclude(
            pk__in=[r.pk for r in kept]
        )
        for row in stale:
            if any(getattr(row, f"{name}_id") for name in owners if name != field_name):
                setattr(row, field_name, None)
                stamp(row, actor=self.actor, reason=self.reason).save()
            else:
                self._delete(kind, row)

    def _schedules(self, where: str, item: dict[str, Any], **owner: models.Model) -> str | None:
        """Keep the listed schedules for the owner; the service's hours in one line."""
        listed = self._list(where, item, "schedules")
        if listed is None:
            return None
        ((field_name, parent),) = owner.items()
        kept: list[Schedule] = []
        for path, entry in listed:
            hsds_id = self._nested_id(path, entry, "schedule")
            if hsds_id is None:
                continue
            freq = entry.get("freq")
            if freq is not None and freq not in Schedule.Freq.values:
                self.correct(f"{path}.freq", f"{freq!r} is not WEEKLY or MONTHLY; left out")
                freq = None
            interval = entry.get("interval")
            if interval is not None and (
                isinstance(interval, bool)
                or not isinstance(interval, int | float)
                or not 1 <= interval <= 1000
                or interval != int(interval)
            ):
                self.correct(
                    f"{path}.interval", f"{interval!r} is not a whole number from 1; left out"
                )
                interval = None
            byday = self._optional_text(path, entry, "byday", 100).upper()
            days = [
                re.sub(r"^[+-]?\d+", "", token.strip())
                for token in byday.split(",")
                if token.strip()
            ]
            if any(day not in _DAY_CODES for day in days):
                self.correct(
                    f"{path}.byday", f"{byday!r} is not a list of weekday codes (MO,TU,…); left out"
                )
                byday, days = "", []
            values = {
                field_name: parent,
                "freq": freq or "",
                "interval": int(interval) if interval is not None else None,
                "byday": byday,
                "bymonthday": self._optional_text(path, entry, "bymonthday", 100),
                "opens_at": self._clock(path, entry, "opens_at"),
                "closes_at": self._clock(path, entry, "closes_at"),
                "valid_from": self._day(path, entry, "valid_from"),
                "valid_to": self._day(path, entry, "valid_to"),
                "description": self._optional_text(path, entry, "description", 300),
                "notes": self._optional_text(path, entry, "notes", 300),
            }
            schedule = _find(Schedule, hsds_id) or Schedule(hsds_id=hsds_id)
            kept.append(self._save("schedules", schedule, values))
        self._release(Schedule, "schedules", field_name, parent, kept)
        return "; ".join(filter(None, (schedule_text(s) for s in kept)))[:300]

    def _clock(self, where: str, item: dict[str, Any], key: str) -> dt_time | None:
        value = item.get(key)
        if value is None or value == "":
            return None
        match = _TIME.match(value) if isinstance(value, str) else None
        try:
            if match is None:
                raise ValueError
            return dt_time(int(match[1]), int(match[2]), int(match[3] or 0))
        except ValueError:
            self.correct(f"{where}.{key}", f"{value!r} is not a time of day (HH:MM); left out")
            return None

    def _day(self, where: str, item: dict[str, Any], key: str) -> date | None:
        value = item.get(key)
        if value is None or value == "":
            return None
        try:
            if not isinstance(value, str) or not _DATE.match(value):
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            self.correct(f"{where}.{key}", f"{value!r} is not a date (YYYY-MM-DD); left out")
            return None


def schedule_text(schedule: Schedule) -> str:
    """A schedule in one line, as `Service.hours` shows it: `Mon, Fri 10:00–18:00`."""
    if schedule.opens_at and schedule.closes_at:
        days = [
            _DAYS[code]
            for code in (re.sub(r"^[+-]?\d+", "", t.strip()) for t in schedule.byday.split(","))
            if code in _DAYS
        ]
        opens, closes = schedule.opens_at.strftime("%H:%M"), schedule.closes_at.strftime("%H:%M")
        return f"{', '.join(days) or 'Every day'} {opens}–{closes}"
    return schedule.description


def _find(model: type[M], hsds_id: str) -> M | None:
    if not hsds_id:
        return None
    manager = model._default_manager
    return (
        manager.filter(hsds_id=hsds_id).first() or manager.filter(hsds_id__iexact=hsds_id).first()
    )


def _kind_of(item: dict[str, Any]) -> str | None:
    if any(
        key in item for key in ("status", "organization", "organization_id", "service_at_locations")
    ):
        return "service"
    # An organization needs a description (HSDS 3.0); a service a status, which it lacks.
    organization_keys = ("description", "services", "locations", "website", "legal_status")
    if any(key in item for key in organization_keys):
        return "organization"
    return None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
