"""`/hsds/`: the directory as an Open Referral HSDS 3.0 API. Every answer is checked against the
specification's compiled JSON schemas (`../shared/data/hsds-3.0-schema/`), read from disk."""

from __future__ import annotations

import importlib
import json
from datetime import time, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from heart_cases.actors import system_actor
from referrals.hsds import NEEDS_TAXONOMY_ID, hsds_uuid, need_term_id
from referrals.models import (
    Address,
    Location,
    Phone,
    Provider,
    Schedule,
    Service,
    ServiceLanguage,
    ServiceLocation,
)
from tests.conftest import as_user

pytestmark = pytest.mark.django_db

# The specification's schemas, in the shared folder beside the project (a fresh clone has it at
# ../shared), or the machine's copy.
SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "data" / "hsds-3.0-schema"
if not SCHEMAS.is_dir():
    SCHEMAS = Path("/work/shared/data/hsds-3.0-schema")
REMOTE = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"


@cache
def _registry() -> Registry:
    """Every schema file under the names the openapi.json and the files use for each other,
    so that `$ref`s resolve locally (no network)."""
    registry: Registry = Registry()
    for file in sorted(SCHEMAS.glob("*.json")):
        resource = Resource.from_contents(
            json.loads(file.read_text()), default_specification=_draft()
        )
        for uri in (file.name, f"{REMOTE}{file.name}", f"{REMOTE}compiled/{file.name}"):
            registry = registry.with_resource(uri, resource)
    return registry


def _draft() -> Any:
    from referencing.jsonschema import DRAFT202012

    return DRAFT202012


@cache
def validator(name: str) -> Draft202012Validator:
    """A validator for one compiled schema (`service.json`, `organization_list.json`, …) or,
    as `openapi:Page` / `openapi:root`, for a schema of the API's openapi.json."""
    if name.startswith("openapi:"):
        document = json.loads((SCHEMAS / "openapi.json").read_text())
        if name == "openapi:Page":
            schema = document["components"]["schemas"]["Page"]
        else:
            schema = document["paths"]["/"]["get"]["responses"]["200"]["content"][
                "application/json"
            ]["schema"]
    else:
        schema = {"$ref": f"{REMOTE}compiled/{name}"}
    return Draft202012Validator(schema, registry=_registry(), format_checker=FormatChecker())


def assert_valid(name: str, instance: Any) -> None:
    errors = sorted(validator(name).iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:10]]


def assert_page(body: dict[str, Any], item_schema: str) -> None:
    assert_valid("openapi:Page", body)
    for key in (
        "total_items",
        "total_pages",
        "page_number",
        "size",
        "first_page",
        "last_page",
        "empty",
        "contents",
    ):
        assert key in body, key
    for item in body["contents"]:
        assert_valid(item_schema, item)


def test_the_schemas_are_read_and_catch_a_broken_service():
    """The control: the validator does refuse what the specification refuses."""
    good = {"id": "ac148810-d857-441c-9679-408f346de14b", "name": "A", "status": "active"}
    assert_valid("service.json", good)
    for broken in (
        {**good, "id": "not-a-uuid"},
        {**good, "status": "sleeping"},
        {**good, "phones": [{"id": good["id"]}]},  # a phone needs a number
        {"id": good["id"], "name": "A"},  # no status
    ):
        assert list(validator("service.json").iter_errors(broken)), broken


# --- a directory ---------------------------------------------------------------------------


@pytest.fixture
def directory(roles):
    """Casa (the program's own, structured: an address, phones, a schedule, two languages),
    Pantry (the program's own, from before: only one-line phone and hours) and an imported
    organization with a non-UUID id."""
    actor = system_actor("test")
    casa = Provider.objects.create(
        slug="casa",
        name="Casa Esperanza",
        description="Community health",
        email="intake@casa.example",
        website="https://casa.example/",
        phone="+1 919 555 0101",
    )
    Phone.objects.create(provider=casa, number="+1 919 555 0101", type="voice")
    counseling = Service.objects.create(
        provider=casa,
        name="Counseling en español",
        category="mental_health",
        description="Talk therapy",
        hours="Mon, Tue 09:00–17:00",
        phone="+1 919 555 0109 x12",
    )
    Phone.objects.create(service=counseling, number="+1 919 555 0109", extension=12)
    Schedule.objects.create(
        service=counseling,
        freq="WEEKLY",
        byday="MO,TU",
        opens_at=time(9),
        closes_at=time(17),
        description="Walk-ins welcome",
    )
    for code, name in (("es", "Spanish"), ("en", "")):
        ServiceLanguage.objects.create(service=counseling, code=code, name=name)
    east = Location.objects.create(
        provider=casa,
        name="Casa East",
        address="412 N Alston Ave, Durham, NC, 27701",
        latitude=Decimal("35.996100"),
        longitude=Decimal("-78.888600"),
    )
    Address.objects.create(
        location=east,
        address_1="412 N Alston Ave",
        city="Durham",
        state_province="NC",
        postal_code="27701",
        country="US",
    )
    ServiceLocation.objects.create(service=counseling, location=east)
    clinic = Service.objects.create(provider=casa, name="Clinic", category="medical")
    ServiceLanguage.objects.create(service=clinic, code="en")

    pantry = Provider.objects.create(slug="pantry", name="Pantry", phone="+1 919 555 0300")
    groceries = Service.objects.create(
        provider=pantry, name="Groceries", category="food", hours="Every day 10:00–14:00"
    )
    ServiceLanguage.objects.create(service=groceries, code="en")

    imported = Provider.objects.create(slug="old", name="Old Package Org", hsds_id="org-1")
    legal = Service.objects.create(
        provider=imported, name="Legal aid", category="legal", hsds_id="svc-1"
    )
    del actor
    return {
        "casa": casa,
        "pantry": pantry,
        "imported": imported,
        "counseling": counseling,
        "clinic": clinic,
        "groceries": groceries,
        "legal": legal,
        "east": east,
    }


@pytest.fixture
def api(make_staff):
    return as_user(make_staff("hsds-reader", "analyst")[0])


# --- the root, the pages, the shapes -------------------------------------------------------


def test_the_root_says_which_hsds_this_is(api):
    body = api.get("/hsds/").json()
    assert body["version"] == "3.0"
    assert body["openapi_url"].endswith("/openapi.json")
    assert_valid("openapi:root", body)


@pytest.mark.parametrize("path", ["/hsds/", "/hsds/services", "/hsds/organizations"])
def test_anonymous_callers_are_refused(path, client):
    response = client.get(path, HTTP_ACCEPT="application/json")
    assert response.status_code in (401, 403)
    assert "detail" in response.json()


def test_services_page_by_page_in_the_page_wrapper(api, directory):
    seen = []
    for number in (1, 2, 3):
        response = api.get("/hsds/services", {"page": number, "per_page": 2})
        assert response.status_code == 200
        body = response.json()
        assert_page(body, "service_list.json")
        assert body["total_items"] == 4
        assert body["total_pages"] == 2
        assert body["page_number"] == number
        assert body["first_page"] is (number == 1)
        assert body["last_page"] is (number >= 2)
        assert body["size"] == len(body["contents"]) == (2 if number <= 2 else 0)
        assert body["empty"] is (number == 3)
        seen += [s["name"] for s in body["contents"]]
    assert seen == ["Clinic", "Counseling en español", "Groceries", "Legal aid"]
    assert Service.objects.count() == 4  # a read changes nothing


def test_a_service_fully_nested_keeps_its_structure(api, directory):
    counseling: Service = directory["counseling"]
    body = api.get(f"/hsds/services/{counseling.hsds_id}").json()
    assert_valid("service.json", body)
    assert body["id"] == counseling.hsds_id
    assert body["organization"]["id"] == directory["casa"].hsds_id
    assert body["organization_id"] == directory["casa"].hsds_id
    assert body["status"] == "active"
    assert [(p["number"], p["extension"]) for p in body["phones"]] == [("+1 919 555 0109", 12)]
    [schedule] = body["schedules"]
    assert schedule["id"] == Schedule.objects.get().hsds_id
    assert (schedule["freq"], schedule["byday"], schedule["opens_at"], schedule["closes_at"]) == (
        "WEEKLY",
        "MO,TU",
        "09:00",
        "17:00",
    )
    assert sorted((lang["code"], lang.get("name")) for lang in body["languages"]) == [
        ("en", None),
        ("es", "Spanish"),
    ]
    [at] = body["service_at_locations"]
    assert at["id"] == ServiceLocation.objects.get().hsds_id
    location = at["location"]
    assert location["name"] == "Casa East"
    assert location["latitude"] == 35.9961
    [address] = location["addresses"]
    assert address == {
        "id": Address.objects.get().hsds_id,
        "location_id": directory["east"].hsds_id,
        "address_1": "412 N Alston Ave",
        "city": "Durham",
        "state_province": "NC",
        "postal_code": "27701",
        "country": "US",
        "address_type": "physical",
    }
    [attribute] = body["attributes"]
    assert attribute["taxonomy_term"]["code"] == "mental_health"
    assert attribute["taxonomy_term_id"] == need_term_id("mental_health")


def test_a_location_shared_by_services_on_a_page_shows_everything_under_each(api, directory):
    """A page's locations are read joined to its services' links, one row per link and
    address, and their phones and schedules with the services': each location still shows
    each of its addresses once, a phone of both a service and a location shows under both,
    and the location is the same as its organization shows it."""
    east, clinic = directory["east"], directory["clinic"]
    ServiceLocation.objects.create(service=clinic, location=east)
    Address.objects.create(
        location=east,
        address_1="PO Box 9",
        city="Durham",
        state_province="NC",
        postal_code="27702",
        country="US",
        address_type="postal",
    )
    Schedule.objects.create(location=east, byday="SA", opens_at=time(10), closes_at=time(14))
    Phone.objects.create(service=clinic, location=east, number="+1 919 555 0199")
    body = api.get("/hsds/services", {"full": "true", "per_page": 50}).json()
    assert_page(body, "service.json")
    by_name = {service["name"]: service for service in body["contents"]}
    shown = []
    for name in ("Clinic", "Counseling en español"):
        [at] = by_name[name]["service_at_locations"]
        location = at["location"]
        assert [a["address_1"] for a in location["addresses"]] == ["412 N Alston Ave", "PO Box 9"]
        assert [p["number"] for p in location["phones"]] == ["+1 919 555 0199"]
        assert [(s["byday"], s["opens_at"]) for s in location["schedules"]] == [("SA", "10:00")]
        shown.append(location)
    assert [p["number"] for p in by_name["Clinic"]["phones"]] == ["+1 919 555 0199"]
    assert by_name["Clinic"]["phones"][0]["service_id"] == clinic.hsds_id
    organization = api.get(f"/hsds/organizations/{directory['casa'].hsds_id}").json()
    assert organization["locations"] == shown[:1] == shown[1:]


def test_rows_from_before_structure_show_their_one_line_phone_and_hours(api, directory):
    groceries: Service = directory["groceries"]
    body = api.get(f"/hsds/services/{groceries.hsds_id}").json()
    assert_valid("service.json", body)
    [schedule] = body["schedules"]
    assert schedule["description"] == "Every day 10:00–14:00"
    again = api.get(f"/hsds/services/{groceries.hsds_id}").json()
    assert again["schedules"][0]["id"] == schedule["id"]  # the same id every time
    org = api.get(f"/hsds/organizations/{directory['pantry'].hsds_id}").json()
    assert_valid("organization.json", org)
    assert [p["number"] for p in org["phones"]] == ["+1 919 555 0300"]


def test_an_imported_id_that_is_not_a_uuid_is_served_as_one_and_found_by_it(api, directory):
    legal: Service = directory["legal"]
    served = hsds_uuid("service", "svc-1")
    body = api.get("/hsds/services", {"search": "legal"}).json()
    assert [s["id"] for s in body["contents"]] == [served]
    assert body["contents"][0]["organization_id"] == hsds_uuid("organization", "org-1")
    detail = api.get(f"/hsds/services/{served}")
    assert detail.status_code == 200
    assert detail.json()["name"] == legal.name
    assert api.get(f"/hsds/organizations/{hsds_uuid('organization', 'org-1')}").status_code == 200


def test_full_and_minimal_service_pages(api, directory):
    full = api.get("/hsds/services", {"full": "true"}).json()
    assert_page(full, "service.json")
    assert all("service_at_locations" in s for s in full["contents"])
    minimal = api.get("/hsds/services", {"minimal": "true"}).json()
    assert_valid("openapi:Page", minimal)
    assert {s["id"] for s in minimal["contents"]} == {s["id"] for s in full["contents"]}
    assert all(set(s) == {"id", "last_modified"} for s in minimal["contents"])


def test_organizations_list_and_detail(api, directory):
    body = api.get("/hsds/organizations").json()
    assert_page(body, "organization_list.json")
    assert [o["name"] for o in body["contents"]] == ["Casa Esperanza", "Old Package Org", "Pantry"]
    full = api.get("/hsds/organizations", {"full": "true", "full_service": "true"}).json()
    assert_page(full, "organization.json")
    casa = api.get(f"/hsds/organizations/{directory['casa'].hsds_id}").json()
    assert_valid("organization.json", casa)
    assert [s["name"] for s in casa["services"]] == ["Clinic", "Counseling en español"]
    assert [loc["name"] for loc in casa["locations"]] == ["Casa East"]
    assert "service_at_locations" not in casa["services"][0]
    nested = api.get(
        f"/hsds/organizations/{directory['casa'].hsds_id}", {"full_service": "true"}
    ).json()
    assert_valid("organization.json", nested)
    assert "service_at_locations" in nested["services"][1]


def test_the_filters_of_the_openapi_document(api, directory):
    def names(**params: Any) -> list[str]:
        response = api.get("/hsds/services", params)
        assert response.status_code == 200, response.json()
        assert_page(response.json(), "service_list.json")
        return [s["name"] for s in response.json()["contents"]]

    assert names(search="español") == ["Counseling en español"]
    assert names(search="esperanza clinic") == ["Clinic"]  # every word, in any field
    assert names(organization_id=directory["casa"].hsds_id) == ["Clinic", "Counseling en español"]
    assert names(organization_id="00000000-0000-4000-8000-000000000000") == []
    assert names(taxonomy_term_id=need_term_id("food")) == ["Groceries"]
    assert names(taxonomy_term_id="00000000-0000-4000-8000-000000000000") == []
    assert len(names(taxonomy_id=NEEDS_TAXONOMY_ID)) == 4
    assert names(taxonomy_id="00000000-0000-4000-8000-000000000000") == []
    Service.objects.filter(pk=directory["legal"].pk).update(
        updated_at=timezone.now() - timedelta(days=10)
    )
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    assert "Legal aid" not in names(modified_after=since)
    assert "Legal aid" in names(modified_after="2020-01-01T00:00:00Z")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": "two"}, "page"),
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "100000"}, "per_page"),
        ({"per_page": "ten"}, "per_page"),
        ({"organization_id": "not-a-uuid"}, "organization_id"),
        ({"taxonomy_term_id": "123"}, "taxonomy_term_id"),
        ({"taxonomy_id": "AIRS"}, "taxonomy_id"),
        ({"modified_after": "yesterday"}, "modified_after"),
        ({"modified_after": "2026-13-45"}, "modified_after"),
        ({"modified_after": "99999-01-01"}, "modified_after"),
        ({"minimal": "maybe"}, "minimal"),
        ({"minimal": "true", "full": "true"}, "minimal"),
        ({"search": "a\x00b"}, "search"),
    ],
)
def test_filters_that_make_no_sense_are_a_400_naming_the_field(api, directory, params, field):
    response = api.get("/hsds/services", params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_bad_ids_are_a_400_and_unknown_ones_a_404(api, directory):
    for path in ("/hsds/services/", "/hsds/organizations/"):
        bad = api.get(f"{path}nope")
        assert bad.status_code == 400
        assert "id" in bad.json()["errors"]
        missing = api.get(f"{path}00000000-0000-4000-8000-000000000000")
        assert missing.status_code == 404
    assert api.get("/hsds/organizations", {"page": "0"}).status_code == 400
    assert api.get("/hsds/organizations", {"full_service": "x"}).status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/hsds/services",
        "/hsds/services?full=true",
        "/hsds/organizations?full=true",
        "/hsds/organizations?full=true&full_service=true",
    ],
)
def test_the_query_count_does_not_grow_with_the_page(api, directory, path):
    _more_directory(30)
    api.get("/hsds/")  # the user's permissions are read once, then cached
    counts = []
    for per_page in (2, 40):
        separator = "&" if "?" in path else "?"
        with CaptureQueriesContext(connection) as queries:
            response = api.get(f"{path}{separator}per_page={per_page}")
        assert response.status_code == 200
        assert len(response.json()["contents"]) == min(per_page, response.json()["total_items"])
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def _more_directory(n: int) -> None:
    for k in range(n):
        provider = Provider.objects.create(slug=f"p{k}", name=f"Provider {k:02}")
        service = Service.objects.create(provider=provider, name=f"Service {k:02}")
        ServiceLanguage.objects.create(service=service, code="en")
        Phone.objects.create(service=service, number=f"+1 919 555 {k:04}")
        Phone.objects.create(provider=provider, number=f"+1 919 556 {k:04}")
        Schedule.objects.create(service=service, byday="MO", opens_at=time(8), closes_at=time(9))
        location = Location.objects.create(provider=provider, name=f"Site {k}")
        Address.objects.create(
            location=location,
            address_1=f"{k} Main St",
            city="Durham",
            state_province="NC",
            postal_code="27701",
            country="US",
        )
        Phone.objects.create(location=location, number=f"+1 919 557 {k:04}")
        ServiceLocation.objects.create(service=service, location=location)


def test_every_row_gets_a_uuid_and_the_migration_fills_old_blanks(directory):
    casa = directory["casa"]
    assert hsds_uuid("organization", casa.hsds_id) == casa.hsds_id  # minted on creation
    Provider.objects.filter(pk=casa.pk).update(hsds_id="")
    ServiceLanguage.objects.update(hsds_id="")
    migration = importlib.import_module("referrals.migrations.0007_hsds_directory")
    migration.mint_missing_hsds_ids(apps, None)
    casa.refresh_from_db()
    assert hsds_uuid("organization", casa.hsds_id) == casa.hsds_id
    assert not ServiceLanguage.objects.filter(hsds_id="").exists()
    assert len(set(ServiceLanguage.objects.values_list("hsds_id", flat=True))) == 4
    assert Provider.objects.get(slug="old").hsds_id == "org-1"  # an imported id is kept


_PARAMS = (
    "page",
    "per_page",
    "search",
    "taxonomy_term_id",
    "taxonomy_id",
    "organization_id",
    "modified_after",
    "minimal",
    "full",
)


def test_any_query_is_answered_200_in_the_schema_or_400_never_5xx(api, directory):
    """Hypothesis over every parameter of `/hsds/services` at once, on a directory that has
    something to show (the schemathesis test of the OpenAPI schema runs on an empty one)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    values = st.one_of(
        st.text(max_size=12),
        st.integers(min_value=-5, max_value=10**12).map(str),
        st.sampled_from(
            [
                "true",
                "false",
                "1",
                "2026-11-20",
                "2026-11-20T10:00:00+05:00",
                directory["casa"].hsds_id,
                need_term_id("food"),
                NEEDS_TAXONOMY_ID,
            ]
        ),
    )

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.dictionaries(st.sampled_from(_PARAMS), values, max_size=4))
    def check(params: dict[str, str]) -> None:
        response = api.get("/hsds/services", params)
        assert response.status_code in (200, 400), (params, response.status_code)
        body = response.json()
        if response.status_code == 400:
            assert set(body["errors"]) <= {*_PARAMS, "non_field_errors"}
            return
        item_schema = (
            None
            if params.get("minimal") in ("true", "1")
            else "service.json"
            if params.get("full") in ("true", "1")
            else "service_list.json"
        )
        if item_schema is None:
            assert_valid("openapi:Page", body)
        else:
            assert_page(body, item_schema)

    check()
