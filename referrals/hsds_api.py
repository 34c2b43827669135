"""The Open Referral HSDS 3.0 read API for the directory (API.md, "Interoperability"), under
`/hsds/`: `GET /hsds/`, `/hsds/services`, `/hsds/services/{id}`, `/hsds/organizations`,
`/hsds/organizations/{id}`, for any staff token or session.

It follows the HSDS 3.0 API reference rather than API v1's conventions: the `Page` wrapper
(`total_items`, `total_pages`, `page_number`, `size`, `first_page`, `last_page`, `empty`,
`contents`), `page`/`per_page`, the parameter names of the reference's `openapi.json`, and UUID
ids. Every object is in the shape of the specification's compiled schemas (`service.json`,
`service_list.json`, `organization.json`, `organization_list.json`): an optional field the
directory has no value for is left out rather than sent empty or null. A filter that makes no
sense is a 400 `{"errors": {field: [...]}}` (API v1's error shape). The query count of a page
does not grow with its size: everything nested is prefetched.

Ids: the HSDS id the row was imported with when it is a UUID, else (a package that broke the
specification's rule) a UUID derived from it; the program's own rows have one minted. The
directory's category of a service is an HSDS attribute whose term is one of the program's needs,
in a taxonomy of its own (`referrals.hsds.NEEDS_TAXONOMY_ID`).
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, Any

from django.db.models import BooleanField, Expression, F, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from heart_cases.api_common import DetailSerializer, ErrorSerializer, require_perms
from heart_cases.models import Need

from .hsds import (
    HSDS_VERSION,
    NEEDS_TAXONOMY_ID,
    NEEDS_TAXONOMY_NAME,
    hsds_uuid,
    need_for_term,
    need_term_id,
)
from .models import (
    Address,
    Location,
    Phone,
    Provider,
    Schedule,
    Service,
    ServiceLanguage,
    ServiceLocation,
)

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
PROFILE_URL = "https://docs.openreferral.org/en/latest/"
OPENAPI_URL = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/openapi.json"


# --- query parameters ----------------------------------------------------------------------


class PageQuery(serializers.Serializer):
    page = serializers.IntegerField(
        min_value=1, max_value=10**9, default=1, help_text="Page number, from 1."
    )
    per_page = serializers.IntegerField(
        min_value=1,
        max_value=MAX_PER_PAGE,
        default=DEFAULT_PER_PAGE,
        help_text=f"Results per page, 1 to {MAX_PER_PAGE}.",
    )
    search = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Full text search."
    )
    full = serializers.BooleanField(
        required=False, default=False, help_text="Fully nested objects."
    )


class ServiceQuery(PageQuery):
    taxonomy_term_id = serializers.UUIDField(
        required=False, help_text="Services with this taxonomy term."
    )
    taxonomy_id = serializers.UUIDField(
        required=False, help_text="Services with any term of this taxonomy."
    )
    organization_id = serializers.UUIDField(
        required=False, help_text="Services of this organization."
    )
    modified_after = serializers.CharField(
        required=False,
        max_length=40,
        help_text="Services modified on or after this time (ISO 8601 date or date-time; "
        "without an offset, UTC).",
    )
    minimal = serializers.BooleanField(
        required=False, default=False, help_text="Only each service's id and last_modified."
    )

    def validate_modified_after(self, value: str) -> datetime:
        try:
            moment = parse_datetime(value)
            if moment is None:
                day = parse_date(value)
                if day is not None:
                    moment = datetime.combine(day, time.min)
        except ValueError:
            moment = None
        if moment is None:
            raise serializers.ValidationError(
                _("Give a date or date-time in ISO 8601, e.g. 2026-11-20 or 2026-11-20T14:05:00Z.")
            )
        if timezone.is_naive(moment):
            moment = moment.replace(tzinfo=UTC)
        return moment

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("minimal") and attrs.get("full"):
            raise serializers.ValidationError(
                {"minimal": [_("Ask for either minimal or full services, not both.")]}
            )
        return attrs


class OrganizationQuery(PageQuery):
    full_service = serializers.BooleanField(
        required=False, default=False, help_text="With `full`: each service fully nested."
    )


class OrganizationDetailQuery(serializers.Serializer):
    full_service = serializers.BooleanField(
        required=False, default=False, help_text="Each service fully nested."
    )


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


def _uuid_in_path(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise exceptions.ValidationError({"id": [_("Not a UUID.")]}) from None


# --- the HSDS shapes -----------------------------------------------------------------------


def _put(target: dict[str, Any], **values: Any) -> dict[str, Any]:
    """Set the optional fields that have a value: the schemas type them as plain strings or
    numbers, so an empty or null one is left out."""
    for key, value in values.items():
        if value is not None and value != "":
            target[key] = value
    return target


def _time(value: time | None) -> str | None:
    if value is None:
        return None
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def _coordinate(value: Any) -> float | None:
    return None if value is None else float(value)


# --- what is nested, read for a whole page at once ------------------------------------------
#
# A fixed number of queries per page, whatever its size, and plain rows (`values()`) rather
# than model instances, for the services themselves as for what is nested: building model
# instances, and Django's prefetch_related (a queryset per parent object), cost most of the
# response time at 200 services a page. A services page reads what is nested in four queries:
# its languages; its service-at-location links with each location and its addresses joined;
# the phones, and the schedules, of its services and those locations together.

# A service row: the service's own fields and, joined, those its organization is served with.
_SERVICE = (
    "id",
    "hsds_id",
    "name",
    "category",
    "description",
    "hours",
    "phone",
    "email",
    "accepting_referrals",
    "updated_at",
    "provider_id",
    "provider__hsds_id",
    "provider__name",
    "provider__description",
    "provider__email",
    "provider__website",
)
_PHONE = ("hsds_id", "number", "extension", "type", "description")
_SCHEDULE = (
    "hsds_id",
    "freq",
    "interval",
    "byday",
    "bymonthday",
    "opens_at",
    "closes_at",
    "valid_from",
    "valid_to",
    "description",
    "notes",
)
_ADDRESS = (
    "hsds_id",
    "attention",
    "address_1",
    "address_2",
    "city",
    "region",
    "state_province",
    "postal_code",
    "country",
    "address_type",
)
_LOCATION = ("id", "hsds_id", "name", "latitude", "longitude", "phone", "provider__hsds_id")
# The link query's columns for its location (`location__name` is the location row's `name`)
# and for the location's addresses (`location__addresses__city` is the address row's `city`).
_LINK_LOCATION = {f"location__{name}": name for name in _LOCATION}
_LINK_ADDRESS = {f"location__addresses__{name}": name for name in _ADDRESS}

Row = dict[str, Any]
Rows = dict[Any, list[Row]]


def service_row(service: Service) -> Row:
    """A service instance as the row a page of services is read as (`_SERVICE`)."""
    provider = service.provider
    return {
        **{name: getattr(service, name) for name in _SERVICE if "__" not in name},
        "provider__hsds_id": provider.hsds_id,
        "provider__name": provider.name,
        "provider__description": provider.description,
        "provider__email": provider.email,
        "provider__website": provider.website,
    }


class _OneOf(Expression):
    """`column = ANY(%s)`: the ids as one array parameter on PostgreSQL, where a 200-element
    `IN (%s, ...)` costs the ORM and psycopg far more per query than the database; an `IN`
    list elsewhere (SQLite)."""

    conditional = True

    def __init__(self, column: str, ids: list[int]) -> None:
        super().__init__(output_field=BooleanField())
        self.column: Any = F(column)
        self.ids = ids

    def get_source_expressions(self) -> list[Any]:
        return [self.column]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        (self.column,) = exprs

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, Any]:
        column, params = compiler.compile(self.column)
        if connection.vendor == "postgresql":
            return f"{column} = ANY(%s)", (*params, self.ids)
        placeholders = ", ".join(["%s"] * len(self.ids))
        return f"{column} IN ({placeholders})", (*params, *self.ids)


def _grouped(rows: Iterable[Any], key: str) -> Rows:
    grouped: Rows = defaultdict(list)
    for row in rows:
        grouped[row[key]].append(row)
    return grouped


@dataclass
class Nested:
    """Everything nested under one page's services or organizations, by parent id."""

    phones: dict[str, Rows] = field(default_factory=dict)  # "service" -> service id -> rows
    schedules: dict[str, Rows] = field(default_factory=dict)
    languages: Rows = field(default_factory=dict)
    links: Rows = field(default_factory=dict)  # service id -> service_at_location rows
    locations: dict[int, Row] = field(default_factory=dict)
    addresses: Rows = field(default_factory=dict)
    provider_locations: Rows = field(default_factory=dict)
    provider_services: dict[int, list[Row]] = field(default_factory=dict)
    # Each need's label, in the language of this request, as it is met.
    need_labels: dict[str, str] = field(default_factory=dict)
    # Each location's served object, built once for all the services and organizations of
    # the page that show it (the JSON is the same; the response has fewer objects to keep).
    location_objects: dict[int, dict[str, Any]] = field(default_factory=dict)

    def load_services(self, services: list[Row]) -> None:
        service_phones = self.phones.setdefault("service", {})
        service_schedules = self.schedules.setdefault("service", {})
        location_phones = self.phones.setdefault("location", {})
        location_schedules = self.schedules.setdefault("location", {})
        ids = [service["id"] for service in services]
        if not ids:
            return
        self.languages = _grouped(
            ServiceLanguage.objects.filter(_OneOf("service_id", ids))
            .order_by("id")
            .values("service_id", "hsds_id", "code", "name", "note"),
            "service_id",
        )
        new_locations = self._load_links(ids)
        # A phone or schedule may belong to a service and a location at once: it is listed
        # under each of them that is on the page, as when they were read apart.
        owners: Any = _OneOf("service_id", ids)
        if new_locations:
            owners |= _OneOf("location_id", sorted(new_locations))
        service_ids = set(ids)
        for row in (
            Phone.objects.filter(owners).order_by("id").values("service_id", "location_id", *_PHONE)
        ):
            if row["service_id"] in service_ids:
                service_phones.setdefault(row["service_id"], []).append(row)
            if row["location_id"] in new_locations:
                location_phones.setdefault(row["location_id"], []).append(row)
        for row in (
            Schedule.objects.filter(owners)
            .order_by("id")
            .values("service_id", "location_id", *_SCHEDULE)
        ):
            if row["service_id"] in service_ids:
                service_schedules.setdefault(row["service_id"], []).append(row)
            if row["location_id"] in new_locations:
                location_schedules.setdefault(row["location_id"], []).append(row)

    def _load_links(self, ids: list[int]) -> set[int]:
        """The links of these services, with each location and its addresses not read yet (one
        row per link and address); the ids of the locations read."""
        links: Rows = defaultdict(list)
        # Which link a location's addresses are taken from: the rows repeat them for each link.
        first_link: dict[int, int] = {}
        new_locations: set[int] = set()
        last_link = None
        rows = (
            ServiceLocation.objects.filter(_OneOf("service_id", ids))
            .order_by("id", "location__addresses__id")
            .values(
                "id",
                "service_id",
                "hsds_id",
                "location_id",
                *_LINK_LOCATION,
                "location__addresses__location_id",
                *_LINK_ADDRESS,
            )
        )
        for row in rows:
            link_id, location_id = row["id"], row["location_id"]
            if link_id != last_link:
                last_link = link_id
                links[row["service_id"]].append(
                    {"hsds_id": row["hsds_id"], "location_id": location_id}
                )
                if location_id not in self.locations:
                    self.locations[location_id] = {
                        name: row[column] for column, name in _LINK_LOCATION.items()
                    }
                    new_locations.add(location_id)
                    first_link[location_id] = link_id
            if (
                row["location__addresses__location_id"] is not None
                and first_link.get(location_id) == link_id
            ):
                self.addresses.setdefault(location_id, []).append(
                    {name: row[column] for column, name in _LINK_ADDRESS.items()}
                )
        self.links = links
        return new_locations

    def load_providers(self, providers: list[Provider], *, full_service: bool) -> None:
        ids = [provider.pk for provider in providers]
        self.phones["provider"] = _grouped(
            Phone.objects.filter(provider_id__in=ids).order_by("id").values("provider_id", *_PHONE),
            "provider_id",
        )
        locations = Location.objects.filter(provider_id__in=ids).order_by("id")
        self.provider_locations = _grouped(locations.values("provider_id", "id"), "provider_id")
        services = list(
            Service.objects.filter(provider_id__in=ids).order_by("name", "id").values(*_SERVICE)
        )
        by_provider: dict[int, list[Row]] = defaultdict(list)
        for service in services:
            by_provider[service["provider_id"]].append(service)
        self.provider_services = by_provider
        wanted = {row["id"] for rows in self.provider_locations.values() for row in rows}
        if full_service:
            self.load_services(services)
        self._load_locations(wanted)

    def _load_locations(self, ids: set[int]) -> None:
        ids = ids - set(self.locations)
        if not ids:
            self.phones.setdefault("location", {})
            self.schedules.setdefault("location", {})
            return
        for row in Location.objects.filter(pk__in=ids).values(*_LOCATION):
            self.locations[row["id"]] = row
        self.addresses.update(
            _grouped(
                Address.objects.filter(location_id__in=ids)
                .order_by("id")
                .values("location_id", *_ADDRESS),
                "location_id",
            )
        )
        phones = self.phones.setdefault("location", {})
        phones.update(
            _grouped(
                Phone.objects.filter(location_id__in=ids)
                .order_by("id")
                .values("location_id", *_PHONE),
                "location_id",
            )
        )
        schedules = self.schedules.setdefault("location", {})
        schedules.update(
            _grouped(
                Schedule.objects.filter(location_id__in=ids)
                .order_by("id")
                .values("location_id", *_SCHEDULE),
                "location_id",
            )
        )


# --- the HSDS shapes -----------------------------------------------------------------------


def _phone(row: dict[str, Any], **owner: str) -> dict[str, Any]:
    return _put(
        {"id": hsds_uuid("phone", row["hsds_id"]), "number": row["number"], **owner},
        extension=row["extension"],
        type=row["type"],
        description=row["description"],
    )


def _phones(rows: list[dict[str, Any]], one_line: str, fallback_id: str, **owner: str) -> list[Any]:
    """The structured phones; for a row made before they were kept, its one-line phone."""
    phones = [_phone(row, **owner) for row in rows]
    if not phones and one_line:
        phones.append({"id": hsds_uuid("phone", fallback_id), "number": one_line, **owner})
    return phones


def _schedule(row: dict[str, Any], **owner: str) -> dict[str, Any]:
    return _put(
        {"id": hsds_uuid("schedule", row["hsds_id"]), **owner},
        freq=row["freq"],
        interval=row["interval"],
        byday=row["byday"],
        bymonthday=row["bymonthday"],
        opens_at=_time(row["opens_at"]),
        closes_at=_time(row["closes_at"]),
        valid_from=row["valid_from"].isoformat() if row["valid_from"] else None,
        valid_to=row["valid_to"].isoformat() if row["valid_to"] else None,
        description=row["description"],
        notes=row["notes"],
    )


def _address(row: dict[str, Any], location_id: str) -> dict[str, Any]:
    return _put(
        {
            "id": hsds_uuid("address", row["hsds_id"]),
            "location_id": location_id,
            "address_1": row["address_1"],
            "city": row["city"],
            "state_province": row["state_province"],
            "postal_code": row["postal_code"],
            "country": row["country"],
            "address_type": row["address_type"],
        },
        attention=row["attention"],
        address_2=row["address_2"],
        region=row["region"],
    )


def location_json(pk: int, nested: Nested) -> dict[str, Any]:
    built = nested.location_objects.get(pk)
    if built is None:
        built = nested.location_objects[pk] = _location(pk, nested)
    return built


def _location(pk: int, nested: Nested) -> dict[str, Any]:
    row = nested.locations[pk]
    location_id = hsds_uuid("location", row["hsds_id"])
    owner = {"location_id": location_id}
    return _put(
        {
            "id": location_id,
            "location_type": "physical",
            "organization_id": hsds_uuid("organization", row["provider__hsds_id"]),
            "addresses": [_address(a, location_id) for a in nested.addresses.get(pk, [])],
            "phones": _phones(
                nested.phones["location"].get(pk, []),
                row["phone"],
                f"location:{row['hsds_id']}",
                **owner,
            ),
            "schedules": [_schedule(s, **owner) for s in nested.schedules["location"].get(pk, [])],
        },
        name=row["name"],
        latitude=_coordinate(row["latitude"]),
        longitude=_coordinate(row["longitude"]),
    )


def _organization_list(
    hsds_id: str, name: str, description: str, email: str, website: str
) -> dict[str, Any]:
    return _put(
        {"id": hsds_uuid("organization", hsds_id), "name": name, "description": description},
        email=email,
        website=website,
    )


def organization_list_json(provider: Provider) -> dict[str, Any]:
    return _organization_list(
        provider.hsds_id, provider.name, provider.description, provider.email, provider.website
    )


def service_list_json(service: Row) -> dict[str, Any]:
    """A service row (`_SERVICE`) in the `service_list` shape."""
    organization = _organization_list(
        service["provider__hsds_id"],
        service["provider__name"],
        service["provider__description"],
        service["provider__email"],
        service["provider__website"],
    )
    return _put(
        {
            "id": hsds_uuid("service", service["hsds_id"]),
            "organization_id": organization["id"],
            "name": service["name"],
            "status": "active" if service["accepting_referrals"] else "inactive",
            "last_modified": service["updated_at"].isoformat(),
            "organization": organization,
        },
        description=service["description"],
        email=service["email"],
    )


def _attributes(service: Row, service_id: str, labels: dict[str, str]) -> list[dict[str, Any]]:
    category = service["category"]
    term_id = need_term_id(category)
    label = labels.get(category)
    if label is None:
        label = labels[category] = str(Need(category).label)
    return [
        {
            "id": hsds_uuid("attribute", f"{service_id}:{category}"),
            "link_id": service_id,
            "link_type": "service",
            "link_entity": "service",
            "taxonomy_term_id": term_id,
            "taxonomy_term": {
                "id": term_id,
                "code": category,
                "name": label,
                "description": label,
                "taxonomy": NEEDS_TAXONOMY_NAME,
                "taxonomy_id": NEEDS_TAXONOMY_ID,
            },
        }
    ]


def service_json(service: Row, nested: Nested) -> dict[str, Any]:
    """A service row (`_SERVICE`) fully nested (`service.json`)."""
    data = service_list_json(service)
    service_id = data["id"]
    pk, hsds_id = service["id"], service["hsds_id"]
    owner = {"service_id": service_id}
    data["phones"] = _phones(
        nested.phones["service"].get(pk, []), service["phone"], f"service:{hsds_id}", **owner
    )
    schedules = [_schedule(s, **owner) for s in nested.schedules["service"].get(pk, [])]
    if not schedules and service["hours"]:
        schedules.append(
            {
                "id": hsds_uuid("schedule", f"service:{hsds_id}"),
                "description": service["hours"],
                **owner,
            }
        )
    data["schedules"] = schedules
    data["languages"] = [
        _put(
            {"id": hsds_uuid("language", lang["hsds_id"]), "code": lang["code"], **owner},
            name=lang["name"],
            note=lang["note"],
        )
        for lang in nested.languages.get(pk, [])
    ]
    at_locations = []
    for link in nested.links.get(pk, []):
        location = location_json(link["location_id"], nested)
        at_locations.append(
            {
                "id": hsds_uuid("service_at_location", link["hsds_id"]),
                "service_id": service_id,
                "location_id": location["id"],
                "location": location,
            }
        )
    data["service_at_locations"] = at_locations
    data["attributes"] = _attributes(service, service_id, nested.need_labels)
    return data


def organization_json(
    provider: Provider, nested: Nested, *, full_service: bool = False
) -> dict[str, Any]:
    """An organization fully nested (`organization.json`)."""
    data = organization_list_json(provider)
    data["phones"] = _phones(
        nested.phones["provider"].get(provider.pk, []),
        provider.phone,
        f"organization:{provider.hsds_id}",
        organization_id=data["id"],
    )
    data["locations"] = [
        location_json(row["id"], nested) for row in nested.provider_locations.get(provider.pk, [])
    ]
    services = nested.provider_services.get(provider.pk, [])
    data["services"] = [
        service_json(service, nested) if full_service else service_list_json(service)
        for service in services
    ]
    return data


def render_services(services: list[Row], *, full: bool) -> list[dict[str, Any]]:
    if not full:
        return [service_list_json(service) for service in services]
    nested = Nested()
    nested.load_services(services)
    return [service_json(service, nested) for service in services]


def render_organizations(
    providers: list[Provider], *, full: bool, full_service: bool
) -> list[dict[str, Any]]:
    if not full:
        return [organization_list_json(provider) for provider in providers]
    nested = Nested()
    nested.load_providers(providers, full_service=full_service)
    return [organization_json(p, nested, full_service=full_service) for p in providers]


def services_queryset() -> QuerySet[Service]:
    return Service.objects.select_related("provider").order_by("name", "id")


def organizations_queryset() -> QuerySet[Provider]:
    return Provider.objects.order_by("name", "id")


def _by_uuid(queryset: QuerySet[Any], kind: str, wanted: uuid.UUID) -> Any:
    """The row whose served id is `wanted`: its HSDS id in any spelling of that UUID, or (rare:
    a package whose ids were not UUIDs) the one whose id the served UUID was derived from."""
    text = str(wanted)
    found = queryset.filter(hsds_id=text).first() or queryset.filter(hsds_id__iexact=text).first()
    if found is not None:
        return found
    others = queryset.model._default_manager.exclude(hsds_id__regex=_UUID_PATTERN)
    for pk, hsds_id in others.values_list("pk", "hsds_id").iterator():
        if hsds_uuid(kind, hsds_id) == text:
            return queryset.get(pk=pk)
    return None


_UUID_PATTERN = r"^[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}$"


def _filter_by_organization(services: QuerySet[Service], wanted: uuid.UUID) -> QuerySet[Service]:
    provider = _by_uuid(Provider.objects.all(), "organization", wanted)
    return services.filter(provider=provider) if provider is not None else services.none()


def _search(queryset: QuerySet[Any], text: str, fields: Iterable[str]) -> QuerySet[Any]:
    condition = Q()
    for word in text.split()[:10]:
        any_field = Q()
        for name in fields:
            any_field |= Q(**{f"{name}__icontains": word})
        condition &= any_field
    return queryset.filter(condition)


def _page(
    queryset: QuerySet[Any],
    query: dict[str, Any],
    render: Any,
    *,
    rows_of: QuerySet[Any] | None = None,
) -> dict[str, Any]:
    """One page of `queryset`, counted as it is and read as `rows_of` (the same rows, e.g. as
    `values()`: whose joins the count need not make) when given."""
    page, per_page = query["page"], query["per_page"]
    total = queryset.count()
    total_pages = math.ceil(total / per_page)
    offset = (page - 1) * per_page
    rows_of = queryset if rows_of is None else rows_of
    rows = list(rows_of[offset : offset + per_page]) if offset < total else []
    contents = render(rows)
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page >= total_pages,
        "empty": not contents,
        "contents": contents,
    }


# --- the views -----------------------------------------------------------------------------

_ERRORS: dict[int | str, Any] = {
    400: ErrorSerializer,
    401: DetailSerializer,
    403: DetailSerializer,
}
_ANY_OBJECT = OpenApiTypes.OBJECT


def _page_schema(name: str) -> Any:
    return inline_serializer(
        name,
        {
            "total_items": serializers.IntegerField(),
            "total_pages": serializers.IntegerField(),
            "page_number": serializers.IntegerField(),
            "size": serializers.IntegerField(),
            "first_page": serializers.BooleanField(),
            "last_page": serializers.BooleanField(),
            "empty": serializers.BooleanField(),
            "contents": serializers.ListField(child=serializers.DictField()),
        },
    )


class HsdsApiView(APIView):
    """Any staff member: every role may read the directory (`referrals.view_provider`)."""

    permission_classes = [IsAuthenticated, require_perms("referrals.view_provider")]


class HsdsRootApi(HsdsApiView):
    @extend_schema(
        operation_id="hsds_root",
        tags=["hsds"],
        responses={
            200: inline_serializer(
                "HsdsApiInfo",
                {
                    "version": serializers.CharField(),
                    "profile": serializers.URLField(),
                    "openapi_url": serializers.URLField(),
                },
            ),
            **_ERRORS,
        },
    )
    def get(self, request: Request) -> Response:
        """The HSDS API's meta information: its HSDS version, profile and OpenAPI document."""
        return Response(
            {"version": HSDS_VERSION, "profile": PROFILE_URL, "openapi_url": OPENAPI_URL}
        )


class HsdsServiceListApi(HsdsApiView):
    @extend_schema(
        operation_id="hsds_services_list",
        tags=["hsds"],
        parameters=[ServiceQuery],
        responses={200: _page_schema("HsdsServicePage"), **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        """Services, a page at a time (`service_list` shape; `full`: `service`; `minimal`: only
        `id` and `last_modified`), by name."""
        query = _query(ServiceQuery, request)
        full, minimal = query["full"], query["minimal"]
        services = services_queryset()
        if query.get("search"):
            services = _search(services, query["search"], ("name", "description", "provider__name"))
        if "organization_id" in query:
            services = _filter_by_organization(services, query["organization_id"])
        if "taxonomy_id" in query and str(query["taxonomy_id"]) != NEEDS_TAXONOMY_ID:
            services = services.none()
        if "taxonomy_term_id" in query:
            need = need_for_term(str(query["taxonomy_term_id"]))
            services = services.filter(category=need) if need else services.none()
        if "modified_after" in query:
            services = services.filter(updated_at__gte=query["modified_after"])
        if minimal:
            services = services.select_related(None).only("id", "hsds_id", "updated_at", "name")
            return Response(_page(services, query, _minimal))

        def render(rows: list[Row]) -> list[dict[str, Any]]:
            return render_services(rows, full=full)

        page = _page(services, query, render, rows_of=services.values(*_SERVICE))
        return _freed_once_rendered(Response(page))


def _freed_once_rendered(response: Response) -> Response:
    """The response, dropping its data once rendered to JSON. A page of 200 services fully
    nested is some 100,000 dicts and lists, and DRF's response is in a reference cycle (through
    its renderer context and the view), so they outlived the request until a full collection
    of the garbage collector, which then had several pages to walk: 60-100 ms, the tail of
    the page's latency. Freed here by reference counting as soon as the body is written."""
    response.add_post_render_callback(_drop_data)
    return response


def _drop_data(response: Any) -> None:
    response.data = None


def _minimal(services: list[Service]) -> list[dict[str, Any]]:
    return [
        {"id": hsds_uuid("service", s.hsds_id), "last_modified": s.updated_at.isoformat()}
        for s in services
    ]


class HsdsServiceDetailApi(HsdsApiView):
    @extend_schema(
        operation_id="hsds_services_retrieve",
        tags=["hsds"],
        parameters=[OpenApiParameter("id", str, OpenApiParameter.PATH)],
        responses={200: _ANY_OBJECT, 404: DetailSerializer, **_ERRORS},
    )
    def get(self, request: Request, id: str) -> Response:
        """One service, fully nested (`service.json`)."""
        service = _by_uuid(services_queryset(), "service", _uuid_in_path(id))
        if service is None:
            raise exceptions.NotFound()
        return Response(render_services([service_row(service)], full=True)[0])


class HsdsOrganizationListApi(HsdsApiView):
    @extend_schema(
        operation_id="hsds_organizations_list",
        tags=["hsds"],
        parameters=[OrganizationQuery],
        responses={200: _page_schema("HsdsOrganizationPage"), **_ERRORS},
    )
    def get(self, request: Request) -> Response:
        """Organizations, a page at a time (`organization_list` shape; `full`: `organization`,
        with `full_service` each service fully nested), by name."""
        query = _query(OrganizationQuery, request)
        full, full_service = query["full"], query["full_service"]
        providers = organizations_queryset()
        if query.get("search"):
            providers = _search(providers, query["search"], ("name", "description"))

        def render(rows: list[Provider]) -> list[dict[str, Any]]:
            return render_organizations(rows, full=full, full_service=full_service)

        return Response(_page(providers, query, render))


class HsdsOrganizationDetailApi(HsdsApiView):
    @extend_schema(
        operation_id="hsds_organizations_retrieve",
        tags=["hsds"],
        parameters=[
            OrganizationDetailQuery,
            OpenApiParameter("id", str, OpenApiParameter.PATH),
        ],
        responses={200: _ANY_OBJECT, 404: DetailSerializer, **_ERRORS},
    )
    def get(self, request: Request, id: str) -> Response:
        """One organization, fully nested (`organization.json`): its phones, locations and
        services (with `full_service`, each service fully nested)."""
        query = _query(OrganizationDetailQuery, request)
        wanted = _uuid_in_path(id)
        provider = _by_uuid(organizations_queryset(), "organization", wanted)
        if provider is None:
            raise exceptions.NotFound()
        full_service = query["full_service"]
        return Response(render_organizations([provider], full=True, full_service=full_service)[0])
