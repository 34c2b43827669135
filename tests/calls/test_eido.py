"""calls.eido reads a NENA-STA-021 EIDO into the plain eligible-call body (API.md "Eligible
calls"). The fixtures are NENA's own sample, and that sample with an incident, a dispatch, a
HEART unit and an incident location added, checked against NENA's schema so that they are real
EIDOs and not only this reader's idea of one."""

from __future__ import annotations

import contextlib
import copy
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls.eido import EidoError, eido_to_body

# NENA's schema and sample, in the shared folder beside the project (a fresh clone has it at
# ../shared), or the machine's copy.
NENA = Path(__file__).resolve().parents[3] / "shared" / "data" / "nena-eido"
if not NENA.is_dir():
    NENA = Path("/work/shared/data/nena-eido")
FIXTURES = Path(__file__).resolve().parent / "eido"

HEART_AGENCY = "heart.city.example.gov"
CRT_3 = f"urn:emergency:uid:resourceid:crt-3:{HEART_AGENCY}"

# Every PIDF-LO here in the namespaces RFC 4119, 5139 and 5491 give it.
PIDF_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<presence xmlns="urn:ietf:params:xml:ns:pidf" '
    'xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" xmlns:gml="http://www.opengis.net/gml" '
    'xmlns:gs="http://www.opengis.net/pidflo/1.0" '
    'xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr" entity="pres:x@example.gov">'
    '<tuple id="t1"><status><gp:geopriv><gp:location-info>'
)
PIDF_CLOSE = "</gp:location-info><gp:usage-rules/></gp:geopriv></status></tuple></presence>"
POINT = '<gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>{pos}</gml:pos></gml:Point>'
CIVIC = (
    "<ca:civicAddress><ca:country>US</ca:country><ca:A1>DE</ca:A1><ca:A3>Wilmington</ca:A3>"
    "<ca:PRD>N</ca:PRD><ca:RD>King</ca:RD><ca:STS>Street</ca:STS><ca:HNO>1010</ca:HNO>"
    "<ca:HNS>B</ca:HNS></ca:civicAddress>"
)


def pidf(inner: str) -> str:
    return PIDF_OPEN + inner + PIDF_CLOSE


def _repaired(schema: Any) -> Any:
    """NENA's schema as meant: its AgentType says `minItems: 1,`, which YAML reads as the text
    "1,", and jsonschema cannot compare a length with a text."""
    if isinstance(schema, dict):
        return {
            key: int(value.rstrip(","))
            if key == "minItems" and isinstance(value, str)
            else _repaired(value)
            for key, value in schema.items()
        }
    if isinstance(schema, list):
        return [_repaired(item) for item in schema]
    return schema


@pytest.fixture(scope="module")
def eido_schema() -> dict[str, Any]:
    openapi = yaml.safe_load((NENA / "openapi.yaml").read_text())
    schema = {
        "$ref": "#/components/schemas/EmergencyIncidentDataObjectType",
        "components": _repaired(openapi["components"]),
    }
    jsonschema.Draft7Validator.check_schema(schema)
    return schema


@pytest.fixture
def assert_real_eido(eido_schema: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def check(document: dict[str, Any]) -> None:
        jsonschema.Draft7Validator(eido_schema).validate(document)

    return check


@pytest.fixture
def nena_sample() -> dict[str, Any]:
    return json.loads((NENA / "sample-call-transfer.json").read_text())


@pytest.fixture
def incident(assert_real_eido: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """NENA's sample plus an incident (a trespass, CAD code TRES), CRT-3 dispatched at 14:44
    and on scene at 14:58, and the incident's location by value (point and civic address)."""
    document = json.loads((FIXTURES / "incident-crt-on-scene.json").read_text())
    assert_real_eido(document)
    return document


def resource(
    name: str,
    *,
    component_id: str | None = None,
    agency: str = HEART_AGENCY,
    kind: str = "Other",
    internal_kind: str | None = None,
    status: str = "OnScene",
    updated: str = "2026-11-20T14:58:00.0-05:00",
) -> dict[str, Any]:
    """An emergency resource component with what the schema requires."""
    component: dict[str, Any] = {
        "$id": component_id or f"urn:emergency:uid:resourceid:{name}:{agency}",
        "lastUpdateTimeStamp": updated,
        "updatedByAgencyReference": {"$ref": agency},
        "agentReference": [{"$ref": "tjones.atroop@state.pa.us"}],
        "emergencyResourceTypeCommonRegistryText": kind,
        "resourceAttributeRegistryText": [],
        "emergencyResourceName": name,
        "primaryUnitStatusRegistryText": status,
        "secondaryUnitStatusRegistryText": [],
    }
    if internal_kind is not None:
        component["emergencyResourceTypeInternalText"] = internal_kind
    return component


def with_location(document: dict[str, Any], by_value: str) -> dict[str, Any]:
    document["locationComponent"][0]["locationByValue"] = by_value
    return document


# --- NENA's sample and the fixture -------------------------------------------------------------


def test_the_validator_refuses_what_is_not_an_eido(
    assert_real_eido: Callable[[dict[str, Any]], None], incident: dict[str, Any]
) -> None:
    """The schema check is a real one: an incident without its required type fails it."""
    del incident["incidentComponent"]["incidentTypeCommonRegistryText"]
    with pytest.raises(jsonschema.ValidationError):
        assert_real_eido(incident)


def test_nenas_sample_is_an_eido_and_is_refused_for_want_of_an_incident(
    nena_sample: dict[str, Any], assert_real_eido: Callable[[dict[str, Any]], None]
) -> None:
    assert_real_eido(nena_sample)
    with pytest.raises(EidoError) as caught:
        eido_to_body(nena_sample)
    assert caught.value.component == "incidentComponent"
    assert "incident component" in caught.value.message
    assert isinstance(caught.value, ValueError)


def test_an_incident_with_a_heart_unit_on_scene_reads_into_every_field(
    incident: dict[str, Any],
) -> None:
    assert eido_to_body(incident) == {
        "incident_number": "2026-112000123",
        "program": "CRT",
        "call_type": "Trespass",
        "received_at": "2026-11-20T14:40:00.0-05:00",
        "location": {
            "address": "800 Market Street, Wilmington, DE",
            "latitude": 39.739236,
            "longitude": -75.53974,
        },
        "outcome": "heart_responded",
        "other_responder": None,
        "dispatched_at": "2026-11-20T14:44:00.0-05:00",
        "arrived_at": "2026-11-20T14:58:00.0-05:00",
        "cleared_at": None,
        "updated_at": "2026-11-20T15:30:00.0-05:00",
    }


def test_the_earliest_call_is_when_the_incident_was_received(incident: dict[str, Any]) -> None:
    later = copy.deepcopy(incident["callComponent"][0])
    later["$id"] = "urn:emergency:uid:callid:second:bcf.state.pa.us"
    later["callStartTimestamp"] = "2026-11-20T14:50:00-05:00"
    earlier = copy.deepcopy(later)
    earlier["$id"] = "urn:emergency:uid:callid:first:bcf.state.pa.us"
    # Earlier in UTC, though its local clock reads later.
    earlier["callStartTimestamp"] = "2026-11-20T19:35:00Z"
    incident["callComponent"] += [later, earlier]
    assert eido_to_body(incident)["received_at"] == "2026-11-20T19:35:00Z"


# --- Units, program and outcome ----------------------------------------------------------------


def test_a_heart_unit_that_cleared_gives_its_clear_time(incident: dict[str, Any]) -> None:
    unit = incident["emergencyResourceComponent"][0]
    unit["primaryUnitStatusRegistryText"] = "Available"
    unit["lastUpdateTimeStamp"] = "2026-11-20T15:25:00-05:00"
    body = eido_to_body(incident)
    assert body["outcome"] == "heart_responded"
    assert body["dispatched_at"] == "2026-11-20T14:44:00.0-05:00"
    assert body["cleared_at"] == "2026-11-20T15:25:00-05:00"
    # A version 1.0 EIDO holds only the unit's current status: its arrival is no longer in it.
    assert body["arrived_at"] is None


def test_a_unit_en_route_without_a_dispatch_component_is_dated_by_its_status(
    incident: dict[str, Any],
) -> None:
    del incident["dispatchComponent"]
    unit = incident["emergencyResourceComponent"][0]
    unit["primaryUnitStatusRegistryText"] = "En Route"
    unit["lastUpdateTimeStamp"] = "2026-11-20T14:45:00-05:00"
    body = eido_to_body(incident)
    assert (body["dispatched_at"], body["arrived_at"], body["cleared_at"]) == (
        "2026-11-20T14:45:00-05:00",
        None,
        None,
    )


@override_settings(HEART_EIDO_UNIT_STATUSES={"10-97": "arrived"})
def test_the_unit_statuses_are_configuration(incident: dict[str, Any]) -> None:
    unit = incident["emergencyResourceComponent"][0]
    unit["primaryUnitStatusRegistryText"] = "10-97"
    assert eido_to_body(incident)["arrived_at"] == "2026-11-20T14:58:00.0-05:00"
    # The setting replaces the default table: OnScene no longer marks an arrival.
    unit["primaryUnitStatusRegistryText"] = "OnScene"
    assert eido_to_body(incident)["arrived_at"] is None


def test_the_program_is_the_heart_units_whatever_the_call_type(
    incident: dict[str, Any], assert_real_eido: Callable[[dict[str, Any]], None]
) -> None:
    incident["emergencyResourceComponent"][0]["emergencyResourceName"] = "COR-1"
    assert_real_eido(incident)
    body = eido_to_body(incident)
    assert (body["program"], body["outcome"]) == ("COR", "heart_responded")
    # Trespass is not on COR's list: the serializer refuses it, not this reader.
    assert body["call_type"] == "Trespass"


def test_a_unit_whose_name_only_contains_a_program_code_is_not_heart(
    incident: dict[str, Any],
) -> None:
    incident["emergencyResourceComponent"] = [
        resource("ENG-CRT-9", agency="fire.city.example.gov", kind="Fire")
    ]
    body = eido_to_body(incident)
    assert (body["outcome"], body["other_responder"]) == ("other_responder", "fire")


def test_a_cleared_time_waits_for_the_last_of_the_programs_units(
    incident: dict[str, Any],
) -> None:
    incident["emergencyResourceComponent"] = [
        resource("CRT-3", component_id=CRT_3, status="Cleared", updated="2026-11-20T15:20:00Z"),
        resource("CRT-5", status="OnScene", updated="2026-11-20T14:50:00-05:00"),
    ]
    body = eido_to_body(incident)
    assert body["arrived_at"] == "2026-11-20T14:50:00-05:00"
    assert body["cleared_at"] is None
    incident["emergencyResourceComponent"][1]["primaryUnitStatusRegistryText"] = "Available"
    incident["emergencyResourceComponent"][1]["lastUpdateTimeStamp"] = "2026-11-20T15:40:00Z"
    assert eido_to_body(incident)["cleared_at"] == "2026-11-20T15:40:00Z"


def test_only_police_on_the_call_is_other_responder_police(
    incident: dict[str, Any], assert_real_eido: Callable[[dict[str, Any]], None]
) -> None:
    del incident["dispatchComponent"]
    incident["emergencyResourceComponent"] = [
        resource("1A12", agency="pd.city.example.gov", kind="Law Enforcement")
    ]
    assert_real_eido(incident)
    body = eido_to_body(incident)
    assert body["outcome"] == "other_responder"
    assert body["other_responder"] == "police"
    # The one program whose eligible list holds a trespass.
    assert body["program"] == "CRT"
    # The times are a HEART unit's; the police unit's are not ours to report.
    assert (body["dispatched_at"], body["arrived_at"], body["cleared_at"]) == (None, None, None)


def test_a_responder_of_unknown_type_is_known_by_its_agency(incident: dict[str, Any]) -> None:
    incident["emergencyResourceComponent"] = [
        resource("1A12", agency="pd.city.example.gov", kind="Other", internal_kind="Patrol car")
    ]
    assert eido_to_body(incident)["other_responder"] == "police"


def test_police_is_named_before_ems_when_both_came(incident: dict[str, Any]) -> None:
    incident["agencyComponent"].append(
        {
            "$id": "ems.city.example.gov",
            "lastUpdateTimeStamp": "2026-11-20T14:40:00-05:00",
            "updatedByAgencyReference": {"$ref": "ems.city.example.gov"},
            "agencyRoleDescriptionRegistryText": ["Responding"],
            "agencyType": ["ems"],
        }
    )
    incident["emergencyResourceComponent"] = [
        resource("M7", agency="ems.city.example.gov", kind="Other"),
        resource("1A12", agency="pd.city.example.gov", kind="Other"),
    ]
    assert eido_to_body(incident)["other_responder"] == "police"


@override_settings(HEART_EIDO_OTHER_RESPONDERS={"Rescue Squad": "fire"})
def test_the_responder_types_are_configuration(incident: dict[str, Any]) -> None:
    incident["emergencyResourceComponent"] = [
        resource("R2", agency="rescue.example.gov", kind="rescue-squad")
    ]
    assert eido_to_body(incident)["other_responder"] == "fire"


def test_a_responder_that_is_neither_heart_nor_a_known_service_is_refused_by_name(
    incident: dict[str, Any],
) -> None:
    incident["emergencyResourceComponent"] = [
        resource("TOW-4", agency="state.pa.us", kind="Tow truck")
    ]
    with pytest.raises(EidoError) as caught:
        eido_to_body(incident)
    assert caught.value.component == "emergencyResourceComponent"
    assert "TOW-4" in caught.value.message


def test_no_unit_on_the_call_is_heart_unavailable(
    incident: dict[str, Any], assert_real_eido: Callable[[dict[str, Any]], None]
) -> None:
    del incident["dispatchComponent"]
    del incident["emergencyResourceComponent"]
    assert_real_eido(incident)
    body = eido_to_body(incident)
    assert (body["outcome"], body["other_responder"], body["program"]) == (
        "heart_unavailable",
        None,
        "CRT",
    )
    assert (body["dispatched_at"], body["arrived_at"], body["cleared_at"]) == (None, None, None)


def test_a_call_type_on_several_lists_goes_to_the_first_program_in_the_order(
    incident: dict[str, Any],
) -> None:
    del incident["emergencyResourceComponent"]
    incident["incidentComponent"]["incidentTypeInternalCode"] = "SUIT"
    body = eido_to_body(incident)
    assert (body["call_type"], body["program"]) == ("Suicide threat", "CRT")
    with override_settings(HEART_EIDO_PROGRAM_ORDER=("CCD", "CRT", "COR")):
        assert eido_to_body(incident)["program"] == "CCD"


@override_settings(HEART_EIDO_CALL_TYPES={"415V": "Verbal disturbance"})
def test_the_cad_codes_are_configuration(incident: dict[str, Any]) -> None:
    incident["incidentComponent"]["incidentTypeInternalCode"] = "415V"
    assert eido_to_body(incident)["call_type"] == "Verbal disturbance"
    # The setting replaces the default table, not adds to it.
    incident["incidentComponent"]["incidentTypeInternalCode"] = "TRES"
    assert eido_to_body(incident)["call_type"] == "Trespassing - no weapon"


def test_an_unmapped_incident_type_passes_through_as_its_text(incident: dict[str, Any]) -> None:
    incident["incidentComponent"]["incidentTypeInternalCode"] = "DOG"
    incident["incidentComponent"]["incidentTypeInternalText"] = "Barking dog"
    body = eido_to_body(incident)
    assert (body["call_type"], body["program"]) == ("Barking dog", "CRT")


def test_a_call_type_our_own_text_needs_no_mapping(incident: dict[str, Any]) -> None:
    del incident["incidentComponent"]["incidentTypeInternalCode"]
    incident["incidentComponent"]["incidentTypeInternalText"] = "Panhandling / nuisance"
    assert eido_to_body(incident)["call_type"] == "Panhandling / nuisance"


def test_an_unmapped_type_without_a_heart_unit_has_no_program(incident: dict[str, Any]) -> None:
    del incident["emergencyResourceComponent"]
    incident["incidentComponent"]["incidentTypeInternalCode"] = "DOG"
    incident["incidentComponent"]["incidentTypeInternalText"] = "Barking dog"
    with pytest.raises(EidoError) as caught:
        eido_to_body(incident)
    assert caught.value.component == "incidentComponent"
    assert "Barking dog" in caught.value.message


# --- Location ----------------------------------------------------------------------------------


def test_a_civic_address_alone_gives_an_address_without_coordinates(
    incident: dict[str, Any],
) -> None:
    body = eido_to_body(with_location(incident, pidf(CIVIC)))
    assert body["location"] == {
        "address": "1010 B N King Street, Wilmington, DE",
        "latitude": None,
        "longitude": None,
    }


def test_a_point_alone_gives_coordinates_without_an_address(incident: dict[str, Any]) -> None:
    body = eido_to_body(with_location(incident, pidf(POINT.format(pos="39.7447 -75.5484"))))
    assert body["location"] == {"address": "", "latitude": 39.7447, "longitude": -75.5484}


def test_a_circle_gives_its_centre(incident: dict[str, Any]) -> None:
    circle = (
        '<gs:Circle srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>39.7 -75.5</gml:pos>'
        '<gs:radius uom="urn:ogc:def:uom:EPSG::9001">50</gs:radius></gs:Circle>'
    )
    body = eido_to_body(with_location(incident, pidf(circle)))
    assert (body["location"]["latitude"], body["location"]["longitude"]) == (39.7, -75.5)


def test_the_incidents_own_location_comes_before_the_calls(incident: dict[str, Any]) -> None:
    """The fixture's first location is the incident's; moved last, it is still the one used
    over NENA's routing location (the caller's Wilmington address)."""
    incident["locationComponent"].append(incident["locationComponent"].pop(0))
    assert eido_to_body(incident)["location"]["address"] == "800 Market Street, Wilmington, DE"
    incident["incidentComponent"]["locationReference"] = []
    assert eido_to_body(incident)["location"]["address"] == "42 W Cellular Street, Wilmington, DE"


def test_a_location_by_reference_is_never_fetched_and_is_ignored(
    incident: dict[str, Any],
    assert_real_eido: Callable[[dict[str, Any]], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the reader opened a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    by_reference = [c for c in incident["locationComponent"] if "locationByReferenceUrl" in c]
    assert by_reference, "NENA's sample has a location by reference"
    incident["locationComponent"] = by_reference
    assert_real_eido(incident)
    assert "location" not in eido_to_body(incident)


def test_no_location_component_is_no_location(incident: dict[str, Any]) -> None:
    del incident["locationComponent"]
    del incident["incidentComponent"]["locationReference"]
    assert "location" not in eido_to_body(incident)


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">'
        for n in range(1, 10)
    )
    + ']><presence xmlns="urn:ietf:params:xml:ns:pidf">&lol9;</presence>'
)


def test_a_billion_laughs_is_refused_fast_and_never_expanded(incident: dict[str, Any]) -> None:
    started = time.monotonic()
    with pytest.raises(EidoError) as caught:
        eido_to_body(with_location(incident, BILLION_LAUGHS))
    assert time.monotonic() - started < 1
    assert caught.value.component == "locationComponent.locationByValue"
    assert "DTD" in caught.value.message


@pytest.mark.parametrize(
    "document",
    [
        # An external entity: a file on this machine, and one over the network.
        '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<presence xmlns="urn:ietf:params:xml:ns:pidf">&x;</presence>',
        '<?xml version="1.0"?><!DOCTYPE p SYSTEM "http://127.0.0.1:9/pidf.dtd">'
        '<presence xmlns="urn:ietf:params:xml:ns:pidf"/>',
        # A DTD with no entity at all is refused too.
        '<?xml version="1.0"?><!DOCTYPE presence><presence xmlns="urn:ietf:params:xml:ns:pidf"/>',
    ],
    ids=["external-file-entity", "external-dtd", "plain-dtd"],
)
def test_a_dtd_of_any_kind_is_refused(incident: dict[str, Any], document: str) -> None:
    with pytest.raises(EidoError) as caught:
        eido_to_body(with_location(incident, document))
    assert caught.value.component == "locationComponent.locationByValue"
    assert "DTD" in caught.value.message


@pytest.mark.parametrize(
    ("by_value", "words"),
    [
        ("<presence", "Not well-formed"),
        ("", "Not well-formed"),
        ('<?xml version="1.0" encoding="bogus"?><a/>', "Not a PIDF-LO"),
        ("<location><pos>1 2</pos></location>", "Not a PIDF-LO"),
        (pidf(POINT.format(pos="north west")), "not numbers"),
        (pidf(POINT.format(pos="39.7")), "latitude longitude"),
        (pidf(POINT.format(pos="nan 1")), "latitude longitude"),
        (pidf(POINT.format(pos="39.7 -75.5 10 4")), "latitude longitude"),
        (pidf(POINT.format(pos="95 39.7")), "not a latitude"),
        (
            pidf(
                '<gml:Point srsName="urn:ogc:def:crs:EPSG::3857"><gml:pos>1 2</gml:pos></gml:Point>'
            ),
            "reference system",
        ),
        (pidf("<gml:Point/>"), "without a gml:pos"),
        (pidf(CIVIC) + "x" * 100_000, "Too long"),
    ],
)
def test_a_malformed_pidf_lo_is_refused_naming_the_location(
    incident: dict[str, Any], by_value: str, words: str
) -> None:
    with pytest.raises(EidoError) as caught:
        eido_to_body(with_location(incident, by_value))
    assert caught.value.component == "locationComponent.locationByValue"
    assert words in caught.value.message


# --- Malformed EIDOs ---------------------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = document
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        key: Any = int(last) if last.isdigit() else last
        if value is _DELETE:
            del target[key]
        else:
            target[key] = value

    return change


_DELETE = object()


@pytest.mark.parametrize(
    ("change", "component"),
    [
        (_set("eidoVersion", _DELETE), "eidoVersion"),
        (_set("eidoVersion", "2.0"), "eidoVersion"),
        (_set("lastUpdateTimeStamp", "yesterday"), "lastUpdateTimeStamp"),
        (_set("lastUpdateTimeStamp", "2026-11-20T15:30:00"), "lastUpdateTimeStamp"),
        (_set("lastUpdateTimeStamp", 1_700_000_000), "lastUpdateTimeStamp"),
        (_set("incidentComponent", []), "incidentComponent"),
        (_set("incidentComponent", "2026-112000123"), "incidentComponent"),
        (
            _set("incidentComponent.internalIncidentId", _DELETE),
            "incidentComponent.internalIncidentId",
        ),
        (
            _set("incidentComponent.internalIncidentId", "  "),
            "incidentComponent.internalIncidentId",
        ),
        (_set("incidentComponent.internalIncidentId", 123), "incidentComponent.internalIncidentId"),
        (
            _set("incidentComponent.incidentTypeInternalCode", ["TRES"]),
            "incidentComponent.incidentTypeInternalCode",
        ),
        (_set("incidentComponent.incidentTypeInternalCode", _DELETE), None),
        (
            _set("incidentComponent.locationReference", {"$ref": "x"}),
            "incidentComponent.locationReference",
        ),
        (_set("incidentComponent.locationReference", ["x"]), "incidentComponent.locationReference"),
        (_set("callComponent", _DELETE), "callComponent"),
        (_set("callComponent", []), "callComponent"),
        (_set("callComponent", {"callStartTimestamp": "2026-11-20T14:40:00Z"}), "callComponent"),
        (_set("callComponent.0", "call"), "callComponent"),
        (_set("callComponent.0.callStartTimestamp", _DELETE), "callComponent.callStartTimestamp"),
        (
            _set("callComponent.0.callStartTimestamp", "2026-13-45T14:40:00Z"),
            "callComponent.callStartTimestamp",
        ),
        (_set("callComponent.0.callStartTimestamp", None), "callComponent.callStartTimestamp"),
        (_set("emergencyResourceComponent", {"name": "CRT-3"}), "emergencyResourceComponent"),
        (_set("emergencyResourceComponent.0", ["CRT-3"]), "emergencyResourceComponent"),
        (
            _set("emergencyResourceComponent.0.emergencyResourceName", {"text": "CRT-3"}),
            "emergencyResourceComponent.emergencyResourceName",
        ),
        (
            _set("emergencyResourceComponent.0.lastUpdateTimeStamp", "soon"),
            "emergencyResourceComponent.lastUpdateTimeStamp",
        ),
        (_set("emergencyResourceComponent.0.$id", _DELETE), "emergencyResourceComponent.$id"),
        (
            _set("dispatchComponent.0.emergencyResourceReference", [CRT_3]),
            "dispatchComponent.emergencyResourceReference",
        ),
        (
            _set("dispatchComponent.0.lastUpdateTimeStamp", _DELETE),
            "dispatchComponent.lastUpdateTimeStamp",
        ),
        (_set("agencyComponent", "state.pa.us"), "agencyComponent"),
        (_set("locationComponent", {"locationByValue": "<presence/>"}), "locationComponent"),
        (_set("locationComponent.0", None), "locationComponent"),
        (
            _set("locationComponent.0.locationByValue", {"xml": "<presence/>"}),
            "locationComponent.locationByValue",
        ),
    ],
)
def test_a_malformed_eido_is_refused_naming_the_component(
    incident: dict[str, Any], change: Callable[[dict[str, Any]], None], component: str | None
) -> None:
    change(incident)
    if component is None:
        # Not malformed: the type's text stands in for the code.
        assert eido_to_body(incident)["call_type"] == "Trespassing - no weapon"
        return
    with pytest.raises(EidoError) as caught:
        eido_to_body(incident)
    assert caught.value.component == component
    assert caught.value.message


def test_the_police_resources_agency_type_must_be_a_list_of_texts(
    incident: dict[str, Any],
) -> None:
    incident["agencyComponent"][-1]["agencyType"] = "police"
    incident["emergencyResourceComponent"] = [resource("1A12", agency="pd.city.example.gov")]
    with pytest.raises(EidoError) as caught:
        eido_to_body(incident)
    assert caught.value.component == "agencyComponent.agencyType"


@pytest.mark.parametrize("document", [None, [], "eido", 3, [{"eidoVersion": "1.0"}]])
def test_a_body_that_is_not_an_object_is_refused(document: Any) -> None:
    with pytest.raises(EidoError) as caught:
        eido_to_body(document)
    assert caught.value.component == "EIDO"


# Any JSON value, to put where the fixture has something else.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


FIXTURE = json.loads((FIXTURES / "incident-crt-on-scene.json").read_text())
FIXTURE_PATHS = _paths(FIXTURE)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.lists(st.tuples(st.sampled_from(FIXTURE_PATHS), json_values), min_size=1, max_size=3)
)
def test_any_part_replaced_by_any_json_is_read_or_refused_with_an_eido_error(
    changes: list[tuple[tuple[Any, ...], Any]],
) -> None:
    document = copy.deepcopy(FIXTURE)
    for path, value in changes:
        # An earlier change may have replaced the path's parent; then this one does nothing.
        with contextlib.suppress(LookupError, TypeError):
            target: Any = document
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = value
    refused: EidoError | None = None
    try:
        body = eido_to_body(document)
    except EidoError as error:
        refused = error
    if refused is not None:
        assert refused.component
        assert refused.message
    else:
        assert set(body) >= {"incident_number", "program", "call_type", "outcome", "updated_at"}
