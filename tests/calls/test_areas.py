"""Service areas (calls.areas): which eligible calls fall inside a program's GeoJSON polygons."""

from __future__ import annotations

import json
import random
import runpy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import shapely
from django.conf import settings as django_settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from shapely.geometry import shape

from calls.areas import (
    in_service_area,
    in_service_area_many,
    service_area_geojson,
    service_areas_check,
)
from demo.city import DIRECTORY

# GeoJSON rings are [longitude, latitude]. This square spans longitudes 10..20 and latitudes
# 30..40, so (latitude 35, longitude 15) is inside and the swapped (15, 35) is not.
SQUARE = [[[10, 30], [20, 30], [20, 40], [10, 40], [10, 30]]]


def polygon(coordinates: Any) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": coordinates}


def feature(geometry: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": {}, "geometry": geometry}


@pytest.fixture
def area_file(tmp_path: Path) -> Any:
    """Writes a GeoJSON document (or raw text) to a file and returns its path."""
    counter = iter(range(1000))

    def write(document: Any, *, suffix: str = ".geojson") -> str:
        path = tmp_path / f"area{next(counter)}{suffix}"
        text = document if isinstance(document, str) else json.dumps(document)
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


@pytest.fixture
def square_area(settings: Any, area_file: Any) -> str:
    """CRT has the square; CCD and COR have no area."""
    path = area_file({"type": "FeatureCollection", "features": [feature(polygon(SQUARE))]})
    settings.HEART_SERVICE_AREAS = {"CRT": path}
    return path


def test_a_point_inside_the_area_is_in_it(square_area: str) -> None:
    assert in_service_area("CRT", 35, 15) is True
    assert in_service_area("CRT", Decimal("30.000001"), Decimal("19.999999")) is True


def test_a_point_outside_the_area_is_not(square_area: str) -> None:
    assert in_service_area("CRT", 41, 15) is False
    assert in_service_area("CRT", 35, 9.999999) is False
    assert in_service_area("CRT", Decimal("-35"), Decimal("-15")) is False


def test_a_point_on_the_edge_or_a_corner_is_in_the_area(square_area: str) -> None:
    assert in_service_area("CRT", 30, 15) is True
    assert in_service_area("CRT", 35, 20) is True
    assert in_service_area("CRT", 40, 10) is True


def test_latitude_and_longitude_are_read_in_their_own_order(square_area: str) -> None:
    # Read as (x=15, y=35) the point is inside; read the wrong way round, (x=35, y=15), it is not.
    assert in_service_area("CRT", latitude=35, longitude=15) is True
    assert in_service_area("CRT", latitude=15, longitude=35) is False
    assert in_service_area_many("CRT", [(35, 15), (15, 35)]) == [True, False]


def test_a_call_without_a_location_has_no_answer(square_area: str) -> None:
    assert in_service_area("CRT", None, 15) is None
    assert in_service_area("CRT", 35, None) is None
    assert in_service_area("CRT", None, None) is None


def test_a_program_without_an_area_has_no_answer(square_area: str) -> None:
    assert in_service_area("COR", 35, 15) is None
    assert in_service_area("NOPE", 35, 15) is None
    assert in_service_area_many("COR", [(35, 15), (None, None)]) == [None, None]
    assert service_area_geojson("COR") is None


def test_no_program_has_an_area_when_none_are_configured(settings: Any) -> None:
    settings.HEART_SERVICE_AREAS = {}
    assert [in_service_area(program, 35.99, -78.89) for program in ("CCD", "CRT", "COR")] == [
        None,
        None,
        None,
    ]
    assert service_areas_check() == []


def test_a_multipolygon_holds_each_of_its_parts(settings: Any, area_file: Any) -> None:
    west = [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]
    east = [[[5, 0], [6, 0], [6, 1], [5, 1], [5, 0]]]
    path = area_file(feature({"type": "MultiPolygon", "coordinates": [west, east]}))
    settings.HEART_SERVICE_AREAS = {"CCD": path}
    assert in_service_area("CCD", 0.5, 0.5) is True
    assert in_service_area("CCD", 0.5, 5.5) is True
    assert in_service_area("CCD", 0.5, 3) is False


def test_a_hole_in_the_polygon_is_outside_the_area(settings: Any, area_file: Any) -> None:
    hole = [[12, 32], [12, 38], [18, 38], [18, 32], [12, 32]]
    settings.HEART_SERVICE_AREAS = {"CRT": area_file(polygon([*SQUARE, hole]))}
    assert in_service_area("CRT", 35, 15) is False
    assert in_service_area("CRT", 31, 11) is True
    # The hole's edge is the area's boundary, so it is in the area.
    assert in_service_area("CRT", 32, 15) is True


def test_several_features_make_one_area(settings: Any, area_file: Any) -> None:
    left = polygon([[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]])
    right = polygon([[[1, 0], [4, 0], [4, 2], [1, 2], [1, 0]]])
    path = area_file({"type": "FeatureCollection", "features": [feature(left), feature(right)]})
    settings.HEART_SERVICE_AREAS = {"COR": path}
    assert in_service_area("COR", 1, 0.5) is True
    assert in_service_area("COR", 1, 3.5) is True
    assert in_service_area("COR", 1, 4.5) is False
    geometry = service_area_geojson("COR")
    assert geometry is not None
    assert shape(geometry["geometry"]).equals(shapely.box(0, 0, 4, 2))


def test_the_area_is_read_once_and_again_when_the_setting_changes(
    settings: Any, area_file: Any
) -> None:
    path = area_file(polygon(SQUARE))
    settings.HEART_SERVICE_AREAS = {"CRT": path}
    assert in_service_area("CRT", 35, 15) is True
    Path(path).unlink()
    assert in_service_area("CRT", 35, 15) is True
    settings.HEART_SERVICE_AREAS = {"CRT": path}
    with pytest.raises(ImproperlyConfigured, match=r"\[CRT\]"):
        in_service_area("CRT", 35, 15)


def test_a_coordinate_that_is_not_a_number_is_refused(square_area: str) -> None:
    with pytest.raises(ValueError, match="latitude"):
        in_service_area("CRT", float("nan"), 15)
    with pytest.raises(ValueError, match="longitude"):
        in_service_area("CRT", 35, Decimal("Infinity"))
    with pytest.raises(ValueError, match=r"points\[1\]"):
        in_service_area_many("CRT", [(35, 15), (35, float("nan"))])


def test_the_batch_answers_as_one_call_at_a_time_does(square_area: str) -> None:
    rng = random.Random(7)
    points: list[tuple[Any, Any]] = [(rng.uniform(28, 42), rng.uniform(8, 22)) for _ in range(500)]
    points += [(Decimal("30"), Decimal("15")), (None, 15), (35, None), (40, 20), (15, 35)]
    rng.shuffle(points)
    answers = in_service_area_many("CRT", points)
    assert answers == [
        in_service_area("CRT", latitude, longitude) for latitude, longitude in points
    ]
    assert {True, False, None} <= set(answers)
    assert in_service_area_many("CRT", []) == []


def test_the_area_is_served_as_a_geojson_feature(square_area: str) -> None:
    served = service_area_geojson("CRT")
    assert served is not None
    assert served["type"] == "Feature"
    assert served["properties"] == {"program": "CRT"}
    assert shape(served["geometry"]).equals(shapely.box(10, 30, 20, 40))
    json.dumps(served)
    served["geometry"]["coordinates"].clear()
    again = service_area_geojson("CRT")
    assert again is not None
    assert again["geometry"]["coordinates"]


BOWTIE = polygon([[[0, 0], [10, 10], [10, 0], [0, 10], [0, 0]]])
BAD_FILES = [
    pytest.param("not json {", "not JSON", id="not-json"),
    pytest.param([1, 2], "not a GeoJSON object", id="json-but-not-geojson"),
    pytest.param({"type": "FeatureCollection", "features": []}, 'no "features"', id="empty"),
    pytest.param(
        {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "is a LineString", id="line"
    ),
    pytest.param(
        feature({"type": "Point", "coordinates": [0, 0]}), "geometry is a Point", id="point"
    ),
    pytest.param(feature(None), "geometry is not a geometry", id="null-geometry"),
    pytest.param(
        {"type": "FeatureCollection", "features": [feature(polygon(SQUARE)), {"type": "x"}]},
        r"features\[1\] is not a Feature",
        id="not-a-feature",
    ),
    pytest.param(BOWTIE, "not a valid polygon .*Self-intersection", id="self-intersecting"),
    pytest.param(polygon([[[0, 0], [1, 1]]]), "unreadable coordinates", id="short-ring"),
    pytest.param(polygon("x"), "unreadable coordinates", id="coordinates-not-a-list"),
    pytest.param(polygon([]), "no coordinates", id="no-coordinates"),
    pytest.param(
        # Durham in North Carolina's state plane (feet), as a city GIS export often comes.
        polygon([[[2027000, 815000], [2040000, 815000], [2040000, 830000], [2027000, 815000]]]),
        "in degrees",
        id="projected",
    ),
]


@pytest.mark.parametrize(("document", "problem"), BAD_FILES)
def test_a_bad_area_file_is_a_configuration_error_naming_program_and_file(
    settings: Any, area_file: Any, document: Any, problem: str
) -> None:
    path = area_file(document)
    settings.HEART_SERVICE_AREAS = {"CRT": path}
    with pytest.raises(ImproperlyConfigured, match=problem) as raised:
        in_service_area("CRT", 35, 15)
    assert "HEART_SERVICE_AREAS[CRT]" in str(raised.value)
    assert path in str(raised.value)


def test_a_missing_area_file_is_a_configuration_error(settings: Any, tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.geojson")
    settings.HEART_SERVICE_AREAS = {"COR": missing}
    with pytest.raises(ImproperlyConfigured, match="cannot read the file") as raised:
        in_service_area_many("COR", [(35, 15)])
    assert "HEART_SERVICE_AREAS[COR]" in str(raised.value)
    assert missing in str(raised.value)


@pytest.mark.parametrize(
    ("configured", "problem"),
    [
        pytest.param(["demo.geojson"], "must be a mapping", id="not-a-mapping"),
        pytest.param({"CTR": "demo.geojson"}, "'CTR', which is not a program", id="misspelt"),
        pytest.param({"CRT": ""}, r"HEART_SERVICE_AREAS\[CRT\] must be the path", id="no-path"),
        pytest.param({"CRT": 3}, r"HEART_SERVICE_AREAS\[CRT\] must be the path", id="not-a-path"),
    ],
)
def test_a_bad_setting_is_a_configuration_error(
    settings: Any, configured: Any, problem: str
) -> None:
    settings.HEART_SERVICE_AREAS = configured
    with pytest.raises(ImproperlyConfigured, match=problem):
        in_service_area("CRT", 35, 15)
    [error] = service_areas_check()
    assert error.id == "calls.E001"
    assert error.level == checks.ERROR


def test_the_system_check_reports_every_bad_file(
    settings: Any, area_file: Any, tmp_path: Path
) -> None:
    settings.HEART_SERVICE_AREAS = {
        "CCD": area_file(polygon(SQUARE)),
        "CRT": area_file({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}),
        "COR": str(tmp_path / "nowhere.geojson"),
    }
    errors = service_areas_check()
    assert [error.id for error in errors] == ["calls.E002", "calls.E002"]
    assert "HEART_SERVICE_AREAS[CRT]" in errors[0].msg
    assert "LineString" in errors[0].msg
    assert "HEART_SERVICE_AREAS[COR]" in errors[1].msg
    assert "nowhere.geojson" in errors[1].msg
    # Registered by the app, so `manage.py check` tells it at startup.
    assert errors == [e for e in checks.run_checks() if "HEART_SERVICE_AREAS" in e.msg]
    with pytest.raises(SystemCheckError, match=r"HEART_SERVICE_AREAS\[COR\]"):
        call_command("check")


def test_the_default_areas_pass_the_system_check() -> None:
    assert service_areas_check() == []


def test_the_demo_pilot_area_holds_central_and_east_durham_but_not_the_west() -> None:
    # The default configuration: every program has the demo city's pilot area.
    located = {
        address: (Decimal(latitude), Decimal(longitude))
        for entry in DIRECTORY
        for _name, address, latitude, longitude in entry["locations"]
    }
    inside = {
        address
        for address, (latitude, longitude) in located.items()
        if in_service_area("CRT", latitude, longitude)
    }
    assert inside == {
        "412 N Alston Ave, Durham, NC 27701",
        "215 E Main St, Durham, NC 27701",
        "1100 Holloway St, Durham, NC 27703",
        "1301 Fayetteville St, Durham, NC 27707",
        "201 W Main St, Durham, NC 27701",
    }
    outside = set(located) - inside
    assert outside == {
        "1800 W Club Blvd, Durham, NC 27705",
        "300 N Duke St, Durham, NC 27701",
        "2000 Chapel Hill Rd, Durham, NC 27707",
    }
    assert in_service_area_many("COR", list(located.values())) == [
        address in inside for address in located
    ]
    assert {in_service_area(program, 35.9961, -78.8886) for program in ("CCD", "CRT", "COR")} == {
        True
    }


def run_settings(monkeypatch: pytest.MonkeyPatch, value: str | None) -> dict[str, Any]:
    if value is None:
        monkeypatch.delenv("HEART_SERVICE_AREAS", raising=False)
    else:
        monkeypatch.setenv("HEART_SERVICE_AREAS", value)
    return runpy.run_path(str(Path(django_settings.BASE_DIR) / "heart_cases" / "settings.py"))


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    default = run_settings(monkeypatch, None)["HEART_SERVICE_AREAS"]
    assert default == dict.fromkeys(
        ["CCD", "CRT", "COR"], "demo/service_areas/durham_pilot.geojson"
    )
    assert run_settings(monkeypatch, "{}")["HEART_SERVICE_AREAS"] == {}
    assert run_settings(monkeypatch, '{"CRT": "/etc/heart/crt.geojson"}')[
        "HEART_SERVICE_AREAS"
    ] == {"CRT": "/etc/heart/crt.geojson"}
    with pytest.raises(ImproperlyConfigured, match="HEART_SERVICE_AREAS must be JSON"):
        run_settings(monkeypatch, "CRT=/etc/heart/crt.geojson")
