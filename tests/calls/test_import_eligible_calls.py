"""`manage.py import_eligible_calls FILE.csv`: the API's rules per row, a report naming each
refused row's line and field, the good rows recorded, a clear error for a file it cannot read."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from calls.models import EligibleCall

pytestmark = pytest.mark.django_db
RECEIVED = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=6)
COLUMNS = [
    "incident_number",
    "program",
    "call_type",
    "received_at",
    "address",
    "latitude",
    "longitude",
    "outcome",
    "other_responder",
    "dispatched_at",
    "arrived_at",
    "cleared_at",
    "updated_at",
    "cad_priority",  # a column the CAD exports that the program does not keep
]


def at(minutes: int) -> str:
    return (RECEIVED + timedelta(minutes=minutes)).isoformat()


def row(**overrides: str) -> dict[str, str]:
    values = {
        "incident_number": "D2026-0200001",
        "program": "CRT",
        "call_type": "Trespass",
        "received_at": at(0),
        "address": "101 City Hall Plaza, Durham, NC",
        "latitude": "35.994",
        "longitude": "-78.899",
        "outcome": "heart_responded",
        "other_responder": "",
        "dispatched_at": at(2),
        "arrived_at": at(15),
        "cleared_at": at(60),
        "updated_at": at(61),
        "cad_priority": "3",
    }
    values.update(overrides)
    return values


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] = COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def run(path: Path) -> tuple[str, str, Exception | None]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_eligible_calls", str(path), stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), exc
    return out.getvalue(), err.getvalue(), None


def test_a_good_file_is_recorded_and_reported(tmp_path, roles):
    rows = [row(incident_number=f"C-{n}") for n in range(3)]
    rows.append(row(incident_number="C-4", outcome="other_responder", other_responder="ems"))
    rows.append(
        row(
            incident_number="C-5",
            outcome="cancelled",
            address="",
            latitude="",
            longitude="",
            dispatched_at="",
            arrived_at="",
            cleared_at="",
        )
    )
    out, _, error = run(write_csv(tmp_path / "export.csv", rows))
    assert error is None
    assert "Rows read: 5; created: 5, replaced: 0, unchanged: 0, refused: 0." in out
    assert EligibleCall.objects.count() == 5
    call = EligibleCall.objects.get(incident_number="C-4")
    assert (call.other_responder, call.source) == ("ems", "csv")
    assert call.recorded_by.username == "system:command.import_eligible_calls"
    assert str(call.latitude) == "35.994000"
    bare = EligibleCall.objects.get(incident_number="C-5")
    assert (bare.address, bare.latitude, bare.in_service_area, bare.arrived_at) == (
        "",
        None,
        None,
        None,
    )
    [history] = EligibleCall.history.filter(incident_number="C-4")
    assert history.history_user == call.recorded_by
    assert "csv" in history.history_change_reason


def test_loading_a_file_again_changes_nothing_and_a_newer_export_replaces(tmp_path, roles):
    path = write_csv(tmp_path / "export.csv", [row(incident_number=f"C-{n}") for n in range(2)])
    run(path)
    out, _, error = run(path)
    assert error is None
    assert "created: 0, replaced: 0, unchanged: 2, refused: 0." in out
    newer = write_csv(
        tmp_path / "newer.csv",
        [
            row(incident_number="C-0", updated_at=at(90), outcome="cancelled"),
            row(incident_number="C-1"),
        ],
    )
    out, _, error = run(newer)
    assert "created: 0, replaced: 1, unchanged: 1, refused: 0." in out
    assert EligibleCall.objects.get(incident_number="C-0").outcome == "cancelled"
    assert EligibleCall.history.filter(incident_number="C-0").count() == 2


def test_bad_rows_are_refused_by_line_and_field_and_the_good_ones_recorded(tmp_path, roles):
    rows = [
        row(incident_number="G-1"),
        row(incident_number="B-1", program="XYZ"),
        row(incident_number="G-2", address="Line one\nline two"),  # a cell over two lines
        row(incident_number="B-2", latitude="95"),
        row(incident_number="B-3", received_at="2026-11-20 14:05"),
        row(incident_number=""),
        row(incident_number="G-3"),
    ]
    out, _, error = run(write_csv(tmp_path / "export.csv", rows))
    assert isinstance(error, CommandError)
    assert "Rows read: 7; created: 3, replaced: 0, unchanged: 0, refused: 4." in out
    # The header is line 1; G-2's address spans lines 4 and 5.
    assert "Refused line 3 (B-1): program:" in out
    assert "Refused line 6 (B-2): location.latitude:" in out
    assert "Refused line 7 (B-3): received_at:" in out
    assert "Refused line 8 (—): incident_number:" in out
    assert str(error) == "4 row(s) refused; the others were recorded."
    assert set(EligibleCall.objects.values_list("incident_number", flat=True)) == {
        "G-1",
        "G-2",
        "G-3",
    }


def test_a_row_with_more_cells_than_the_header_is_refused_alone(tmp_path, roles):
    path = write_csv(tmp_path / "export.csv", [row(incident_number="G-1")])
    with path.open("a", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow([*row(incident_number="B-1").values(), "extra"])
    out, _, error = run(path)
    assert error is not None
    assert "Refused line 3 (B-1): row: 15 cells" in out
    assert list(EligibleCall.objects.values_list("incident_number", flat=True)) == ["G-1"]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the one-statement path is PostgreSQL's"
)
def test_more_than_a_thousand_rows_go_in_chunks(tmp_path, roles, django_assert_max_num_queries):
    rows = [row(incident_number=f"K-{n:04d}") for n in range(2100)]
    path = write_csv(tmp_path / "export.csv", rows)
    with django_assert_max_num_queries(20):
        out, _, error = run(path)
    assert error is None
    assert "Rows read: 2100; created: 2100," in out
    assert EligibleCall.objects.count() == 2100


def test_a_missing_file_is_a_clear_error(tmp_path, roles):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_eligible_calls", str(tmp_path / "nowhere.csv"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not a CSV file"),
        (b"", "is empty"),
        (b"name,phone\nAna,555\n", "no column incident_number"),
        (b'incident_number,program,call_type,received_at,outcome,updated_at\n"open', "not a CSV"),
        (b"incident_number,program,call_type,received_at,outcome,updated_at\nA\x00,B\n", "CSV"),
    ],
    ids=["binary", "empty", "other-columns", "unclosed-quote", "nul"],
)
def test_a_file_that_is_not_a_cad_export_is_a_clear_error_and_writes_nothing(
    tmp_path, roles, content, message
):
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        call_command("import_eligible_calls", str(path))
    assert not EligibleCall.objects.exists()


def test_a_directory_is_a_clear_error(tmp_path, roles):
    with pytest.raises(CommandError, match="directory"):
        call_command("import_eligible_calls", str(tmp_path))


def test_a_file_with_a_byte_order_mark_reads_its_first_column(tmp_path, roles):
    path = write_csv(tmp_path / "export.csv", [row()])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    _, _, error = run(path)
    assert error is None
    assert EligibleCall.objects.count() == 1
