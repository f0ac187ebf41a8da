"""The page's tables as CSV and as an Excel workbook.

CSV: UTF-8 with a byte-order mark, which is what makes Excel read Chinese correctly; the
tables follow one another, each under its title, separated by a blank line. Excel: one
sheet per table. In both, a text cell is only ever text: one starting with = + - @ (or a
tab or carriage return) is prefixed with a single quote, so a spreadsheet never runs an
area's or department's name as a formula (CSV injection). Numbers stay numbers.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from dashboard.metrics_page.tables import Cell, Table

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_TYPE = "text/csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def make_safe(cell: Cell) -> Cell:
    """A text cell that a spreadsheet would take for a formula gets a leading quote."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def _safe_row(row: Iterable[Cell]) -> list[Cell]:
    return [make_safe(cell) for cell in row]


def write_csv(tables: list[Table]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for n, table in enumerate(tables):
        if n:
            writer.writerow([])
        writer.writerow(_safe_row([table.title]))
        writer.writerow(_safe_row(table.columns))
        writer.writerows(_safe_row(row) for row in table.rows)
    return buffer.getvalue().encode("utf-8-sig")


def _text(cell: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", make_safe(cell))


def write_xlsx(tables: list[Table]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(title=table.title[:31])
        sheet.append([_text(c) for c in table.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([_text(c) if isinstance(c, str) else c for c in row])
        for row in sheet.iter_rows(min_row=1):
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # text, never a formula
        _fit_columns(sheet, table)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _fit_columns(sheet, table: Table) -> None:
    for n, title in enumerate(table.columns, start=1):
        longest = max([len(str(title))] + [len(str(r[n - 1])) for r in table.rows if n <= len(r)])
        sheet.column_dimensions[get_column_letter(n)].width = min(60, max(8, longest * 1.6))


def get_filename(code: str, start, end, extension: str) -> str:
    return f"metrics_{code}_{start.isoformat()}_{end.isoformat()}.{extension}"
