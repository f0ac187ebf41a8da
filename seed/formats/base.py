"""Reading a city's 311 export through a small declarative Format.

Every data row gives exactly one result, a SourceRecord or a Rejection saying which of
our fields was wrong and why, so an import report can account for the whole file.
"""
from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from os import PathLike
from zoneinfo import ZoneInfo

from seed.catalogue import all_items

REQUIRED_COLUMNS = (
    "external_id", "request_type", "agency", "created", "closed",
    "lat", "lon", "district", "status",
)
OPTIONAL_COLUMNS = ("agency_name", "due")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


@dataclass(frozen=True)
class Format:
    """How one city's export maps onto our fields. Declarations only; read_records does the work."""

    name: str
    source: str
    city_zh: str
    city_en: str
    timezone: str
    columns: Mapping[str, str]
    date_formats: tuple[str, ...]
    item_rules: tuple[tuple[str, str], ...]
    district_label: str
    description: tuple[str, ...]
    # Our field -> a column read when the main column is absent (NYC: borough for district).
    fallbacks: Mapping[str, str] = field(default_factory=dict)
    # Agency code -> name, for exports that carry only the code.
    agency_names: Mapping[str, str] = field(default_factory=dict)
    # Case-insensitive full-match regex for placeholders that mean "no value" ("Unspecified").
    placeholder: str | None = None
    description_separator: str = "; "
    encoding: str = "utf-8-sig"

    def __post_init__(self) -> None:
        missing = [f for f in REQUIRED_COLUMNS if f not in self.columns]
        unknown = [f for f in self.columns if f not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
        if missing or unknown:
            raise ValueError(
                f"format {self.name}: missing fields {missing}, unknown fields {unknown}"
            )
        ZoneInfo(self.timezone)
        known_items = {item.code for _, item in all_items()}
        for pattern, code in self.item_rules:
            re.compile(pattern)
            if code not in known_items:
                raise ValueError(f"format {self.name}: rule {pattern!r} names unknown item {code}")


@dataclass(frozen=True)
class SourceRecord:
    row: int
    external_id: str
    request_type: str
    item_code: str
    agency: str
    agency_name: str
    created_at: datetime
    closed_at: datetime | None
    due_at: datetime | None
    lat: float | None
    lon: float | None
    district: str | None
    status: str
    description: str


@dataclass(frozen=True)
class Rejection:
    row: int
    external_id: str | None
    field: str | None
    reason: str


class _Rejected(Exception):
    def __init__(self, field: str | None, reason: str):
        super().__init__(reason)
        self.field = field
        self.reason = reason


def read_records(path: str | PathLike[str], fmt: Format) -> Iterator[SourceRecord | Rejection]:
    """One SourceRecord or Rejection per data row, in file order (header is row 1)."""
    with open(path, newline="", encoding=fmt.encoding) as f:
        reader = csv.reader(f)
        header = [name.strip() for name in next(reader, [])]
        _check_header(header, fmt)
        seen: dict[str, int] = {}
        # Numbering follows records, not physical lines, so multi-line fields keep rows aligned.
        for row, cells in enumerate(reader, start=2):
            yield _read_row(_Row(header, cells, fmt), row, fmt, seen)


def parse_number(text: str | None) -> float | None:
    """A float from text that may carry thousands separators ("1,017,901"); None when empty."""
    text = _clean(text)
    if text is None:
        return None
    if _THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    return float(text)


def parse_date(text: str | None, fmt: Format) -> datetime | None:
    """An aware UTC datetime from the export's local time.

    None when empty; ValueError when none of the format's date formats fits.
    """
    text = _clean(text)
    if text is None:
        return None
    for date_format in fmt.date_formats:
        try:
            local = datetime.strptime(text, date_format)
        except ValueError:
            continue
        return local.replace(tzinfo=ZoneInfo(fmt.timezone)).astimezone(timezone.utc)
    raise ValueError(f"{text!r} matches none of the formats {', '.join(fmt.date_formats)}")


def match_item(request_type: str, fmt: Format) -> str | None:
    """The item code of the first rule whose regex is found in the request type."""
    for pattern, code in fmt.item_rules:
        if re.search(pattern, request_type, re.IGNORECASE):
            return code
    return None


def _check_header(header: list[str], fmt: Format) -> None:
    wanted = [*fmt.columns.values(), *fmt.fallbacks.values(), *fmt.description]
    missing = [column for column in wanted if column not in header]
    if missing:
        raise ValueError(f"{fmt.name}: the file has no column {', '.join(map(repr, missing))}")


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None


class _Row:
    """One CSV record, read by our field names, with placeholders turned into None."""

    def __init__(self, header: list[str], cells: list[str], fmt: Format):
        self.header_size = len(header)
        self.size = len(cells)
        # Exports trim trailing empty cells, so a short row just has empty fields.
        self._cells = dict(zip(header, cells))
        self._fmt = fmt

    def column(self, name: str) -> str | None:
        value = _clean(self._cells.get(name))
        placeholder = self._fmt.placeholder
        if value is not None and placeholder and re.fullmatch(placeholder, value, re.IGNORECASE):
            return None
        return value

    def get(self, our_field: str) -> str | None:
        name = self._fmt.columns.get(our_field)
        value = self.column(name) if name else None
        fallback = self._fmt.fallbacks.get(our_field)
        return value if value is not None or not fallback else self.column(fallback)


def _read_row(
    row: _Row, number: int, fmt: Format, seen: dict[str, int]
) -> SourceRecord | Rejection:
    raw_id = row.get("external_id")
    # Prefixed with the source, so ids from two cities never collide once imported.
    external_id = None if raw_id is None else f"{fmt.source}:{raw_id}"
    try:
        _check_identity(row, number, external_id, seen)
        return _build_record(row, number, fmt, external_id)
    except _Rejected as rejected:
        return Rejection(number, external_id, rejected.field, rejected.reason)


def _check_identity(row: _Row, number: int, external_id: str | None, seen: dict[str, int]) -> None:
    if external_id is None:
        raise _Rejected("external_id", "missing external id")
    if external_id in seen:
        raise _Rejected("external_id", f"duplicate of row {seen[external_id]}")
    seen[external_id] = number
    # Surplus cells mean a broken quote or delimiter: the cells we read may be the wrong ones.
    if row.size > row.header_size:
        raise _Rejected(None, f"row has {row.size} cells but the header has {row.header_size}")


def _build_record(row: _Row, number: int, fmt: Format, external_id: str) -> SourceRecord:
    created, closed, due = _read_dates(row, fmt)
    request_type, item_code = _read_item(row, fmt)
    lat, lon = _read_location(row)
    district = _read_district(row, fmt)
    if lat is None and district is None:
        raise _Rejected("district", "no location and no district")
    agency = row.get("agency") or ""
    return SourceRecord(
        row=number,
        external_id=external_id,
        request_type=request_type,
        item_code=item_code,
        agency=agency,
        agency_name=row.get("agency_name") or fmt.agency_names.get(agency, agency),
        created_at=created,
        closed_at=closed,
        due_at=due,
        lat=lat,
        lon=lon,
        district=district,
        status=row.get("status") or "",
        description=_read_description(row, fmt),
    )


def _read_dates(row: _Row, fmt: Format) -> tuple[datetime, datetime | None, datetime | None]:
    created = _read_date(row, "created", fmt)
    if created is None:
        raise _Rejected("created", "missing created date")
    closed = _read_date(row, "closed", fmt)
    due = _read_date(row, "due", fmt)
    if closed is not None and closed < created:
        raise _Rejected(
            "closed", f"closed date {row.get('closed')} is before created date {row.get('created')}"
        )
    return created, closed, due


def _read_date(row: _Row, our_field: str, fmt: Format) -> datetime | None:
    try:
        return parse_date(row.get(our_field), fmt)
    except ValueError as error:
        raise _Rejected(our_field, f"unreadable {our_field} date: {error}") from None


def _read_item(row: _Row, fmt: Format) -> tuple[str, str]:
    request_type = row.get("request_type")
    if request_type is None:
        raise _Rejected("request_type", "missing request type")
    item_code = match_item(request_type, fmt)
    if item_code is None:
        raise _Rejected("request_type", f"no item mapping for request type {request_type!r}")
    return request_type, item_code


def _read_location(row: _Row) -> tuple[float | None, float | None]:
    lat = _read_coordinate(row, "lat", 90)
    lon = _read_coordinate(row, "lon", 180)
    if (lat is None) != (lon is None):
        present, absent = ("lat", "lon") if lon is None else ("lon", "lat")
        raise _Rejected(absent, f"{present} {row.get(present)} given without {absent}")
    # Geocoders write 0/0 when they fail: that is a point in the Gulf of Guinea, not a place.
    if lat == 0 and lon == 0:
        return None, None
    return lat, lon


def _read_coordinate(row: _Row, our_field: str, bound: int) -> float | None:
    text = row.get(our_field)
    try:
        value = parse_number(text)
    except ValueError:
        raise _Rejected(our_field, f"{our_field} {text!r} is not a number") from None
    if value is not None and not -bound <= value <= bound:
        raise _Rejected(our_field, f"{our_field} {text} is outside [-{bound}, {bound}]")
    return value


def _read_district(row: _Row, fmt: Format) -> str | None:
    district = row.get("district")
    return None if district is None else fmt.district_label.format(district)


def _read_description(row: _Row, fmt: Format) -> str:
    parts = (row.column(name) for name in fmt.description)
    return fmt.description_separator.join(part for part in parts if part)
