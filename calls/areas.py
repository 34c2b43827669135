"""Service areas (API.md "Eligible calls"): where each program answers calls, as GeoJSON polygons
named by HEART_SERVICE_AREAS, and whether a call's location falls inside its program's area.

A call outside the area is demand the program could not have met where it stood, so the metrics
tell it apart from a call the program missed. The files are read once per process (a changed file
needs a restart) and kept as prepared geometries: an eligible-call batch asks about 1,000 points
at a time, and intake asks on every call. A bad file is an ImproperlyConfigured naming the program
and the file, and the system check below reports it when the server starts, not at the first call.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import shapely
from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from shapely.errors import ShapelyError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from heart_cases.models import Program

Coordinate = float | Decimal
POLYGON_TYPES = ("Polygon", "MultiPolygon")


@dataclass(frozen=True)
class ServiceArea:
    program: str
    path: Path
    # All of the file's polygons as one geometry, prepared (shapely.prepare) for fast lookups.
    geometry: BaseGeometry
    geojson: str


def _configured_paths() -> dict[str, Path]:
    """HEART_SERVICE_AREAS as program code → absolute path; a relative path is from BASE_DIR."""
    configured = settings.HEART_SERVICE_AREAS
    if not isinstance(configured, dict):
        raise ImproperlyConfigured(
            "HEART_SERVICE_AREAS must be a mapping of program code to GeoJSON file, like "
            f'{{"CRT": "areas/crt.geojson"}}, not {configured!r}.'
        )
    paths: dict[str, Path] = {}
    for program, path in configured.items():
        # A misspelt code would otherwise leave its program with no area and no warning.
        if program not in Program.values:
            raise ImproperlyConfigured(
                f"HEART_SERVICE_AREAS names {program!r}, which is not a program "
                f"({', '.join(Program.values)})."
            )
        if not isinstance(path, str | Path) or not str(path).strip():
            raise ImproperlyConfigured(
                f"HEART_SERVICE_AREAS[{program}] must be the path of a GeoJSON file, not {path!r}."
            )
        resolved = Path(path)
        if not resolved.is_absolute():
            resolved = Path(settings.BASE_DIR) / resolved
        paths[program] = resolved
    return paths


def _geometries(document: Any) -> list[tuple[str, Any]]:
    """The geometry objects of a GeoJSON FeatureCollection, Feature or bare geometry, each with
    where it was found (for the error message)."""
    if not isinstance(document, dict) or not isinstance(document.get("type"), str):
        raise ValueError('not a GeoJSON object (a JSON object with a "type")')
    kind = document["type"]
    if kind == "FeatureCollection":
        features = document.get("features")
        if not isinstance(features, list) or not features:
            raise ValueError('the FeatureCollection has no "features"')
        found: list[tuple[str, Any]] = []
        for index, feature in enumerate(features):
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                raise ValueError(f"features[{index}] is not a Feature")
            found.append((f"features[{index}].geometry", feature.get("geometry")))
        return found
    if kind == "Feature":
        return [("geometry", document.get("geometry"))]
    return [("the file", document)]


def _polygon(where: str, geometry: Any) -> BaseGeometry:
    """One GeoJSON geometry read as a valid polygon or multipolygon in longitude/latitude."""
    if not isinstance(geometry, dict):
        raise ValueError(f"{where} is not a geometry")
    kind = geometry.get("type")
    if kind not in POLYGON_TYPES:
        raise ValueError(f"{where} is a {kind}, not a Polygon or MultiPolygon")
    try:
        polygon = shape(geometry)
    except (ValueError, TypeError, KeyError, IndexError, ShapelyError) as exc:
        raise ValueError(f"{where} has unreadable coordinates ({exc})") from exc
    if polygon.is_empty:
        raise ValueError(f"{where} has no coordinates")
    west, south, east, north = polygon.bounds
    # GeoJSON is longitude, latitude in degrees (RFC 7946). A city's GIS export in its state
    # plane (feet) would otherwise load, and hold no call.
    if west < -180 or east > 180 or south < -90 or north > 90:
        raise ValueError(
            f"{where} has coordinates outside longitude -180..180, latitude -90..90: GeoJSON "
            "must be in degrees (WGS 84), longitude first"
        )
    if not polygon.is_valid:
        raise ValueError(f"{where} is not a valid polygon ({shapely.is_valid_reason(polygon)})")
    return polygon


def _load_area(program: str, path: Path) -> ServiceArea:
    def bad(problem: str) -> ImproperlyConfigured:
        return ImproperlyConfigured(f"HEART_SERVICE_AREAS[{program}] ({path}): {problem}.")

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise bad(f"cannot read the file ({exc})") from exc
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise bad(f"not GeoJSON: not JSON ({exc})") from exc
    try:
        polygons = [_polygon(where, geometry) for where, geometry in _geometries(document)]
    except ValueError as exc:
        raise bad(str(exc)) from exc
    geometry = polygons[0] if len(polygons) == 1 else shapely.union_all(polygons)
    shapely.prepare(geometry)
    return ServiceArea(
        program=program, path=path, geometry=geometry, geojson=shapely.to_geojson(geometry)
    )


@cache
def _areas() -> dict[str, ServiceArea]:
    return {program: _load_area(program, path) for program, path in _configured_paths().items()}


@receiver(setting_changed)
def _forget_areas(*, setting: str, **kwargs: Any) -> None:
    """Tests that override HEART_SERVICE_AREAS see the new areas, not the cached ones."""
    if setting in {"HEART_SERVICE_AREAS", "BASE_DIR"}:
        _areas.cache_clear()


def _finite(name: str, value: Coordinate) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    return number


def in_service_area(
    program: str, latitude: Coordinate | None, longitude: Coordinate | None
) -> bool | None:
    """Whether (latitude, longitude) is inside or on the edge of the program's service area;
    None when the call has no location or the program has no area."""
    if latitude is None or longitude is None:
        return None
    area = _areas().get(program)
    if area is None:
        return None
    # Shapely's x is the longitude, as in GeoJSON.
    x, y = _finite("longitude", longitude), _finite("latitude", latitude)
    # intersects, not contains: a point on the boundary line is in the area.
    return bool(shapely.intersects_xy(area.geometry, x, y))


def in_service_area_many(
    program: str, points: Sequence[tuple[Coordinate | None, Coordinate | None]]
) -> list[bool | None]:
    """in_service_area for each (latitude, longitude) of a batch, in one vectorized call."""
    area = _areas().get(program)
    if area is None:
        return [None] * len(points)
    located: list[int] = []
    xs: list[float] = []
    ys: list[float] = []
    for index, (latitude, longitude) in enumerate(points):
        if latitude is None or longitude is None:
            continue
        x, y = float(longitude), float(latitude)
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(f"points[{index}] must be finite numbers, not {points[index]!r}")
        located.append(index)
        xs.append(x)
        ys.append(y)
    answers: list[bool | None] = [None] * len(points)
    for index, inside in zip(
        located, shapely.intersects_xy(area.geometry, xs, ys).tolist(), strict=True
    ):
        answers[index] = inside
    return answers


def service_area_geojson(program: str) -> dict[str, Any] | None:
    """The program's service area as a GeoJSON Feature (for a map), or None when it has none."""
    area = _areas().get(program)
    if area is None:
        return None
    # A fresh dict each time, so that a caller adding to it cannot change the next one's.
    return {
        "type": "Feature",
        "properties": {"program": program},
        "geometry": json.loads(area.geojson),
    }


def service_areas_check(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """`manage.py check` (and every server start) reads each configured file, so a missing or
    broken one is told at once, all of them together, rather than as a failed call later."""
    try:
        paths = _configured_paths()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="calls.E001")]
    errors: list[checks.CheckMessage] = []
    for program, path in paths.items():
        try:
            _load_area(program, path)
        except ImproperlyConfigured as exc:
            errors.append(
                checks.Error(
                    str(exc),
                    hint="Point HEART_SERVICE_AREAS at a GeoJSON file of Polygon or MultiPolygon "
                    "features in longitude/latitude, or leave the program out for no area.",
                    id="calls.E002",
                )
            )
    return errors
