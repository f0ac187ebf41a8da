"""Importing real 311 exports into the reference city: every row accounted for, once.

The two real files take most of this module's time, so each is imported in one test that
checks everything a whole-file import must get right; behaviours of single rows use
small extracts of the same real files, or a synthetic file, in their own databases.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from models import Area, Incident, IncidentEvent
from models.enums import Action, AreaLevel, State
from models.lifecycle import TRANSITIONS
from seed.importer import run_import
from tests.conftest import require_file

LA_FILE = "seed/data/311/la_myla311_2017_subset.csv"
NYC_FILE = "seed/data/311/nyc_311_sample_oct2018.csv"


@dataclass(frozen=True)
class Export:
    file: str
    format: str
    source: str
    rows: int
    id_column: str
    closed_column: str
    city_zh: str


LA = Export(LA_FILE, "la-myla311", "la311", 9_999, "SRNumber", "ClosedDate", "洛杉矶")
NYC = Export(NYC_FILE, "nyc-311", "nyc311", 6_765, "Unique Key", "Closed Date", "纽约")


# ---------------------------------------------------------------- helpers

def read_export(path: Path) -> tuple[list[str], dict[int, list[str]]]:
    """The header and the data records by row number (the header is row 1)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, dict(enumerate(reader, start=2))


def extract(export: Export, ids: list[str], folder: Path) -> Path:
    """A small file holding the real export's header and the records with these ids."""
    header, records = read_export(require_file(export.file))
    column = header.index(export.id_column)
    chosen = [cells for cells in records.values() if cells[column] in ids]
    assert len(chosen) == len(ids), f"ids {ids} are not all in {export.file}"
    path = folder / f"extract-{export.format}.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(chosen)
    return path


def read_report(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["row", "external_id", "field", "reason"]
        return list(reader)


def incident_by_external_id(session, export: Export, raw_id: str) -> Incident:
    return session.scalars(select(Incident).where(
        Incident.source == export.source, Incident.external_id == f"{export.source}:{raw_id}")).one()


def assert_legal_histories(session, *conditions) -> int:
    """Replay every matching incident's events against the transition table.

    Returns how many incidents were replayed.
    """
    events = session.execute(
        select(IncidentEvent.incident_id, IncidentEvent.version, IncidentEvent.action,
               IncidentEvent.from_state, IncidentEvent.to_state,
               Incident.state.label("incident_state"), Incident.version.label("incident_version"))
        .join(Incident, Incident.id == IncidentEvent.incident_id)
        .where(*conditions)
        .order_by(IncidentEvent.incident_id, IncidentEvent.version, IncidentEvent.id)
    ).all()
    histories: dict[int, list] = {}
    for event in events:
        histories.setdefault(event.incident_id, []).append(event)
    for incident_id, history in histories.items():
        first, rest = history[0], history[1:]
        assert (first.action, first.to_state) == (Action.REPORT, State.REPORTED), incident_id
        state = first.to_state
        for number, event in enumerate(history, start=1):
            assert event.version == number, f"incident {incident_id}: versions {[e.version for e in history]}"
        for event in rest:
            sources, target = TRANSITIONS[Action(event.action)]
            assert event.from_state == state, f"incident {incident_id}: {event.action} from {event.from_state}, was {state}"
            assert state in sources, f"incident {incident_id}: {event.action} is illegal from {state}"
            assert event.to_state == (target or state), f"incident {incident_id}: {event.action} led to {event.to_state}"
            state = event.to_state
        assert state == history[-1].incident_state, f"incident {incident_id}: last event says {state}"
        assert history[-1].incident_version == len(history), incident_id
    return len(histories)


def count_rows(session, model, *conditions) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*conditions))


def la_time(text: str) -> datetime:
    local = datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p").replace(tzinfo=ZoneInfo("America/Los_Angeles"))
    return local.astimezone(timezone.utc)


def nyc_time(text: str) -> datetime:
    local = datetime.strptime(text, "%m/%d/%y %H:%M").replace(tzinfo=ZoneInfo("America/New_York"))
    return local.astimezone(timezone.utc)


# ---------------------------------------------------------------- whole real files

@pytest.mark.parametrize("export", [LA, NYC], ids=["la", "nyc"])
def test_it_imports_a_real_export_row_by_row_exactly_once(city_session, tmp_path, export):
    path = require_file(export.file)
    report = tmp_path / "rejected.csv"

    summary = run_import(city_session, path, export.format, report_path=report)

    # Every row is imported or rejected.
    assert summary["rows"] == export.rows
    assert summary["imported"] + summary["rejected"] == summary["rows"]
    assert summary["imported"] > 0.9 * export.rows
    assert summary["already_imported"] == 0
    source = Incident.source == export.source
    assert count_rows(city_session, Incident, source) == summary["imported"]

    # The report names exactly the rows that did not become incidents, with a reason each.
    header, records = read_export(path)
    id_column, closed_column = header.index(export.id_column), header.index(export.closed_column)
    stored = set(city_session.scalars(select(Incident.external_id).where(source)))
    first_row: dict[str, int] = {}
    for number, cells in records.items():
        first_row.setdefault(f"{export.source}:{cells[id_column].strip()}", number)
    imported_rows = {number for external_id, number in first_row.items() if external_id in stored}
    assert len(imported_rows) == summary["imported"]
    lines = read_report(report)
    assert len(lines) == summary["rejected"]
    assert sorted(int(line["row"]) for line in lines) == sorted(set(records) - imported_rows)
    for line in lines:
        assert line["reason"].strip(), line
        if line["external_id"]:
            assert line["external_id"] == f"{export.source}:{records[int(line['row'])][id_column].strip()}"

    # Exactly the records the export shows as closed are CLOSED.
    closed = set(city_session.scalars(select(Incident.external_id).where(source, Incident.state == State.CLOSED)))
    assert closed == {f"{export.source}:{records[n][id_column].strip()}" for n in imported_rows
                      if records[n][closed_column].strip()}

    # Every incident got there by legal steps, starting from its report.
    assert assert_legal_histories(city_session, source) == summary["imported"]

    # Running it again adds nothing.
    events = count_rows(city_session, IncidentEvent)
    incidents = count_rows(city_session, Incident)
    again = run_import(city_session, path, export.format, report_path=tmp_path / "again.csv")
    assert (again["imported"], again["already_imported"], again["rejected"]) == \
        (0, summary["imported"], summary["rejected"])
    assert count_rows(city_session, Incident) == incidents
    assert count_rows(city_session, IncidentEvent) == events


# ---------------------------------------------------------------- single rows of the real files

def test_it_closes_a_closed_record_at_the_exports_closed_date(city_session, tmp_path):
    # 1-870694601: bulky items, created 12/31/2017 11:56:39 PM, closed 01/03/2018 10:11:23 AM (LA time).
    run_import(city_session, extract(LA, ["1-870694601"], tmp_path), LA.format, report_path=tmp_path / "r.csv")

    incident = incident_by_external_id(city_session, LA, "1-870694601")
    assert incident.state == State.CLOSED
    assert incident.closed_at == la_time("01/03/2018 10:11:23 AM")
    assert incident.closed_at == datetime(2018, 1, 3, 18, 11, 23, tzinfo=timezone.utc)
    assert incident.reported_at == la_time("12/31/2017 11:56:39 PM")


def test_it_takes_the_handling_deadline_from_the_exports_due_date(city_session, tmp_path):
    # 40611598: derelict vehicle, created 10/21/18 0:00, due 10/21/18 8:00 (New York time).
    run_import(city_session, extract(NYC, ["40611598"], tmp_path), NYC.format, report_path=tmp_path / "r.csv")

    incident = incident_by_external_id(city_session, NYC, "40611598")
    assert incident.handle_due == nyc_time("10/21/18 8:00")
    assert incident.handle_due == datetime(2018, 10, 21, 12, 0, tzinfo=timezone.utc)
    assert incident.dispatched_at == nyc_time("10/21/18 0:00")


@pytest.mark.parametrize("export, raw_id, district", [
    (LA, "1-870704831", "Council District 13"),
    (NYC, "40611598", "05 QUEENS"),
], ids=["la", "nyc"])
def test_it_keeps_a_record_outside_dongguan_in_its_own_district(city_session, tmp_path, export, raw_id, district):
    run_import(city_session, extract(export, [raw_id], tmp_path), export.format, report_path=tmp_path / "r.csv")

    incident = incident_by_external_id(city_session, export, raw_id)
    area = city_session.get(Area, incident.area_id)
    city = city_session.get(Area, area.parent_id)
    assert (area.level, area.name_zh) == (AreaLevel.TOWN, district)
    assert (city.level, city.name_zh) == (AreaLevel.CITY, export.city_zh)
    assert (incident.city_id, incident.town_id) == (city.id, area.id)
    assert incident.grid_id is None and incident.village_id is None


# ---------------------------------------------------------------- a point inside Dongguan

LA_HEADER = ["SRNumber", "CreatedDate", "Owner", "RequestType", "Status", "ClosedDate",
             "Address", "Latitude", "Longitude", "CD", "NCName"]


def test_it_places_a_point_inside_dongguan_in_its_grid(city_session, tmp_path):
    grid = city_session.scalars(select(Area).where(Area.level == AreaLevel.GRID).order_by(Area.id)).first()
    path = tmp_path / "inside.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(LA_HEADER)
        writer.writerow(["T-1", "03/01/2017 09:15:00 AM", "BOS", "Bulky Items", "Open", "",
                         "1 Test Road", grid.centroid_lat, grid.centroid_lon, "4", "Test NC"])

    summary = run_import(city_session, path, LA.format, report_path=tmp_path / "r.csv")

    assert (summary["imported"], summary["rejected"]) == (1, 0)
    incident = incident_by_external_id(city_session, LA, "T-1")
    assert (incident.area_id, incident.grid_id) == (grid.id, grid.id)
    assert (incident.village_id, incident.town_id) == (grid.village_id, grid.town_id)
    assert incident.village_id is not None and incident.town_id is not None
    assert incident.level == AreaLevel.VILLAGE


# ---------------------------------------------------------------- refusals

def test_it_refuses_an_unknown_format_naming_the_known_ones(city_session, tmp_path):
    with pytest.raises(ValueError, match="known: la-myla311, nyc-311"):
        run_import(city_session, require_file(LA_FILE), "chicago-311", report_path=tmp_path / "r.csv")


def test_it_refuses_a_missing_file(city_session, tmp_path):
    with pytest.raises(FileNotFoundError, match="no-such-export.csv"):
        run_import(city_session, tmp_path / "no-such-export.csv", LA.format, report_path=tmp_path / "r.csv")
    assert not (tmp_path / "r.csv").exists()
