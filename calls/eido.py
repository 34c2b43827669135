"""Read a NENA-STA-021 Emergency Incident Data Object (EIDO, JSON) into one eligible call.

The CAD may post an EIDO instead of the plain eligible-call body (API.md "Eligible calls").
`eido_to_body` turns it into that plain body, so that one serializer judges both: this module
says what the EIDO holds, not whether it is acceptable (an unmapped call type passes through
and the serializer refuses it). What cannot be read at all is an `EidoError` naming the
component, never another exception.

An EIDO is a snapshot: version 1.0 holds no history of a unit's statuses, only its current
status as of the resource component's `lastUpdateTimeStamp`, and the dispatch components that
sent it. The unit's times are read from those.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import defusedxml
import defusedxml.ElementTree as SafeET
from django.conf import settings
from django.utils.dateparse import parse_datetime

from heart_cases.models import ELIGIBLE_CALL_TYPES, Program

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element


class EidoError(ValueError):
    """An EIDO this system cannot read; `component` is the EIDO path at fault."""

    def __init__(self, component: str, message: str) -> None:
        super().__init__(f"{component}: {message}")
        self.component = component
        self.message = message


# The CAD's incident type codes (incidentTypeInternalCode) → our call types, used when the
# setting HEART_EIDO_CALL_TYPES is absent. A CAD that sends our own call-type text needs no
# entry: an unmapped type passes through as its text.
DEFAULT_CALL_TYPES: dict[str, str] = {
    "MH": "Mental health crisis",
    "MHNV": "Nonviolent mental health crisis",
    "MHW": "Mental health crisis – violent / weapon",
    "SUIT": "Suicide threat",
    "SUIA": "Attempted suicide",
    "TRES": "Trespass",
    "TRESW": "Trespass with weapon",
    "INTOX": "Intoxicated person",
    "INTOXW": "Intoxicated person w/ weapon",
    "LOST": "Lost person (assist)",
    "CUST": "Custody issue (assist)",
    "PANH": "Panhandling / nuisance",
    "PANHW": "Panhandling / nuisance w/ weapon",
    "INDC": "Indecency / lewdness",
    "INDCW": "Indecency / lewdness w/ weapon",
    "PROS": "Prostitution",
    "PROSW": "Prostitution w/ weapon",
    "WELF": "Nonurgent and urgent welfare check",
    "DISV": "Verbal disturbance",
    "DISP": "Physical disturbance",
    "DISW": "Disturbance w/ weapon",
    "HARA": "Harassment",
    "HARAW": "Harassment w/ weapon",
    "THRT": "Threat",
    "THRTW": "Threat w/ weapon",
    "RECK": "Reckless activity",
    "ABUS": "Abuse",
    "DV": "Domestic violence",
    "DVW": "Domestic violence w/ weapon",
    "DRUG": "Drugs",
    "INVOL": "Involuntary commitment",
}

# Which program takes a call type held by several programs' eligible lists, when no HEART unit
# says (setting HEART_EIDO_PROGRAM_ORDER).
DEFAULT_PROGRAM_ORDER: tuple[str, ...] = ("CRT", "CCD", "COR")

# A resource's type (emergencyResourceTypeCommonRegistryText or ...InternalText) or its agency's
# type (agencyType, IANA urn:emergency:service:responder, first label) → the other service it
# is; compared without case, spaces, hyphens or underscores (setting
# HEART_EIDO_OTHER_RESPONDERS).
DEFAULT_OTHER_RESPONDERS: dict[str, str] = {
    "police": "police",
    "lawenforcement": "police",
    "sheriff": "police",
    "fire": "fire",
    "firedepartment": "fire",
    "ems": "ems",
    "ambulance": "ems",
}

# When several other services were on a call, the one named: police first, since the programs
# are measured by the police calls they divert.
_OTHER_RESPONDER_PRIORITY = ("police", "ems", "fire")

# A unit's primaryUnitStatusRegistryText → the step its status time marks, compared like the
# responder types above (setting HEART_EIDO_UNIT_STATUSES).
DEFAULT_UNIT_STATUSES: dict[str, str] = {
    "dispatched": "dispatched",
    "assigned": "dispatched",
    "enroute": "dispatched",
    "responding": "dispatched",
    "onscene": "arrived",
    "arrived": "arrived",
    "atscene": "arrived",
    "transporting": "arrived",
    "athospital": "arrived",
    "cleared": "cleared",
    "available": "cleared",
    "inservice": "cleared",
    "inquarters": "cleared",
}

_HEART_UNIT = re.compile(r"(CCD|CRT|COR)-", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s_\-]+")

# A PIDF-LO is a few kilobytes; anything far larger is not one.
_MAX_LOCATION_CHARS = 100_000

_PIDF = "urn:ietf:params:xml:ns:pidf"
_GEOPRIV = "urn:ietf:params:xml:ns:pidf:geopriv10"
_CIVIC = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"
_GML = "http://www.opengis.net/gml"
_PIDFLO_SHAPES = "http://www.opengis.net/pidflo/1.0"
# WGS 84 in latitude-longitude order (RFC 5491): 2D and 3D.
_SRS_NAMES = {"urn:ogc:def:crs:EPSG::4326", "urn:ogc:def:crs:EPSG::4979"}


@dataclass(frozen=True)
class _Time:
    text: str
    value: dt.datetime


@dataclass(frozen=True)
class _Resource:
    component_id: str
    name: str
    program: str | None
    status_step: str | None
    updated: _Time
    other_responder: str | None


def eido_to_body(document: Any) -> dict[str, Any]:
    """The plain eligible-call body for an EIDO (API.md "Eligible calls"), times as given."""
    eido = _object(document, "EIDO")
    version = eido.get("eidoVersion")
    if version != "1.0":
        raise EidoError("eidoVersion", f"Only EIDO version '1.0' is read, not {version!r}.")
    updated_at = _time(eido, "lastUpdateTimeStamp", "")

    if eido.get("incidentComponent") is None:
        raise EidoError(
            "incidentComponent",
            "This EIDO has no incident component, so it names no incident number or incident "
            "type; send the EIDO of the incident, not of the call transfer.",
        )
    incident = _object(eido["incidentComponent"], "incidentComponent")
    incident_number = _text(incident, "internalIncidentId", "incidentComponent")
    call_type = _call_type(incident)
    received_at = _received_at(eido)
    resources = _resources(eido)

    heart = [resource for resource in resources if resource.program is not None]
    if heart:
        program = heart[0].program
        outcome, other = "heart_responded", None
    else:
        program = _program_for(call_type)
        others = {resource.other_responder for resource in resources}
        other = next((name for name in _OTHER_RESPONDER_PRIORITY if name in others), None)
        if other is not None:
            outcome = "other_responder"
        elif resources:
            names = ", ".join(
                repr(resource.name or resource.component_id) for resource in resources
            )
            raise EidoError(
                "emergencyResourceComponent",
                f"Cannot tell whether {names} is police, EMS or fire; map its resource type "
                "or its agency's type in HEART_EIDO_OTHER_RESPONDERS.",
            )
        else:
            outcome = "heart_unavailable"

    body: dict[str, Any] = {
        "incident_number": incident_number,
        "program": program,
        "call_type": call_type,
        "received_at": received_at.text,
        "outcome": outcome,
        "other_responder": other,
        **_unit_times(eido, [resource for resource in heart if resource.program == program]),
        "updated_at": updated_at.text,
    }
    location = _location(eido, incident)
    if location is not None:
        body["location"] = location
    return body


# --- The parts of the body ---------------------------------------------------------------------


def _call_type(incident: dict[str, Any]) -> str:
    """The CAD's code mapped by configuration, else the CAD's own text for the type."""
    path = "incidentComponent"
    code = _optional_text(incident, "incidentTypeInternalCode", path)
    text = _optional_text(incident, "incidentTypeInternalText", path)
    registry = _optional_text(incident, "incidentTypeCommonRegistryText", path)
    mapping: Mapping[str, str] = getattr(settings, "HEART_EIDO_CALL_TYPES", DEFAULT_CALL_TYPES)
    for candidate in (code, text, registry):
        if candidate is not None and candidate in mapping:
            return mapping[candidate]
    passed = text or code or registry
    if passed is None:
        raise EidoError(
            f"{path}.incidentTypeCommonRegistryText", "The incident component names no type."
        )
    return passed


def _program_for(call_type: str) -> str:
    """The program whose eligible list holds the call type, first in the configured order."""
    order: tuple[str, ...] = tuple(
        getattr(settings, "HEART_EIDO_PROGRAM_ORDER", DEFAULT_PROGRAM_ORDER)
    )
    programs = [code for code in order if code in Program.values]
    programs += [code for code in Program.values if code not in programs]
    for code in programs:
        if call_type in ELIGIBLE_CALL_TYPES.get(code, ()):
            return code
    raise EidoError(
        "incidentComponent",
        f"No HEART unit is on this incident and its type {call_type!r} is eligible for no "
        "program, so there is no program to count it under.",
    )


def _received_at(eido: dict[str, Any]) -> _Time:
    """The first call's start: the incident was received with the earliest call."""
    calls = _components(eido, "callComponent")
    if not calls:
        raise EidoError("callComponent", "This EIDO has no call component, so no received time.")
    starts = [_time(call, "callStartTimestamp", "callComponent") for call in calls]
    return min(starts, key=lambda start: start.value)


def _resources(eido: dict[str, Any]) -> list[_Resource]:
    agencies = {
        _text(agency, "$id", "agencyComponent"): agency
        for agency in _components(eido, "agencyComponent")
    }
    statuses = _normalised(getattr(settings, "HEART_EIDO_UNIT_STATUSES", DEFAULT_UNIT_STATUSES))
    responders = _normalised(
        getattr(settings, "HEART_EIDO_OTHER_RESPONDERS", DEFAULT_OTHER_RESPONDERS)
    )
    path = "emergencyResourceComponent"
    resources = []
    for component in _components(eido, path):
        name = _optional_text(component, "emergencyResourceName", path) or ""
        heart = _HEART_UNIT.match(name)
        status = _optional_text(component, "primaryUnitStatusRegistryText", path)
        resources.append(
            _Resource(
                component_id=_text(component, "$id", path),
                name=name,
                program=heart.group(1).upper() if heart else None,
                status_step=statuses.get(_key(status)) if status else None,
                updated=_time(component, "lastUpdateTimeStamp", path),
                other_responder=None
                if heart
                else _other_responder(component, agencies, responders),
            )
        )
    return resources


def _other_responder(
    component: dict[str, Any], agencies: dict[str, dict[str, Any]], responders: dict[str, str]
) -> str | None:
    """Police, EMS or fire, from the resource's own type, else from its agency's type."""
    path = "emergencyResourceComponent"
    for key in ("emergencyResourceTypeCommonRegistryText", "emergencyResourceTypeInternalText"):
        kind = _optional_text(component, key, path)
        if kind and _key(kind) in responders:
            return responders[_key(kind)]
    owner = component.get("updatedByAgencyReference")
    if owner is None:
        return None
    agency = agencies.get(_reference(owner, f"{path}.updatedByAgencyReference"))
    if agency is None:
        return None
    kinds = agency.get("agencyType", [])
    if not isinstance(kinds, list) or not all(isinstance(kind, str) for kind in kinds):
        raise EidoError("agencyComponent.agencyType", "Must be a list of texts.")
    for kind in kinds:
        for candidate in (kind, kind.split(".")[0]):
            if _key(candidate) in responders:
                return responders[_key(candidate)]
    return None


def _unit_times(eido: dict[str, Any], units: list[_Resource]) -> dict[str, str | None]:
    """The program's units' times: first dispatched, first arrived, and cleared when the last of
    them cleared. A dispatch component that sent a unit dates its dispatch; its current status
    dates the step that status marks."""
    dispatches: dict[str, list[_Time]] = {}
    path = "dispatchComponent"
    for component in _components(eido, path):
        sent = _time(component, "lastUpdateTimeStamp", path)
        for unit_id in _references(component, "emergencyResourceReference", path):
            dispatches.setdefault(unit_id, []).append(sent)
    dispatched, arrived, cleared = [], [], []
    for unit in units:
        if unit.component_id in dispatches:
            dispatched.append(min(dispatches[unit.component_id], key=lambda t: t.value))
        elif unit.status_step == "dispatched":
            dispatched.append(unit.updated)
        if unit.status_step == "arrived":
            arrived.append(unit.updated)
        elif unit.status_step == "cleared":
            cleared.append(unit.updated)
    return {
        "dispatched_at": _first(dispatched),
        "arrived_at": _first(arrived),
        "cleared_at": max(cleared, key=lambda t: t.value).text
        if cleared and len(cleared) == len(units)
        else None,
    }


def _first(times: list[_Time]) -> str | None:
    return min(times, key=lambda t: t.value).text if times else None


# --- Location ----------------------------------------------------------------------------------


def _location(eido: dict[str, Any], incident: dict[str, Any]) -> dict[str, Any] | None:
    """The first location given by value, the incident's own locations first. Every location by
    value is parsed, so a malformed one is refused whichever is used; a location by reference
    is never fetched."""
    path = "locationComponent"
    components = _components(eido, path)
    wanted = _references(incident, "locationReference", "incidentComponent")
    position = {
        component["$id"]: index
        for index, component in reversed(list(enumerate(components)))
        if isinstance(component.get("$id"), str)
    }
    first = list(dict.fromkeys(position[ref] for ref in wanted if ref in position))
    rest = [index for index in range(len(components)) if index not in set(first)]
    ordered = [components[index] for index in first + rest]
    found: list[dict[str, Any]] = []
    for component in ordered:
        pidf = component.get("locationByValue")
        if pidf is None:
            continue
        if not isinstance(pidf, str):
            raise EidoError(f"{path}.locationByValue", "Must be a PIDF-LO XML document as text.")
        location = _pidf_location(pidf)
        if location is not None:
            found.append(location)
    return found[0] if found else None


def _pidf_location(pidf: str) -> dict[str, Any] | None:
    path = "locationComponent.locationByValue"
    if len(pidf) > _MAX_LOCATION_CHARS:
        raise EidoError(path, "Too long to be a PIDF-LO location.")
    try:
        # No DTD at all: a PIDF-LO has no use for one, and refusing it refuses every entity
        # (billion laughs, external entities) before any is expanded or fetched.
        root: Element = SafeET.fromstring(
            pidf, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as error:
        raise EidoError(path, f"A DTD or entity is not allowed in a PIDF-LO ({error}).") from None
    except SafeET.ParseError as error:
        raise EidoError(path, f"Not well-formed XML: {error}.") from None
    if root.tag != f"{{{_PIDF}}}presence":
        raise EidoError(path, "Not a PIDF-LO document (its root is not a PIDF presence).")
    point: tuple[float, float] | None = None
    address = ""
    for info in root.iter(f"{{{_GEOPRIV}}}location-info"):
        if point is None:
            point = _point(info)
        if not address:
            civic = info.find(f"{{{_CIVIC}}}civicAddress")
            if civic is not None:
                address = _address(civic)
    if point is None and not address:
        return None
    return {
        "address": address,
        "latitude": point[0] if point else None,
        "longitude": point[1] if point else None,
    }


def _point(info: Element) -> tuple[float, float] | None:
    """The latitude and longitude of a gml:Point, or of the centre of a circle (RFC 5491)."""
    path = "locationComponent.locationByValue"
    for shape in _shapes(info):
        srs = shape.get("srsName")
        if srs is not None and srs not in _SRS_NAMES:
            raise EidoError(path, f"Unsupported coordinate reference system {srs!r}.")
        pos = shape.find(f"{{{_GML}}}pos")
        if pos is None:
            raise EidoError(path, "A gml:Point without a gml:pos.")
        parts = (pos.text or "").split()
        try:
            numbers = [float(part) for part in parts]
        except ValueError:
            raise EidoError(path, f"gml:pos {pos.text!r} is not numbers.") from None
        if len(numbers) not in (2, 3) or not all(math.isfinite(n) for n in numbers):
            raise EidoError(path, f"gml:pos {pos.text!r} is not 'latitude longitude'.")
        latitude, longitude = numbers[0], numbers[1]
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise EidoError(path, f"gml:pos {pos.text!r} is not a latitude and longitude.")
        return latitude, longitude
    return None


def _shapes(info: Element) -> Iterator[Element]:
    yield from info.iter(f"{{{_GML}}}Point")
    yield from info.iter(f"{{{_PIDFLO_SHAPES}}}Circle")


def _address(civic: Element) -> str:
    """ "number street, city, state" from the civic address elements (RFC 4776, 5139)."""

    def part(*names: str) -> str:
        values = []
        for name in names:
            element = civic.find(f"{{{_CIVIC}}}{name}")
            text = " ".join((element.text or "").split()) if element is not None else ""
            if text:
                values.append(text)
        return " ".join(values)

    street = " ".join(p for p in (part("HNO", "HNS"), part("PRD", "RD", "STS", "POD")) if p)
    return ", ".join(p for p in (street, part("A3"), part("A1")) if p)


# --- Reading JSON safely -----------------------------------------------------------------------


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EidoError(path, "Must be a JSON object.")
    return value


def _components(eido: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """An EIDO's list of components of one kind: absent is none; each must be an object."""
    value = eido.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise EidoError(key, "Must be a list of components.")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise EidoError(key, f"Item {index} is not a component (a JSON object).")
    return value


def _field(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _optional_text(component: dict[str, Any], key: str, path: str) -> str | None:
    value = component.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise EidoError(_field(path, key), "Must be text.")
    return value.strip() or None


def _text(component: dict[str, Any], key: str, path: str) -> str:
    value = _optional_text(component, key, path)
    if value is None:
        raise EidoError(_field(path, key), "Required, and missing or empty.")
    return value


def _time(component: dict[str, Any], key: str, path: str) -> _Time:
    text = _text(component, key, path)
    try:
        parsed = parse_datetime(text)
    except ValueError:
        # Well formed but no such time (a 13th month, a 25th hour).
        parsed = None
    if parsed is None:
        raise EidoError(_field(path, key), f"{text!r} is not an ISO 8601 date and time.")
    if parsed.tzinfo is None:
        raise EidoError(_field(path, key), f"{text!r} has no UTC offset.")
    return _Time(text=text, value=parsed)


def _reference(value: Any, path: str) -> str:
    ref = value.get("$ref") if isinstance(value, dict) else None
    if not isinstance(ref, str):
        raise EidoError(path, 'Must be a reference: {"$ref": "<component id>"}.')
    return ref


def _references(component: dict[str, Any], key: str, path: str) -> list[str]:
    value = component.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise EidoError(_field(path, key), "Must be a list of references.")
    return [_reference(item, _field(path, key)) for item in value]


def _normalised(mapping: Mapping[str, str]) -> dict[str, str]:
    return {_key(name): value for name, value in mapping.items()}


def _key(text: str) -> str:
    return _SEPARATORS.sub("", text).casefold()
