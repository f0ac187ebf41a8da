"""Exports: the CSV (UTF-8 with a BOM) and the Excel workbook hold the numbers on screen,
one sheet per table, and a name that looks like a formula stays text."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from dashboard.metrics_page import data, export, tables
from dashboard.metrics_page.definitions import SHOWN
from models.actor import Actor
from models.area import Area
from models.enums import Role
from models.metrics import get_range
from models.org import Department
from tests.metrics_page_support import DAY, make_ranked_world

EXPORTED = datetime(2026, 11, 3, 1, 0, tzinfo=timezone.utc)
HOSTILE = ['=HYPERLINK("http://evil.example","点我")', "+1+1", "-2+3", "@SUM(A1:A9)",
           "\t=1+1", "\r=1+1"]


@pytest.fixture
def world(session):
    return make_ranked_world(session)


def city_view(session, world, lang: str = "zh", **choices):
    actor = Actor(Role.LEADER, "city-leader", None, world.areas["C"].id)
    return data.get_view(session, actor, None, DAY, department_level="town", **choices)


def read_csv_sections(raw: bytes) -> dict[str, list[list[str]]]:
    """{title: [header, *rows]} from the exported CSV."""
    sections, current = {}, None
    for row in csv.reader(io.StringIO(raw.decode("utf-8-sig"))):
        if not row:
            current = None
        elif current is None:
            current = sections.setdefault(row[0], [])
        else:
            current.append(row)
    return sections


def as_csv(cell) -> str:
    return "" if cell is None else str(cell)


def test_it_writes_a_csv_excel_reads_in_chinese_with_the_numbers_on_screen(session, world):
    view = city_view(session, world)
    shown = tables.build_tables(view, "zh", EXPORTED)
    raw = export.write_csv(shown)
    assert raw.startswith(b"\xef\xbb\xbf")
    sections = read_csv_sections(raw)
    assert list(sections) == ["说明", "指标", "区域排名", "部门排名", "每日趋势"]
    for table in shown:
        header, *rows = sections[table.title]
        assert header == table.columns
        assert rows == [[as_csv(c) for c in row] for row in table.rows]
    indicators = {row[1]: row for row in sections["指标"][1:]}
    assert set(indicators) == set(SHOWN)
    figures = get_range(session, world.areas["C"].id, DAY.start, DAY.end)
    assert indicators["on_time_closure_rate"][2] == str(round(58 / 61 * 100, 1))
    assert figures["on_time_closure_rate"] == pytest.approx(58 / 61)  # 3 of 61 closed late
    assert indicators["on_time_closure_rate"][4:6] == ["58", "61"]
    assert indicators["closed"][2] == "61" and indicators["reported"][2] == "61"
    assert sections["区域排名"][1:] == [["1", "区域B", "B", "100.0", "31", "已排名"],
                                       ["2", "区域A", "A", "90.0", "30", "已排名"]]


def test_it_writes_an_excel_workbook_with_a_sheet_per_table(session, world):
    view = city_view(session, world)
    shown = tables.build_tables(view, "en", EXPORTED)
    book = load_workbook(io.BytesIO(export.write_xlsx(shown)))
    assert book.sheetnames == ["About", "Indicators", "Area rankings", "Department rankings", "Trend"]
    for table in shown:
        sheet = book[table.title]
        values = [list(row) for row in sheet.iter_rows(values_only=True)]
        assert values[0] == table.columns
        assert values[1:] == [[None if c == "" else c for c in row] for row in table.rows]  # "" reads back empty
    indicators = {row[1]: row for row in book["Indicators"].iter_rows(min_row=2, values_only=True)}
    assert indicators["on_time_closure_rate"][2] == round(58 / 61 * 100, 1)
    assert isinstance(indicators["closed"][2], int) and indicators["closed"][2] == 61
    assert [r[:5] for r in book["Department rankings"].iter_rows(min_row=2, values_only=True)] == [
        (1, "dept-A", "dept-A", 90.0, 30), (None, "dept-B", "dept-B", None, 26)]
    assert list(book["Trend"].iter_rows(min_row=2, values_only=True)) == [("2026-11-02", 61, 61, 0, 95.1)]


def test_it_quotes_text_that_a_spreadsheet_would_run(session, world):
    for n, name in enumerate(HOSTILE[:4]):
        key = "AB"[n % 2]
        session.execute(update(Area).where(Area.id == world.areas[key].id).values(name_zh=name))
        session.execute(update(Department).where(Department.id == world.departments[f"dept-{key}"].id)
                        .values(name_zh=name))
        view = city_view(session, world)
        shown = tables.build_tables(view, "zh", EXPORTED)
        cells = read_csv_sections(export.write_csv(shown))
        assert "'" + name in [r[1] for r in cells["区域排名"]]
        assert "'" + name in [r[1] for r in cells["部门排名"]]
        assert not any(c.startswith(name) for rows in cells.values() for r in rows for c in r)
        book = load_workbook(io.BytesIO(export.write_xlsx(shown)))
        written = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
        assert all(cell.data_type != "f" for cell in written)
        names = [c for c in written if isinstance(c.value, str) and name in c.value]
        assert names and all(c.value == "'" + name and c.data_type == "s" for c in names)
    session.rollback()


def test_it_quotes_every_dangerous_start_and_leaves_numbers_alone():
    for text in HOSTILE:
        assert export.make_safe(text) == "'" + text
    for cell in ("南城街道", "a=b", "", None, -3.2, -7, 0, 12.5):
        assert export.make_safe(cell) == cell
    table = tables.Table("t", "表", ["=名称", "变化"], [["-区域", -1.5], ["@部门", 2]])
    raw = export.write_csv([table]).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(raw))) == [["表"], ["'=名称", "变化"], ["'-区域", "-1.5"], ["'@部门", "2"]]
    sheet = load_workbook(io.BytesIO(export.write_xlsx([table])))["表"]
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["'=名称", "变化"], ["'-区域", -1.5], ["'@部门", 2]]
    assert sheet["B2"].data_type == "n"


def test_it_names_the_file_after_the_area_and_range():
    assert export.get_filename("441900004", DAY.start, DAY.end, "xlsx") == \
        "metrics_441900004_2026-11-02_2026-11-02.xlsx"


def test_markup_in_a_name_is_exported_as_the_same_plain_text(session, world):
    """XSS: a name holding markup is a text cell, exactly as typed: never escaped into
    entities, never dropped, never a formula (the exports are files, not pages)."""
    name = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    session.execute(update(Area).where(Area.id == world.areas["A"].id).values(name_zh=name))
    shown = tables.build_tables(city_view(session, world), "zh", EXPORTED)
    cells = read_csv_sections(export.write_csv(shown))
    assert name in [r[1] for r in cells["区域排名"]]
    assert not any("&lt;" in c for rows in cells.values() for r in rows for c in r)
    book = load_workbook(io.BytesIO(export.write_xlsx(shown)))
    found = [c for sheet in book for row in sheet.iter_rows() for c in row if c.value == name]
    assert found and all(c.data_type == "s" for c in found)
    session.rollback()
