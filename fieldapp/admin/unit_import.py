"""Import units and targets from a CSV file: parse and check as plain functions, then apply."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import sqlalchemy as sa

from .. import audit, tables
from ..extensions import db
from ..models import Campaign, Target, Unit, Ward
from ..text import fold, nfc
from ..vocab import RESIDENTIAL_LABELS, UNIT_KINDS

MAX_LINES = 2000
NAME_MAX = 120
TARGET_MAX = 10_000_000

# Header cells, accent-folded with "_" read as a space, and the column each one names.
HEADERS = {
    "ten": "name",
    "ten don vi": "name",
    "don vi": "name",
    "loai": "kind",
    "loai don vi": "kind",
    "chi tieu": "target",
}

# Accent-folded words accepted in the kind column (besides the keys themselves).
KIND_WORDS = {
    **{fold(label): "residential" for label in RESIDENTIAL_LABELS},
    "to": "residential",
    "tdp": "residential",
    "kdc": "residential",
    fold(UNIT_KINDS["agency"]): "agency",
    "co quan": "agency",
    "don vi": "agency",
    "co quan don vi": "agency",
    fold(UNIT_KINDS["school"]): "school",
    "truong": "school",
    fold(UNIT_KINDS["organisation"]): "organisation",
    **{key: key for key in UNIT_KINDS},
}

Row = TypeVar("Row")

_THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3})+$")

MSG_NOT_UTF8 = tables.MSG_NOT_UTF8
MSG_TARGET = "Chỉ tiêu phải là số nguyên không âm"
MSG_NO_LINES = "Tệp không có dòng dữ liệu nào."


@dataclass
class UnitRow:
    """One checked line of the file."""

    line: int
    name: str
    kind: str
    target: int | None


@dataclass
class Checked(Generic[Row]):
    """An import file's lines that passed, and one message per problem (with its line number):
    what the units, wards and roster checks all return."""

    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


ParseResult = Checked[UnitRow]


@dataclass
class ImportSummary:
    """What an import did, for the screen and the audit trail."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def name_key(name: str) -> str:
    """Two unit names are the same unit when they match after NFC and case folding."""
    return nfc(name).casefold()


def name_problem(name: str, what: str) -> str | None:
    """What is wrong with a name cell, lower-case ("thiếu tên", "tên dài quá 120 ký tự"), or
    None. `what` is the cell's name in the messages: "tên", "tên đơn vị", "họ và tên"."""
    if not name:
        return f"thiếu {what}"
    if len(name) > NAME_MAX:
        return f"{what} dài quá {NAME_MAX} ký tự"
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        # NUL and other control characters: PostgreSQL refuses NUL, and none belongs in a name.
        return f"{what} có ký tự lạ (ký tự điều khiển)"
    return None


def sentence(message: str) -> str:
    """A message that starts a sentence: its first letter upper-case."""
    return message[:1].upper() + message[1:]


def parse_count(value: str) -> int | None:
    """A whole number ≥ 0 as typed by a person ("1200", "1.200", " 45 "), or None."""
    value = value.strip().replace(" ", "").replace("\u00a0", "")
    if _THOUSANDS.match(value):
        value = value.replace(".", "")
    if not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if number <= TARGET_MAX else None


def parse_kind(value: str) -> str | None:
    """A unit kind from its key or its Vietnamese label, accents and case ignored."""
    key = fold(value).replace(",", " ").replace("_", " ")
    key = " ".join(key.split())
    return KIND_WORDS.get(key) or KIND_WORDS.get(key.replace(" ", "_"))


def decode(data: bytes) -> str | None:
    """UTF-8 text with or without a byte-order mark, or None if the bytes are not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


@dataclass
class CsvTable:
    """The data lines of an uploaded CSV: (line number, cells), and the header's columns."""

    columns: dict[str, int] = field(default_factory=dict)
    lines: list[tuple[int, list[str]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def header_key(cell: str) -> str:
    """A header cell accent-folded, with "_" read as a space: "Chỉ_tiêu" -> "chi tieu"."""
    return " ".join(fold(cell).replace("_", " ").split())


def header_columns(header: list[str], headers: dict[str, str]) -> dict[str, int]:
    """column name -> index, from a header row read through `headers` (the first cell wins)."""
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        column = headers.get(header_key(cell))
        if column and column not in columns:
            columns[column] = index
    return columns


def missing_columns(
    columns: dict[str, int], required: list[tuple[str, str]], example: str, line: int = 1
) -> str | None:
    """The message for required columns a header lacks (None when it has them all)."""
    missing = [label for key, label in required if key not in columns]
    if not missing:
        return None
    return f"Dòng {line}: thiếu cột " + ", ".join(missing) + f". Dòng đầu tiên phải là: {example}"


def read_csv(
    data: bytes, headers: dict[str, str], required: list[tuple[str, str]], example: str
) -> CsvTable:
    """Read an uploaded CSV (UTF-8 with or without BOM, comma or semicolon) into lines.

    `headers` maps header_key() of a header cell to a column name; `required` lists the
    (column, word to show) that must be there; `example` is the header line to suggest.
    Blank lines are skipped; the file is read within tables.read_table's limits (at most
    MAX_LINES lines below the header).
    """
    table = CsvTable()
    try:
        rows = tables.read_table("import.csv", data, max_rows=MAX_LINES, legacy_encoding=None)
    except tables.TableError as refused:
        table.errors.append(refused.message)
        return table
    if not rows:
        table.errors.append("Tệp trống.")
        return table
    (first, header), *table.lines = rows
    table.columns = header_columns(header, headers)
    missing = missing_columns(table.columns, required, example, first)
    if missing:
        table.lines = []
        table.errors.append(missing)
    return table


def parse_units_csv(data: bytes, existing: dict[str, str] | None = None) -> ParseResult:
    """Check a units CSV line by line.

    `existing` maps name_key() of the ward's units to their kind, so that a line naming an
    existing unit with another kind is refused rather than silently changing it.
    """
    result = ParseResult()
    existing = existing or {}
    table = read_csv(data, HEADERS, [("name", "ten"), ("kind", "loai")], "ten,loai,chi_tieu")
    seen: dict[str, int] = {}
    for line, cells in table.lines:
        _check_line(line, cells, table.columns, seen, existing, result)
    result.errors.extend(table.errors)
    if not result.rows and not result.errors:
        result.errors.append(MSG_NO_LINES)
    return result


def cell(cells: list[str], columns: dict[str, int], column: str) -> str:
    index = columns.get(column)
    if index is None or index >= len(cells):
        return ""
    return cells[index].strip()


def _check_line(
    line: int,
    cells: list[str],
    columns: dict[str, int],
    seen: dict[str, int],
    existing: dict[str, str],
    result: ParseResult,
) -> None:
    errors = []
    name = nfc(cell(cells, columns, "name"))
    kind_text = cell(cells, columns, "kind")
    target_text = cell(cells, columns, "target")
    kind = parse_kind(kind_text) if kind_text else None
    target = parse_count(target_text) if target_text else None
    problem = name_problem(name, "tên đơn vị")
    if problem:
        errors.append(sentence(problem))
    elif name_key(name) in seen:
        errors.append(f"Tên đơn vị trùng với dòng {seen[name_key(name)]}")
    if not kind_text:
        errors.append("Thiếu loại đơn vị")
    elif kind is None:
        errors.append(
            f"Loại “{kind_text}” không rõ; hãy dùng Tổ dân phố, Cơ quan, Trường học hoặc Đoàn thể"
        )
    elif name and existing.get(name_key(name), kind) != kind:
        errors.append(
            "Đơn vị này đã có với loại "
            f"“{UNIT_KINDS[existing[name_key(name)]]}”; hãy sửa loại cho khớp"
        )
    if target_text and target is None:
        errors.append(MSG_TARGET)
    if name:
        seen.setdefault(name_key(name), line)
    if errors:
        result.errors.extend(f"Dòng {line}: {message}" for message in errors)
    else:
        result.rows.append(UnitRow(line=line, name=name, kind=kind or "", target=target))


def existing_kinds(ward: Ward) -> dict[str, str]:
    """name_key -> kind for every unit of the ward, for parse_units_csv."""
    units = db.session.scalars(sa.select(Unit).where(Unit.ward_id == ward.id))
    return {name_key(unit.name): unit.kind for unit in units}


def import_units(ward: Ward, campaign: Campaign | None, rows: list[UnitRow]) -> ImportSummary:
    """Create new units and set targets of existing ones; the caller commits (all or nothing)."""
    summary = ImportSummary()
    units = {
        name_key(unit.name): unit
        for unit in db.session.scalars(sa.select(Unit).where(Unit.ward_id == ward.id))
    }
    for row in rows:
        unit = units.get(name_key(row.name))
        created = unit is None
        if unit is None:
            unit = Unit(ward_id=ward.id, name=row.name, kind=row.kind, active=True)
            db.session.add(unit)
            db.session.flush()
            units[name_key(row.name)] = unit
            audit.record("unit_created", unit, ward_id=ward.id, kind=row.kind, via="import")
        changed = False
        if campaign is not None and row.target is not None:
            changed = set_target(unit, campaign, row.target)
        if created:
            summary.created.append(unit.name)
        elif changed:
            summary.updated.append(unit.name)
        else:
            summary.unchanged.append(unit.name)
    audit.record(
        "units_imported",
        ward_id=ward.id,
        created=len(summary.created),
        updated=len(summary.updated),
        unchanged=len(summary.unchanged),
    )
    return summary


def set_target(unit: Unit, campaign: Campaign, value: int | None) -> bool:
    """Set (or clear, with None) a unit's target for a campaign; True if it changed."""
    target = db.session.scalar(
        sa.select(Target).where(Target.unit_id == unit.id, Target.campaign_id == campaign.id)
    )
    old = target.value if target else None
    if old == value:
        return False
    if value is None:
        db.session.delete(target)
    elif target is None:
        db.session.add(Target(unit_id=unit.id, campaign_id=campaign.id, value=value))
    else:
        target.value = value
    audit.record(
        "target_set", unit, ward_id=unit.ward_id, campaign_id=campaign.id, old=old, new=value
    )
    return True


def sample_csv(unit_label: str) -> bytes:
    """A sample file that opens in Excel with Vietnamese intact: UTF-8 with BOM, CRLF."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["ten", "loai", "chi_tieu"])
    writer.writerow([f"{unit_label} số 1", unit_label, 120])
    writer.writerow([f"{unit_label} số 2", unit_label, 95])
    writer.writerow(["Trạm Y tế phường", UNIT_KINDS["agency"], 25])
    writer.writerow(["Trường Tiểu học Hoa Sen", UNIT_KINDS["school"], 400])
    writer.writerow(["Hội Cựu chiến binh phường", UNIT_KINDS["organisation"], 40])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
