"""Tests for seed.formats against the real LA and NYC 311 exports and a tiny synthetic one."""
from __future__ import annotations

import csv
from collections import Counter
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from seed.catalogue import all_items
from seed.formats import FORMATS, get_format
from seed.formats.base import (
    Format,
    Rejection,
    SourceRecord,
    match_item,
    parse_number,
    read_records,
)

DATA = Path(__file__).resolve().parents[1] / "seed" / "data" / "311"
LA_FILE = DATA / "la_myla311_2017_subset.csv"
NYC_FILE = DATA / "nyc_311_sample_oct2018.csv"
ITEM_CODES = {item.code for _, item in all_items()}

TINY = Format(
    name="tiny",
    source="tiny",
    city_zh="小城",
    city_en="Tiny Town",
    timezone="Asia/Shanghai",
    columns={
        "external_id": "id", "request_type": "type", "agency": "agency", "created": "created",
        "closed": "closed", "lat": "lat", "lon": "lon", "district": "district", "status": "status",
    },
    date_formats=("%Y-%m-%d %H:%M",),
    item_rules=((r"^noise$", "16-01"), (r"garbage", "14-01")),
    district_label="{}区",
    description=("note",),
)
TINY_HEADER = "id,type,agency,created,closed,lat,lon,district,status,note\n"


def _read(path: Path, name: str) -> list[SourceRecord | Rejection]:
    if not path.exists():
        pytest.fail(f"real 311 export is missing: expected {path}")
    return list(read_records(path, get_format(name)))


@pytest.fixture(scope="module")
def la() -> list[SourceRecord | Rejection]:
    return _read(LA_FILE, "la-myla311")


@pytest.fixture(scope="module")
def nyc() -> list[SourceRecord | Rejection]:
    return _read(NYC_FILE, "nyc-311")


def make_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "tiny.csv"
    path.write_text(TINY_HEADER + body, encoding="utf-8")
    return path


def _by_row(results: list[SourceRecord | Rejection]) -> dict[int, SourceRecord | Rejection]:
    return {result.row: result for result in results}


def _rejections(results) -> list[Rejection]:
    return [r for r in results if isinstance(r, Rejection)]


@pytest.mark.parametrize(("fixture", "rows"), [("la", 9_999), ("nyc", 6_765)])
def test_it_yields_one_result_per_data_row_in_order(request, fixture, rows):
    results = request.getfixturevalue(fixture)
    assert [r.row for r in results] == list(range(2, rows + 2))


@pytest.mark.parametrize("fixture", ["la", "nyc"])
def test_it_maps_only_to_catalogue_items(request, fixture):
    records = [r for r in request.getfixturevalue(fixture) if isinstance(r, SourceRecord)]
    assert records and {r.item_code for r in records} <= ITEM_CODES


def test_it_maps_more_than_90_percent_of_nyc_rows(nyc):
    mapped = sum(isinstance(r, SourceRecord) for r in nyc)
    assert mapped / len(nyc) > 0.90


def test_it_maps_every_la_request_type_but_other_and_feedback(la):
    unmapped = {r.reason for r in _rejections(la) if r.field == "request_type"}
    assert unmapped == {
        "no item mapping for request type 'Other'", "no item mapping for request type 'Feedback'",
    }
    mapped_types = {r.request_type for r in la if isinstance(r, SourceRecord)}
    assert len(mapped_types) == 10


@pytest.mark.parametrize(("complaint_type", "item_code"), [
    ("HEAT/HOT WATER", "10-04"),
    ("Noise - Residential", "16-01"),
    ("Blocked Driveway", "17-01"),
    ("Request Large Bulky Item Collection", "14-03"),
    ("Street Light Condition", "18-02"),
    ("Street Condition", "18-03"),
    ("Damaged Tree", "18-05"),
    ("Food Establishment", "03-03"),
    ("Taxi Compliment", None),
    ("New Tree Request", None),
])
def test_it_maps_nyc_complaint_types_by_first_matching_rule(complaint_type, item_code):
    assert match_item(complaint_type, get_format("nyc-311")) == item_code


def test_it_converts_la_local_times_from_los_angeles(la):
    record = _by_row(la)[2]
    assert record.external_id == "la311:1-870704831"
    # 12/31/2017 11:59:58 PM PST is already the next year in UTC.
    assert record.created_at == datetime(2018, 1, 1, 7, 59, 58, tzinfo=timezone.utc)
    assert record.closed_at == datetime(2018, 4, 9, 16, 18, 35, tzinfo=timezone.utc)
    assert record.district == "Council District 13"
    assert record.agency_name == "Bureau of Sanitation"


def test_it_reads_nyc_excel_dates_as_new_york_time(nyc):
    record = _by_row(nyc)[2]
    assert record.external_id == "nyc311:40611598"
    # 10/21/18 0:00 with a 2-digit year and no seconds, in EDT (UTC-4).
    assert record.created_at == datetime(2018, 10, 21, 4, 0, tzinfo=timezone.utc)
    assert record.closed_at == datetime(2018, 10, 21, 4, 59, tzinfo=timezone.utc)
    assert record.due_at == datetime(2018, 10, 21, 12, 0, tzinfo=timezone.utc)
    assert (record.lat, record.lon) == (40.71051893, -73.87862009)
    assert record.district == "05 QUEENS"


def test_it_parses_nyc_thousands_separators(nyc):  # the fixture fails clearly if the file is gone
    with NYC_FILE.open(newline="", encoding="utf-8-sig") as f:
        first = next(csv.DictReader(f))
    assert first["X Coordinate (State Plane)"] == "1,017,901"
    assert parse_number(first["X Coordinate (State Plane)"]) == 1_017_901
    assert parse_number(" -1,234.5 ") == -1234.5
    assert parse_number("") is None


def test_it_falls_back_to_the_borough_when_the_board_is_unspecified(nyc):
    record = _by_row(nyc)[122]
    assert record.external_id == "nyc311:40614105"
    assert (record.lat, record.district) == (None, "MANHATTAN")


def test_it_strips_the_bom_from_the_first_column(nyc):
    assert all(r.external_id and r.external_id.startswith("nyc311:") for r in nyc)


def test_it_accepts_a_clean_synthetic_row(tmp_path):
    path = make_file(
        tmp_path, " 1 ,Noise, EPB ,2024-07-01 09:00,2024-07-01 10:30,22.9,113.7,,Open,loud\n"
    )
    assert list(read_records(path, TINY)) == [SourceRecord(
        row=2, external_id="tiny:1", request_type="Noise", item_code="16-01", agency="EPB",
        agency_name="EPB", created_at=datetime(2024, 7, 1, 1, 0, tzinfo=timezone.utc),
        closed_at=datetime(2024, 7, 1, 2, 30, tzinfo=timezone.utc), due_at=None,
        lat=22.9, lon=113.7, district=None, status="Open", description="loud",
    )]


def test_it_rejects_each_bad_row_with_field_and_reason(tmp_path):
    path = make_file(
        tmp_path,
        ",Noise,EPB,2024-07-01 09:00,,22.9,113.7,,Open,\n"
        "7,Noise,EPB,2024-07-01 09:00,,22.9,113.7,,Open,\n"
        "7,Noise,EPB,2024-07-01 09:00,,22.9,113.7,,Open,\n"
        "8,Noise,EPB,01/07/2024,,22.9,113.7,,Open,\n"
        "9,Noise,EPB,,,22.9,113.7,,Open,\n"
        "10,Noise,EPB,2024-07-01 09:00,yesterday,22.9,113.7,,Open,\n"
        "11,Noise,EPB,2024-07-02 09:00,2024-07-01 09:00,22.9,113.7,,Open,\n"
        "12,Fireworks,EPB,2024-07-01 09:00,,22.9,113.7,,Open,\n"
        "13,Noise,EPB,2024-07-01 09:00,,,,,Open,\n"
        "14,Noise,EPB,2024-07-01 09:00,,0,0,,Open,\n"
        "15,Noise,EPB,2024-07-01 09:00,,22.9,,东城,Open,\n"
        "16,Noise,EPB,2024-07-01 09:00,,95,113.7,,Open,\n"
        "17,Noise,EPB,2024-07-01 09:00,,22.9,113.7,,Open,,surplus\n",
    )
    results = list(read_records(path, TINY))
    assert isinstance(results[1], SourceRecord)
    got = [(r.row, r.external_id, r.field, r.reason) for r in results if isinstance(r, Rejection)]
    assert got == [
        (2, None, "external_id", "missing external id"),
        (4, "tiny:7", "external_id", "duplicate of row 3"),
        (5, "tiny:8", "created",
         "unreadable created date: '01/07/2024' matches none of the formats %Y-%m-%d %H:%M"),
        (6, "tiny:9", "created", "missing created date"),
        (7, "tiny:10", "closed",
         "unreadable closed date: 'yesterday' matches none of the formats %Y-%m-%d %H:%M"),
        (8, "tiny:11", "closed",
         "closed date 2024-07-01 09:00 is before created date 2024-07-02 09:00"),
        (9, "tiny:12", "request_type", "no item mapping for request type 'Fireworks'"),
        (10, "tiny:13", "district", "no location and no district"),
        (11, "tiny:14", "district", "no location and no district"),
        (12, "tiny:15", "lon", "lat 22.9 given without lon"),
        (13, "tiny:16", "lat", "lat 95 is outside [-90, 90]"),
        (14, "tiny:17", None, "row has 11 cells but the header has 10"),
    ]


def test_it_keeps_a_district_when_the_location_is_absent(tmp_path):
    path = make_file(tmp_path, "1,Garbage bins,EPB,2024-07-01 09:00,,0,0,东城,Open,\n")
    [record] = read_records(path, TINY)
    assert (record.item_code, record.lat, record.district) == ("14-01", None, "东城区")
    assert record.lon is None


def test_it_numbers_rows_by_record_through_bom_and_multiline_fields(tmp_path):
    path = tmp_path / "multiline.csv"
    path.write_text(
        "\ufeff" + TINY_HEADER
        + '1,Noise,EPB,2024-07-01 09:00,,22.9,113.7,,Open,"first line\nsecond line"\n'
        + "2,Noise,EPB,2024-07-01 09:00,,22.9,113.7,,Open,\n",
        encoding="utf-8",
    )
    first, second = read_records(path, TINY)
    assert (first.row, first.external_id) == (2, "tiny:1")
    assert first.description == "first line\nsecond line"
    assert (second.row, second.external_id) == (3, "tiny:2")


def test_it_refuses_a_file_without_the_format_columns(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("id,when\n1,today\n", encoding="utf-8")
    with pytest.raises(ValueError, match="'type'"):
        list(read_records(path, TINY))


def test_it_refuses_a_rule_naming_an_unknown_item():
    with pytest.raises(ValueError, match="99-99"):
        replace(TINY, item_rules=((r"noise", "99-99"),))


def test_it_registers_formats_by_cli_name():
    assert set(FORMATS) == {"la-myla311", "nyc-311"}
    assert get_format("nyc-311").timezone == "America/New_York"
    with pytest.raises(ValueError, match="la-myla311, nyc-311"):
        get_format("paris")


def test_it_counts_every_row_as_mapped_or_rejected(la, nyc):
    for results in (la, nyc):
        kinds = Counter(type(r).__name__ for r in results)
        assert set(kinds) == {"SourceRecord", "Rejection"}
        assert all(r.reason and r.row >= 2 for r in _rejections(results))
