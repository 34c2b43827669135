"""`manage.py import_hsds FILE.json`: HSDS 3.0 JSON (one service or organization, a list, or an
HSDS API page) into the directory, with the CSV package's guarantees; and the round trip: the
whole directory read out through `/hsds/` and imported into an empty one is the same."""

from __future__ import annotations

import copy
import json
import os
import uuid
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from referrals.hsds import MAX_JSON_BYTES, need_term_id
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
from tests.referrals.test_hsds_api import assert_valid, directory  # noqa: F401

pytestmark = pytest.mark.django_db

ORG = "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610"
SERVICE = "ac148810-d857-441c-9679-408f346de14b"
LOCATION = "3a19ff88-4620-4d17-9830-ac1d859eb5d5"


def run(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("import_hsds", str(path), "--no-progress", *args, stdout=out)
    return out.getvalue()


def dump(tmp_path: Path, data: Any, name: str = "directory.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def a_service(**changes: Any) -> dict[str, Any]:
    service: dict[str, Any] = {
        "id": SERVICE,
        "name": "Community Counselling",
        "description": "Talking therapy for adults",
        "status": "active",
        "email": "help@example.org",
        "organization": {
            "id": ORG,
            "name": "Example Organization Inc.",
            "description": "A charity",
            "website": "https://example.org/",
        },
        "phones": [
            {
                "id": "1554f2e2-a373-45db-a3fa-9fc48a61c15e",
                "number": "+1 919 555 0142",
                "extension": 100,
                "type": "voice",
            }
        ],
        "schedules": [
            {
                "id": "48102e86-bb50-41c4-8f1e-e269368c41d1",
                "freq": "WEEKLY",
                "byday": "TH,FR",
                "opens_at": "10:00:00",
                "closes_at": "18:00",
                "valid_from": "2026-01-01",
                "description": "Not on public holidays",
            }
        ],
        "languages": [
            {"id": "7a2c1d8e-6b2f-4f7a-9d55-1c3b2e6f0a11", "name": "Spanish", "code": "es"},
            {"id": "7a2c1d8e-6b2f-4f7a-9d55-1c3b2e6f0a12", "name": "English", "code": "en"},
        ],
        "service_at_locations": [
            {
                "id": "e94c9f38-1e8f-4564-91d4-d53501ab1765",
                "location": {
                    "id": LOCATION,
                    "location_type": "physical",
                    "name": "Main office",
                    "latitude": 35.9961,
                    "longitude": -78.8886,
                    "addresses": [
                        {
                            "id": "74706e55-df26-4b84-80fe-ecc30b5befb4",
                            "address_1": "412 N Alston Ave",
                            "address_2": "Suite 2",
                            "city": "Durham",
                            "state_province": "NC",
                            "postal_code": "27701",
                            "country": "US",
                            "address_type": "physical",
                        }
                    ],
                },
            }
        ],
        "attributes": [
            {
                "id": "0f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
                "taxonomy_term": {
                    "id": "11111111-2222-4333-8444-555555555555",
                    "code": "RP-1400",
                    "name": "Mental Health Care",
                    "description": "x",
                },
            }
        ],
    }
    service.update(changes)
    return service


def test_one_service_object_with_everything_nested(roles, tmp_path):
    assert_valid("service.json", a_service())  # the input is the specification's shape
    out = run(dump(tmp_path, a_service()))
    service = Service.objects.get()
    assert service.hsds_id == SERVICE
    assert service.name == "Community Counselling"
    assert service.category == "mental_health"  # AIRS RP-: mental health
    assert service.accepting_referrals
    assert service.phone == "+1 919 555 0142 x100"
    assert service.hours == "Thu, Fri 10:00–18:00"
    provider = Provider.objects.get()
    assert (provider.hsds_id, provider.slug) == (ORG, "example-organization-inc")
    assert provider.website == "https://example.org/"
    phone = Phone.objects.get()
    assert (phone.service, phone.number, phone.extension, phone.type) == (
        service,
        "+1 919 555 0142",
        100,
        "voice",
    )
    schedule = Schedule.objects.get()
    assert (schedule.freq, schedule.byday, str(schedule.opens_at), str(schedule.valid_from)) == (
        "WEEKLY",
        "TH,FR",
        "10:00:00",
        "2026-01-01",
    )
    assert sorted(ServiceLanguage.objects.values_list("code", "name")) == [
        ("en", "English"),
        ("es", "Spanish"),
    ]
    location = Location.objects.get()
    assert (location.hsds_id, location.provider, location.name) == (
        LOCATION,
        provider,
        "Main office",
    )
    assert location.address == "412 N Alston Ave, Suite 2, Durham, NC, 27701"
    address = Address.objects.get()
    assert (address.city, address.state_province, address.postal_code, address.country) == (
        "Durham",
        "NC",
        "27701",
        "US",
    )
    assert ServiceLocation.objects.get().hsds_id == "e94c9f38-1e8f-4564-91d4-d53501ab1765"
    assert "Services: 1 created" in out
    assert "Phones: 1 created" in out
    history = service.history.earliest()
    assert history.history_user.username == "system:referrals.import_hsds"
    assert history.history_change_reason == "HSDS import from directory.json"


def test_reimporting_updates_by_uuid_and_follows_the_source(roles, tmp_path):
    path = dump(tmp_path, [a_service()])
    run(path)
    service = Service.objects.get()
    versions = service.history.count()
    unchanged = run(path)
    assert "Services: 0 created, 0 updated, 1 unchanged." in unchanged
    assert "Phones: 0 created, 0 updated, 1 unchanged." in unchanged
    assert service.history.count() == versions

    changed = a_service(name="Counselling for adults", status="inactive", languages=[])
    changed["phones"][0]["number"] = "+1 919 555 0199"
    changed["schedules"] = []
    changed["service_at_locations"][0]["location"]["addresses"][0]["city"] = "Chapel Hill"
    out = run(dump(tmp_path, [changed]))
    assert "Services: 0 created, 1 updated, 0 unchanged." in out
    assert Service.objects.count() == Provider.objects.count() == Location.objects.count() == 1
    service.refresh_from_db()
    assert service.name == "Counselling for adults"
    assert not service.accepting_referrals
    assert service.phone == "+1 919 555 0199 x100"
    assert service.hours == ""
    assert not Schedule.objects.exists()
    assert Address.objects.get().city == "Chapel Hill"
    # No language listed: English, as the CSV path takes it.
    assert list(ServiceLanguage.objects.values_list("code", flat=True)) == ["en"]
    assert "Languages: 0 created, 0 updated, 1 unchanged, 1 removed." in out


def test_an_organization_with_its_locations_and_services(roles, tmp_path):
    service = a_service()
    service.pop("organization")
    location = service["service_at_locations"][0]["location"]
    organization = {
        "id": ORG,
        "name": "Example Organization Inc.",
        "description": "A charity",
        "phones": [{"id": "2554f2e2-a373-45db-a3fa-9fc48a61c15e", "number": "+1 919 555 0100"}],
        "locations": [location],
        "services": [service],
    }
    assert_valid("organization.json", organization)
    run(dump(tmp_path, organization))
    provider = Provider.objects.get()
    assert provider.phone == "+1 919 555 0100"
    assert Service.objects.get().provider == provider
    assert Location.objects.get().provider == provider
    assert Phone.objects.get(provider=provider).number == "+1 919 555 0100"


def test_bad_records_are_reported_by_json_path_and_the_rest_imported(roles, tmp_path):
    good = a_service()
    other_id = str(uuid.uuid4())
    records = [
        good,
        "junk",
        {"id": "not-a-uuid", "name": "X", "status": "active", "organization_id": ORG},
        {"id": other_id, "name": 42, "status": "active", "organization_id": ORG},
        {
            "id": str(uuid.uuid4()),
            "name": "Orphan",
            "status": "active",
            "organization_id": str(uuid.uuid4()),
        },
        {
            "id": str(uuid.uuid4()),
            "name": "Odd",
            "status": "sleeping",
            "organization_id": ORG,
            "email": "not-an-email",
            "phones": "none",
            "schedules": [
                {
                    "id": str(uuid.uuid4()),
                    "opens_at": "25:99",
                    "byday": "XX",
                    "freq": "DAILY",
                    "valid_from": "soon",
                    "interval": -1,
                }
            ],
            "languages": [{"id": str(uuid.uuid4()), "code": "!!"}],
            "service_at_locations": [
                {
                    "id": str(uuid.uuid4()),
                    "location": {
                        "id": str(uuid.uuid4()),
                        "latitude": 100,
                        "longitude": "east",
                        "addresses": [
                            {"id": str(uuid.uuid4()), "address_1": "1 Main St"},
                            {
                                "id": str(uuid.uuid4()),
                                "address_1": "2 Main St",
                                "city": "D",
                                "state_province": "NC",
                                "postal_code": "1",
                                "country": "USA",
                                "address_type": "home",
                            },
                        ],
                    },
                }
            ],
        },
        {"neither": "kind"},
        [1, 2],
        None,
    ]
    out = run(dump(tmp_path, records))
    assert sorted(Service.objects.values_list("name", flat=True)) == [
        "Community Counselling",
        "Odd",
    ]
    for expected in (
        "directory.json $[1]: not an object but a string",
        "directory.json $[2]: service id 'not-a-uuid' is not a UUID",
        "directory.json $[3]: service name is a number, not a string",
        "directory.json $[4]: organization ",
        "is not in this file nor imported before",
        "directory.json $[5].status: 'sleeping' is not an HSDS status; read as active",
        "directory.json $[5].email: 'not-an-email' is not an email address; left out",
        "directory.json $[5].phones: a string, not a list; not used",
        "directory.json $[5].schedules[0].opens_at: '25:99' is not a time of day",
        "directory.json $[5].schedules[0].byday: 'XX' is not a list of weekday codes",
        "directory.json $[5].schedules[0].freq: 'DAILY' is not WEEKLY or MONTHLY",
        "directory.json $[5].schedules[0].valid_from: 'soon' is not a date",
        "directory.json $[5].schedules[0].interval: -1 is not a whole number",
        "directory.json $[5].languages[0]: no usable language code",
        "directory.json $[5].service_at_locations[0].location: coordinates 100, 'east' are not",
        "directory.json $[5].service_at_locations[0].location.addresses[0]: address has no city",
        "addresses[1].country: 'USA' is not a two-letter country code; read as US",
        "addresses[1].address_type: 'home' is not physical, postal or virtual",
        "directory.json $[6]: neither a service",
        "directory.json $[7]: not an object but a list",
        "directory.json $[8]: not an object but null",
    ):
        assert expected in out, expected
    odd = Service.objects.get(name="Odd")
    assert odd.email == ""
    assert Schedule.objects.get(service=odd).opens_at is None
    assert Address.objects.filter(location__services=odd).get().country == "US"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "is not valid JSON: Expecting property name"),
        (b"\xff\xfe\x00junk", "is not UTF-8 text"),
        (b'"just a string"', None),
        (b"[]", None),
        (b"[" * 100_000 + b"]" * 100_000, None),
    ],
)
def test_files_that_are_not_hsds_json_never_crash(roles, tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    if message:
        with pytest.raises(CommandError, match=message):
            run(path)
    else:
        try:
            out = run(path)
        except CommandError as exc:
            problem = str(exc)
        else:
            problem = ""
            assert "Services: 0 created" in out
        assert problem in ("", "bad.json cannot be read (RecursionError).")
    assert not Service.objects.exists()


def test_a_huge_file_or_a_link_is_refused_before_reading(roles, tmp_path):
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:
        handle.truncate(MAX_JSON_BYTES + 1)  # sparse: no disk used
    with pytest.raises(CommandError, match="files over 64 MB are not read"):
        run(huge)
    real = dump(tmp_path, a_service(), "real.json")
    link = tmp_path / "link.json"
    os.symlink(real, link)
    with pytest.raises(CommandError, match="is a link"):
        run(link)
    with pytest.raises(CommandError, match="is not a file"):
        run(tmp_path / "missing.json")
    assert not Service.objects.exists()


def test_dry_run_changes_nothing(roles, tmp_path):
    out = run(dump(tmp_path, a_service()), "--dry-run")
    assert "Dry run: nothing was changed." in out
    assert "Services: 1 created" in out
    assert not Service.objects.exists()
    assert not Provider.objects.exists()


# --- the round trip ------------------------------------------------------------------------


def _read_all(api: Any, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        response = api.get(path, {**params, "page": page, "per_page": 2})
        assert response.status_code == 200
        body = response.json()
        items += body["contents"]
        if body["last_page"]:
            return items
        page += 1


def _comparable(services: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What must survive: everything but the modification times."""
    kept = copy.deepcopy(services)
    for service in kept:
        service.pop("last_modified")
    return sorted(kept, key=lambda s: s["id"])


@pytest.mark.usefixtures("directory")
def test_the_whole_directory_read_out_and_imported_into_an_empty_one(make_staff, tmp_path):
    """The "done when" of issue 17: through `/hsds/` (every page), into an empty directory
    with `import_hsds`, and the same services come back."""
    api = as_user(make_staff("round-trip", "supervisor")[0])
    run(dump(tmp_path, a_service(), "first.json"))  # and an imported one, with a non-UUID id
    ServiceLanguage.objects.create(service=Service.objects.get(name="Legal aid"), code="fr")
    services = _read_all(api, "/hsds/services", full="true")
    organizations = _read_all(api, "/hsds/organizations", full="true", full_service="true")
    assert len(services) == 5
    assert len(organizations) == 4
    for service in services:
        assert_valid("service.json", service)
    for organization in organizations:
        assert_valid("organization.json", organization)
    exported = dump(tmp_path, organizations, "export.json")

    Service.objects.all().delete()
    Location.objects.all().delete()
    Phone.objects.all().delete()
    Provider.objects.all().delete()
    assert not Service.objects.exists()
    assert not Address.objects.exists()

    out = run(exported)
    assert "Rows not used: 0." in out, out
    assert _comparable(_read_all(api, "/hsds/services", full="true")) == _comparable(services)
    again = _read_all(api, "/hsds/organizations", full="true", full_service="true")
    for before, after in zip(organizations, again, strict=True):
        assert before["phones"] == after["phones"]
        assert before["locations"] == after["locations"]
        assert _comparable(before["services"]) == _comparable(after["services"])
        assert {k: v for k, v in before.items() if k not in ("services",)} == {
            k: v for k, v in after.items() if k not in ("services",)
        }
    # And what the directory shows in one line follows from the structured rows.
    counseling = Service.objects.get(name="Counseling en español")
    assert counseling.phone == "+1 919 555 0109 x12"
    assert counseling.hours == "Mon, Tue 09:00–17:00"
    assert counseling.category == "mental_health"
    assert Location.objects.get(name="Casa East").address.startswith("412 N Alston Ave")
    assert Service.objects.get(name="Legal aid").category == "legal"
    assert need_term_id("legal") in json.dumps(again)
    again = run(exported)
    assert "Services: 0 created, 0 updated, 5 unchanged." in again


def test_the_csv_example_keeps_its_structure_and_serves_valid_hsds(roles, make_staff):
    """The CSV path keeps addresses, phones and schedules in HSDS fields too."""
    from tests.referrals.test_import_hsds import EXAMPLE
    from tests.referrals.test_import_hsds import run as run_csv

    out = run_csv(EXAMPLE)
    address = Address.objects.get()
    assert (address.address_1, address.city, address.region, address.country) == (
        "1-30 Main Street",
        "MyCity",
        "MyRegion",
        "US",
    )
    assert address.address_type == "postal"
    phone = Phone.objects.get()
    assert (phone.number, phone.extension, phone.type) == ("+44 1234 234567", 100, "voice")
    assert phone.service is not None
    assert phone.provider is not None
    schedule = Schedule.objects.get()
    assert (schedule.freq, schedule.byday, str(schedule.opens_at)) == (
        "WEEKLY",
        "TH,FR",
        "10:00:00",
    )
    assert schedule.location is not None
    assert "Schedules: 1 created" in out

    api = as_user(make_staff("csv-reader", "peer")[0])
    body = api.get(f"/hsds/services/{SERVICE}").json()
    assert_valid("service.json", body)
    assert body["phones"][0]["extension"] == 100
    assert body["service_at_locations"][0]["location"]["addresses"][0]["region"] == "MyRegion"
    assert body["schedules"][0]["byday"] == "TH,FR"
    organization = api.get(f"/hsds/organizations/{ORG}").json()
    assert_valid("organization.json", organization)
    again = run_csv(EXAMPLE)
    assert "Schedules: 0 created, 0 updated, 1 unchanged." in again


def test_an_api_page_of_organizations_imports_as_it_is(roles, tmp_path):
    """What `/hsds/organizations` answers (a `Page` of `organization_list` objects) is input."""
    page = {
        "total_items": 2,
        "total_pages": 1,
        "page_number": 1,
        "size": 2,
        "first_page": True,
        "last_page": True,
        "empty": False,
        "contents": [
            {"id": ORG, "name": "Example Organization Inc.", "description": "A charity"},
            {"id": ORG.upper(), "name": "", "description": "no name"},
        ],
    }
    out = run(dump(tmp_path, page))
    assert Provider.objects.get().hsds_id == ORG
    assert "directory.json $.contents[1]: organization has no name" in out
    assert "Providers: 1 created" in out


def test_numbers_json_allows_but_the_directory_cannot_use_are_corrections(roles, tmp_path):
    """NaN and infinities (Python's json reads them) as coordinates or an extension."""
    service = a_service()
    service["phones"][0]["extension"] = float("inf")
    location = service["service_at_locations"][0]["location"]
    location["latitude"], location["longitude"] = float("nan"), float("-inf")
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(service))  # json.dumps writes NaN and -Infinity
    out = run(path)
    assert "odd.json $.phones[0].extension: inf is not a whole number; left out" in out
    assert "location: coordinates nan, -inf are not numbers; left out" in out
    assert Phone.objects.get().extension is None
    assert Location.objects.get().latitude is None


def test_a_csv_package_with_nan_coordinates_does_not_crash(roles, tmp_path):
    (tmp_path / "organizations.csv").write_text("id,name\norg-1,Org\n")
    (tmp_path / "services.csv").write_text("id,organization_id,name\nsvc-1,org-1,Food pantry\n")
    (tmp_path / "locations.csv").write_text(
        "id,organization_id,name,latitude,longitude\nloc-1,org-1,Site,NaN,NaN\n"
    )
    out = run(tmp_path)
    assert "locations.csv row 2: coordinates NaN, NaN are outside the globe's range" in out
    assert Location.objects.get().latitude is None
