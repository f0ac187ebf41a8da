"""Importing real 311 exports into the reference city: every row accounted for, once.

The two real files take most of this module's time, so each is imported in one test that
checks everything a whole-file import must get right. Behaviours of single rows use small
extracts of the same real files, or a synthetic file, each in its own fresh database.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from models import Department, Area, Incident, IncidentEvent
from models.enums import AreaLevel, State
from seed.importer import run_import
from tests.replay import assert_legal_histories
from tests.conftest import require_file


@dataclass(frozen=True)
class Export:
    file: str
    format: str
    source: str
    rows: int
    id_column: str
    closed_column: str
    city_zh: str


LA = Export("seed/data/311/la_myla311_2017_subset.csv", "la-myla311", "la311", 9_999,
            "SRNumber", "ClosedDate", "洛杉矶")
NYC = Export("seed/data/311/nyc_311_sample_oct2018.csv", "nyc-311", "nyc311", 6_765,
             "Unique Key", "Closed Date", "纽约")


# ---------------------------------------------------------------- helpers

def read_export(path: Path) -> tuple[list[str], dict[int, list[str]]]:
    """The header and the data records by row number (the header is row 1)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        return header, dict(enumerate(reader, start=2))


def import_extract(session, export: Export, raw_ids: list[str], folder: Path) -> dict:
    """Import a small file holding the real export's header and the records with these ids."""
    header, records = read_export(require_file(export.file))
    column = header.index(export.id_column)
    chosen = [cells for cells in records.values() if cells[column] in raw_ids]
    assert len(chosen) == len(raw_ids), f"ids {raw_ids} are not all in {export.file}"
    path = folder / f"extract-{export.format}.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(chosen)
    return run_import(session, path, export.format, report_path=folder / "rejected.csv")


def read_report(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["row", "external_id", "field", "reason"]
        return list(reader)


def incident_by_external_id(session, export: Export, raw_id: str) -> Incident:
    return session.scalars(select(Incident).where(
        Incident.source == export.source, Incident.external_id == f"{export.source}:{raw_id}")).one()


def count_rows(session, model, *conditions) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*conditions))


def local_time(text: str, date_format: str, zone: str) -> datetime:
    return datetime.strptime(text, date_format).replace(tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


# ---------------------------------------------------------------- whole real files

@pytest.mark.parametrize("export", [LA, NYC], ids=["la", "nyc"])
def test_it_imports_a_real_export_row_by_row_exactly_once(city_session, tmp_path, export):
    path = require_file(export.file)
    report = tmp_path / "rejected.csv"

    summary = run_import(city_session, path, export.format, report_path=report)

    # Every row is imported or rejected, and each imported row is one incident.
    assert summary["rows"] == export.rows
    assert summary["imported"] + summary["rejected"] == summary["rows"]
    assert summary["imported"] > 0.9 * export.rows
    assert summary["already_imported"] == 0
    source = Incident.source == export.source
    assert count_rows(city_session, Incident, source) == summary["imported"]

    # The report names exactly the rows that did not become incidents, each with a reason.
    header, records = read_export(path)
    id_column, closed_column = header.index(export.id_column), header.index(export.closed_column)
    external_ids = {n: f"{export.source}:{cells[id_column].strip()}" for n, cells in records.items()}
    first_rows: dict[str, int] = {}
    for number, external_id in external_ids.items():
        first_rows.setdefault(external_id, number)
    stored = set(city_session.scalars(select(Incident.external_id).where(source)))
    imported_rows = {number for external_id, number in first_rows.items() if external_id in stored}
    assert len(imported_rows) == summary["imported"]
    lines = read_report(report)
    assert len(lines) == summary["rejected"]
    assert sorted(int(line["row"]) for line in lines) == sorted(set(records) - imported_rows)
    for line in lines:
        assert line["reason"].strip(), line
        assert line["external_id"] in ("", external_ids[int(line["row"])]), line

    # Exactly the records the export shows as closed are CLOSED.
    closed = set(city_session.scalars(
        select(Incident.external_id).where(source, Incident.state == State.CLOSED)))
    assert closed == {external_ids[n] for n in imported_rows if records[n][closed_column].strip()}

    # Nothing lies in Dongguan: every incident sits in a district of the export's own city.
    districts = city_session.execute(
        select(Area.level, Area.parent_id).distinct()
        .join(Incident, Incident.area_id == Area.id).where(source)
    ).all()
    assert {level for level, _ in districts} == {AreaLevel.TOWN}
    (city_id,) = {parent for _, parent in districts}
    assert city_session.get(Area, city_id).name_zh == export.city_zh

    # Every incident got where it is by legal steps, starting from its report.
    assert assert_legal_histories(city_session, source) == summary["imported"]

    # Running it again adds nothing.
    events, incidents = count_rows(city_session, IncidentEvent), count_rows(city_session, Incident)
    again = run_import(city_session, path, export.format, report_path=tmp_path / "again.csv")
    assert (again["imported"], again["already_imported"], again["rejected"]) == \
        (0, summary["imported"], summary["rejected"])
    assert count_rows(city_session, Incident) == incidents
    assert count_rows(city_session, IncidentEvent) == events


# ---------------------------------------------------------------- single rows of the real files

def test_it_closes_a_closed_record_at_the_exports_closed_date(city_session, tmp_path):
    # Bulky items, created 12/31/2017 11:56:39 PM, closed 01/03/2018 10:11:23 AM, Los Angeles time.
    import_extract(city_session, LA, ["1-870694601"], tmp_path)

    incident = incident_by_external_id(city_session, LA, "1-870694601")
    la_format = "%m/%d/%Y %I:%M:%S %p"
    assert incident.state == State.CLOSED
    assert incident.closed_at == local_time("01/03/2018 10:11:23 AM", la_format, "America/Los_Angeles")
    assert incident.closed_at == datetime(2018, 1, 3, 18, 11, 23, tzinfo=timezone.utc)
    assert incident.reported_at == local_time("12/31/2017 11:56:39 PM", la_format, "America/Los_Angeles")


def test_it_takes_the_handling_deadline_from_the_exports_due_date(city_session, tmp_path):
    # Derelict vehicle, created 10/21/18 0:00, due 10/21/18 8:00, New York time.
    import_extract(city_session, NYC, ["40611598"], tmp_path)

    incident = incident_by_external_id(city_session, NYC, "40611598")
    assert incident.handle_due == local_time("10/21/18 8:00", "%m/%d/%y %H:%M", "America/New_York")
    assert incident.handle_due == datetime(2018, 10, 21, 12, 0, tzinfo=timezone.utc)
    assert incident.dispatched_at == local_time("10/21/18 0:00", "%m/%d/%y %H:%M", "America/New_York")


@pytest.mark.parametrize("export, raw_id, district", [
    (LA, "1-870704831", "Council District 13"),
    (NYC, "40611598", "05 QUEENS"),
], ids=["la", "nyc"])
def test_it_keeps_a_record_outside_dongguan_in_its_own_district(city_session, tmp_path,
                                                                 export, raw_id, district):
    import_extract(city_session, export, [raw_id], tmp_path)

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


# A record whose point falls inside our city is placed in its grid and dispatched to the
# department our own routing picks, not to the export's agency.
def test_it_places_a_point_inside_dongguan_in_its_grid(city_session, tmp_path):
    grid = city_session.scalars(
        select(Area).where(Area.level == AreaLevel.GRID).order_by(Area.id)).first()
    path = tmp_path / "inside.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(LA_HEADER)
        writer.writerow(["T-1", "03/01/2017 09:15:00 AM", "BOS", "Bulky Items", "Open", "",
                         "1 Test Road", grid.centroid_lat, grid.centroid_lon, "4", "Test NC"])

    summary = run_import(city_session, path, LA.format, report_path=tmp_path / "rejected.csv")

    assert (summary["imported"], summary["rejected"]) == (1, 0)
    incident = incident_by_external_id(city_session, LA, "T-1")
    assert (incident.area_id, incident.grid_id) == (grid.id, grid.id)
    assert (incident.village_id, incident.town_id) == (grid.village_id, grid.town_id)
    assert incident.village_id is not None and incident.town_id is not None
    assert incident.level == AreaLevel.VILLAGE
    department = city_session.get(Department, incident.department_id)
    assert department.area_id in incident.area_path()
    assert not department.code.startswith("ext-")


# ---------------------------------------------------------------- refusals

def test_it_refuses_an_unknown_format_naming_the_known_ones(city_session, tmp_path):
    with pytest.raises(ValueError, match="known: la-myla311, nyc-311"):
        run_import(city_session, require_file(LA.file), "chicago-311", report_path=tmp_path / "r.csv")


def test_it_refuses_a_missing_file(city_session, tmp_path):
    missing = tmp_path / "no-such-export.csv"
    with pytest.raises(FileNotFoundError, match="no-such-export.csv"):
        run_import(city_session, missing, LA.format, report_path=tmp_path / "r.csv")
    assert not (tmp_path / "r.csv").exists()
