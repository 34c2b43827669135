"""`manage.py import_hsds PATH`: Open Referral HSDS 3.0 packages into the provider directory."""

from __future__ import annotations

import csv
import io
import shutil
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from referrals.hsds import Importer, category_for
from referrals.models import Location, Provider, Service, ServiceLanguage, ServiceLocation

pytestmark = pytest.mark.django_db

EXAMPLE = Path("/work/shared/data/hsds-3.0-example")
if not EXAMPLE.is_dir():  # the repository's own copy when the shared folder is elsewhere
    EXAMPLE = Path(__file__).parent / "data" / "hsds-3.0-example"


def run(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("import_hsds", str(path), "--no-progress", *args, stdout=out)
    return out.getvalue()


def write(folder: Path, name: str, header: list[str], rows: list[list[str]]) -> None:
    with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def test_the_example_package_imports_with_its_problems_reported(roles):
    out = run(EXAMPLE)
    provider = Provider.objects.get()
    assert provider.name == "Example Organization Inc."
    assert provider.hsds_id == "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610"
    assert provider.slug == "example-organization-inc"
    assert provider.email == "email@example.com"
    service = Service.objects.get()
    assert service.name == "Community Counselling"
    assert service.category == "mental_health"
    assert service.accepting_referrals
    assert service.hours == "Thu, Fri 10:00–18:00"
    assert service.phone == "+44 1234 234567 x100"  # the export's stray quotes are gone
    assert list(service.languages.values_list("code", flat=True)) == ["ur"]
    location = Location.objects.get()
    assert location.provider == provider
    assert location.address == "1-30 Main Street, MyVillage, MyCity, MyState, ABC 1234"
    assert location.latitude is None  # 100, 101 is off the globe
    assert ServiceLocation.objects.get().service == service
    assert "Providers: 1 created, 0 updated, 0 unchanged." in out
    assert "Services: 1 created" in out
    assert "Service categories: mental_health 1." in out
    assert "locations.csv row 2: coordinates 100, 101 are outside" in out
    assert "locations.csv row 2: organization 985e4a42" in out
    assert "attributes.csv row 2: describes a link_entity, not a service" in out
    assert "datapackage.json: not a valid data package descriptor" in out
    assert "Files the directory does not use: accessibility.csv" in out
    history = provider.history.earliest()
    assert history.history_user.username == "system:referrals.import_hsds"
    assert history.history_change_reason == "HSDS import from hsds-3.0-example"


def test_reimporting_updates_by_hsds_id_instead_of_duplicating(roles, tmp_path):
    package = tmp_path / "package"
    shutil.copytree(EXAMPLE, package)
    run(package)
    provider = Provider.objects.get()
    versions = provider.history.count()
    unchanged = run(package)
    assert "Providers: 0 created, 0 updated, 1 unchanged." in unchanged
    assert provider.history.count() == versions  # nothing changed, nothing written

    text = (
        (package / "organizations.csv")
        .read_text()
        .replace("Example Organization Inc.", "Example Organisation Ltd")
    )
    (package / "organizations.csv").write_text(text)
    languages = (package / "languages.csv").read_text().replace(",Urdu,ur,", ",Spanish,,")
    (package / "languages.csv").write_text(languages)
    out = run(package)
    assert "Providers: 0 created, 1 updated, 0 unchanged." in out
    assert Provider.objects.count() == 1
    assert Service.objects.count() == 1
    provider.refresh_from_db()
    assert provider.name == "Example Organisation Ltd"
    assert provider.slug == "example-organization-inc"  # staff are bound by it: it stays
    assert list(ServiceLanguage.objects.values_list("code", flat=True)) == ["es"]
    assert "Languages: 1 created, 0 updated, 0 unchanged, 1 removed." in out


def test_rows_it_cannot_use_are_reported_by_file_row_and_reason(roles, tmp_path):
    write(
        tmp_path,
        "organizations",
        ["id", "name", "email", "website"],
        [
            ["org-1", "Shelter Partners", "not-an-email", "javascript:alert(1)"],
            ["org-1", "Shelter Partners again", "", ""],
            ["", "No id at all", "", ""],
            ["org-2", "", "", ""],
        ],
    )
    write(
        tmp_path,
        "services",
        ["id", "organization_id", "name", "description", "status"],
        [
            ["svc-1", "org-1", "Emergency shelter beds", "Beds for the night", "active"],
            ["svc-2", "org-9", "Orphan service", "", "active"],
            ["svc-3", "org-1", "", "", "active"],
            ["svc-4", "org-1", "Closed program", "Food pantry", "defunct"],
            ["svc-5", "org-1", "Something", "", "sleeping"],
        ],
    )
    write(tmp_path, "languages", ["id", "service_id", "name", "code"], [["l1", "svc-9", "", "es"]])
    (tmp_path / "phones.csv").write_bytes(b"id,number\n1,\xff\xfe broken\n")
    huge = "x" * 200_000  # over the csv module's field limit
    (tmp_path / "schedules.csv").write_text(f"id,service_id,byday\nx,svc-1,MO\ny,svc-1,{huge}\n")
    out = run(tmp_path)
    for expected in (
        "organizations.csv row 2: email 'not-an-email' is not an email address; left out",
        "organizations.csv row 2: website 'javascript:alert(1)' is not a web address",
        "organizations.csv row 3: id org-1 appears again (first at row 2)",
        "organizations.csv row 4: no id",
        "organizations.csv row 5: no name",
        "services.csv row 3: organization org-9 is not in organizations.csv",
        "services.csv row 4: no name",
        "services.csv row 6: status 'sleeping' is not an HSDS status; read as active",
        "languages.csv row 2: not for an imported service",
        "phones.csv: not UTF-8 text; file skipped",
        "schedules.csv row 3: unreadable CSV",
        "datapackage.json: missing or unreadable",
    ):
        assert expected in out, expected
    shelter = Service.objects.get(hsds_id="svc-1")
    assert shelter.category == "housing"
    assert list(shelter.languages.values_list("code", flat=True)) == ["en"]
    closed = Service.objects.get(hsds_id="svc-4")
    assert not closed.accepting_referrals
    assert closed.category == "food"
    assert Provider.objects.get().email == ""


def test_a_path_that_is_not_a_package_is_a_clear_error(roles, tmp_path):
    with pytest.raises(CommandError, match="not a folder"):
        run(tmp_path / "missing")


def test_a_dry_run_changes_nothing(roles):
    out = run(EXAMPLE, "--dry-run")
    assert "Dry run: nothing was changed." in out
    assert "Providers: 1 created" in out
    assert not Provider.objects.exists()


def test_large_packages_show_a_progress_bar(roles, tmp_path, monkeypatch):
    write(tmp_path, "organizations", ["id", "name"], [["org", "Big County Services"]])
    write(
        tmp_path,
        "services",
        ["id", "organization_id", "name", "description"],
        [[f"s{n}", "org", f"Food pantry {n}", ""] for n in range(1200)],
    )

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    out = StringIO()
    call_command("import_hsds", str(tmp_path), stdout=out)
    assert "1201/1201" in terminal.getvalue()
    assert "Services: 1200 created" in out.getvalue()
    ticks: list[int] = []
    importer = Importer(tmp_path, actor=Provider.objects.first().history.first().history_user)
    importer.progress = ticks.append
    report = importer.run()
    assert sum(ticks) == 1201
    assert report.unchanged["services"] == 1200


@pytest.mark.parametrize(
    ("service", "need"),
    [
        ({"name": "Community Counselling"}, "mental_health"),
        ({"name": "Rapid rehousing"}, "housing"),
        ({"name": "Detox and recovery"}, "substance_use"),
        ({"name": "Weekly groceries", "description": "A food pantry"}, "food"),
        ({"name": "Walk-in clinic"}, "medical"),
        ({"name": "SNAP enrollment help"}, "benefits"),
        ({"name": "Bus passes"}, "transportation"),
        ({"name": "Tenant legal aid", "taxonomy": [("FT-1234", "Legal services")]}, "legal"),
        ({"name": "Program 7", "taxonomy": [("BD-1800.2000", "")]}, "food"),
        ({"name": "Mental health clinic"}, "mental_health"),
        ({"name": "Program 7", "description": "Call us to learn more."}, "other"),
    ],
)
def test_services_map_to_a_need_where_the_data_says_enough(service, need):
    assert category_for(**service) == need


def test_a_csv_that_links_or_points_out_of_the_package_is_not_read(roles, tmp_path):
    package = tmp_path / "package"
    package.mkdir()
    write(package, "organizations", ["id", "name"], [["org-1", "Shelter Partners"]])
    outside = tmp_path / "outside"
    outside.mkdir()
    write(outside, "secret", ["id", "organization_id", "name"], [["loc-1", "org-1", "SECRET"]])
    (package / "locations.csv").symlink_to(outside / "secret.csv")
    (package / "datapackage.json").write_text(
        '{"resources": [{"name": "organizations", "path": "organizations.csv"},'
        ' {"name": "locations", "path": "../outside/secret.csv"}]}'
    )
    out = run(package)
    assert "locations.csv: a link or a path outside the package folder; not read" in out
    assert "secret.csv: a link or a path outside the package folder; not read" in out
    assert Provider.objects.get().name == "Shelter Partners"
    assert not Location.objects.filter(name="SECRET").exists()
    assert "SECRET" not in out


def test_a_linked_descriptor_is_not_read(roles, tmp_path):
    package = tmp_path / "package"
    package.mkdir()
    write(package, "organizations", ["id", "name"], [["org-1", "Shelter Partners"]])
    (package / "datapackage.json").symlink_to("/etc/hostname")
    out = run(package)
    assert "datapackage.json: missing or unreadable" in out
    assert Provider.objects.get().name == "Shelter Partners"
