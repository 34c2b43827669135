"""`manage.py import_eligible_calls FILE.csv`: load a CAD export of eligible calls.

One row per call, the API's fields as columns (the location as `address`, `latitude`,
`longitude`); other columns are ignored. Each row is validated as the API validates a posted
call and the good ones are recorded 1,000 at a time, as a batch is; a row the CAD has since
replaced by a newer version changes nothing, so a file can be loaded again safely.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from calls.api import MAX_BATCH, record_calls
from calls.models import CallSource
from heart_cases.actors import system_actor

REQUIRED = ("incident_number", "program", "call_type", "received_at", "outcome", "updated_at")
OPTIONAL = ("other_responder", "dispatched_at", "arrived_at", "cleared_at")
LOCATION = ("address", "latitude", "longitude")
_WORD = {201: "created", 200: "replaced", 400: "refused"}


def _rows(path: Path) -> list[tuple[int, dict[str, str], str]]:
    """Every row with the line it starts on and what is wrong with its shape ("" if nothing).
    The whole file is read before anything is written, so a file that turns out not to be CSV
    halfway through leaves nothing half-loaded."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise CommandError(f"No such file: {path}") from exc
    except IsADirectoryError as exc:
        raise CommandError(f"{path} is a directory, not a CSV file.") from exc
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path} is not a CSV file (not UTF-8 text).") from exc
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
    if "\x00" in text:
        raise CommandError(f"{path} is not a CSV file (it holds NUL bytes).")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise CommandError(f"{path} is empty.")
        columns = [name.strip() for name in header]
        missing = [name for name in REQUIRED if name not in columns]
        if missing:
            raise CommandError(
                f"{path} is not a CAD export of eligible calls: no column "
                + ", ".join(missing)
                + "."
            )
        rows = []
        start = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                shape = (
                    f"{len(cells)} cells, more than the header's {len(columns)} columns."
                    if len(cells) > len(columns)
                    else ""
                )
                rows.append((start, dict(zip(columns, cells, strict=False)), shape))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise CommandError(f"{path} is not a CSV file: line {reader.line_num}: {exc}") from exc
    return rows


def body_from_row(row: dict[str, str]) -> dict[str, Any]:
    """The API's body for a row: an empty cell is a field not given."""
    body: dict[str, Any] = {
        name: row[name].strip() for name in (*REQUIRED, *OPTIONAL) if row.get(name, "").strip()
    }
    location = {name: row[name].strip() for name in LOCATION if row.get(name, "").strip()}
    if location:
        body["location"] = location
    return body


def _chunks(rows: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _errors_text(errors: dict[str, Any], prefix: str = "") -> str:
    parts = []
    for field, problems in errors.items():
        if isinstance(problems, dict):
            parts.append(_errors_text(problems, prefix=f"{prefix}{field}."))
        else:
            parts.append(f"{prefix}{field}: {' '.join(str(p) for p in problems)}")
    return "; ".join(parts)


class Command(BaseCommand):
    help = (
        "Load a CAD export of eligible calls (CSV, one row per call, the API's fields as "
        "columns; the location as address, latitude, longitude). Prints rows read, created, "
        "replaced, unchanged and refused, and each refused row's line, incident number and "
        "errors. Exits with status 1 if any row was refused; the good rows are recorded all "
        "the same."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The CSV file.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        rows = _rows(path)
        actor = system_actor("command.import_eligible_calls")
        counts: Counter[str] = Counter()
        refused: list[str] = []
        # The bar writes to the command's stderr itself: its OutputWrapper would end every
        # redraw with a newline. Shown only on a terminal (disable=None), not in a cron log.
        stderr = self.stderr._out
        with tqdm(total=len(rows), unit="row", file=stderr, disable=None) as bar:
            for chunk in _chunks(rows, MAX_BATCH):
                # A row of the wrong shape goes to the API's checks as no call at all, so it is
                # refused there with the rest; its cells may be shifted, so none is trusted.
                bodies = [None if shape else body_from_row(row) for _, row, shape in chunk]
                results = record_calls(actor=actor, bodies=bodies, source=CallSource.CSV)
                for (line, row, shape), result in zip(chunk, results, strict=True):
                    if shape:
                        result["errors"] = {"row": [shape]}
                    word = _WORD[result["status"]]
                    if result["status"] == 200 and not result["applied"]:
                        word = "unchanged"
                    counts[word] += 1
                    if result["errors"]:
                        refused.append(
                            f"line {line} ({row.get('incident_number', '').strip() or '—'}): "
                            + _errors_text(result["errors"])
                        )
                bar.update(len(chunk))
        self.stdout.write(
            f"Rows read: {len(rows)}; created: {counts['created']}, replaced: "
            f"{counts['replaced']}, unchanged: {counts['unchanged']}, refused: "
            f"{counts['refused']}."
        )
        for line in refused:
            self.stdout.write(f"Refused {line}")
        if refused:
            raise CommandError(f"{len(refused)} row(s) refused; the others were recorded.")
