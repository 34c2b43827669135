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
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import models, transaction
from django.utils.text import slugify

from heart_cases.actors import stamp
from heart_cases.models import Need

from .models import Location, Provider, Service, ServiceLanguage, ServiceLocation

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
        for kind in ("providers", "services", "locations", "service locations", "languages"):
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
            self._schedules(tables["schedules"], services)
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
            # A physical address first: it is where a neighbor goes.
            if _clean(row.get("address_type")).lower() == "physical":
                lines[location_id].insert(0, text)
            else:
                lines[location_id].append(text)
        for location_id, texts in lines.items():
            location = locations[location_id]
            self._resave(location, {"address": texts[0][:300]})

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
        tables: dict[str, dict[str, Any]] = {
            "service": services,
            "location": locations,
            "organization": providers,
        }
        for (kind, key), text in first.items():
            self._resave(tables[kind][key], {"phone": text})

    def _schedules(self, rows: list[tuple[int, Row]], services: dict[str, Service]) -> None:
        hours: dict[str, list[str]] = defaultdict(list)
        for line, row in self._unique("schedules", rows):
            service_id = _clean(row.get("service_id"))
            if service_id not in services:
                self.skip(
                    "schedules", line, "not for an imported service (location hours are not used)"
                )
                continue
            text = self._hours_text(line, row)
            if text:
                hours[service_id].append(text)
            else:
                self.skip("schedules", line, "neither opening times nor a description")
        for service_id, texts in hours.items():
            self._resave(services[service_id], {"hours": "; ".join(texts)[:300]})

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
                self._save(
                    "languages",
                    existing.get(code) or ServiceLanguage(service=service, code=code),
                    {"hsds_id": hsds_id},
                )
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
