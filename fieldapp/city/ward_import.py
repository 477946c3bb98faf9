"""Import the city's administrative list (wards, communes, special zones) from a CSV file.

Reads the file with unit_import's machinery (UTF-8 with or without BOM, comma or semicolon,
Vietnamese headers); checks every line; applies all lines or none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from .. import audit
from ..admin.unit_import import (
    MSG_NO_LINES,
    Checked,
    ImportSummary,
    cell,
    name_key,
    name_problem,
    read_csv,
    sentence,
)
from ..extensions import db
from ..models import Ward
from ..text import fold, nfc
from ..vocab import WARD_KINDS

CODE_MAX = 20
CODE = re.compile(r"^[A-Za-z0-9._-]+$")

HEADERS = {
    "ma": "code",
    "ma so": "code",
    "ma don vi": "code",
    "ma phuong xa": "code",
    "code": "code",
    "ten": "name",
    "ten don vi": "name",
    "ten phuong xa": "name",
    "name": "name",
    "loai": "kind",
    "loai hinh": "kind",
    "cap": "kind",
    "type": "kind",
    "kind": "kind",
}
KIND_WORDS = {
    **{fold(label): key for key, label in WARD_KINDS.items()},
    **{key: key for key in WARD_KINDS},
    "special zone": "special_zone",
}
EXAMPLE = "ma,ten,loai"


@dataclass
class WardRow:
    """One checked line of the file."""

    line: int
    code: str
    name: str
    kind: str


WardParse = Checked[WardRow]


def normalise_code(value: str) -> str:
    """Codes are compared and stored upper-case: "hp-01" and "HP-01" are one ward."""
    return value.strip().upper()


def parse_kind(value: str) -> str | None:
    """phường / xã / đặc khu (or ward / commune / special_zone), accents and case ignored."""
    return KIND_WORDS.get(" ".join(fold(value).replace("_", " ").split())) or KIND_WORDS.get(
        value.strip().lower()
    )


def parse_wards_csv(data: bytes, existing: dict[str, str] | None = None) -> WardParse:
    """Check a wards CSV line by line.

    `existing` maps name_key() of every ward's name to its code ("" when it has none), so a
    line that gives an existing ward's name to another code is refused.
    """
    result = WardParse()
    existing = existing or {}
    table = read_csv(data, HEADERS, [("code", "ma"), ("name", "ten"), ("kind", "loai")], EXAMPLE)
    codes: dict[str, int] = {}
    names: dict[str, int] = {}
    for line, cells in table.lines:
        errors = []
        code = normalise_code(cell(cells, table.columns, "code"))
        name = nfc(cell(cells, table.columns, "name"))
        kind_text = cell(cells, table.columns, "kind")
        kind = parse_kind(kind_text) if kind_text else None
        if not code:
            errors.append("Thiếu mã")
        elif len(code) > CODE_MAX or not CODE.match(code):
            errors.append(
                f"Mã “{code[:40]}” không hợp lệ: tối đa {CODE_MAX} ký tự gồm chữ không dấu, "
                "số, dấu chấm, gạch dưới hoặc gạch ngang"
            )
        elif code in codes:
            errors.append(f"Mã {code} trùng với dòng {codes[code]}")
        problem = name_problem(name, "tên")
        if problem:
            errors.append(sentence(problem))
        elif name_key(name) in names:
            errors.append(f"Tên “{name}” trùng với dòng {names[name_key(name)]}")
        elif existing.get(name_key(name), code) not in (code, ""):
            errors.append(f"Tên “{name}” đã là của đơn vị mã {existing[name_key(name)]}")
        if not kind_text:
            errors.append("Thiếu loại")
        elif kind is None:
            errors.append(f"Loại “{kind_text[:40]}” không rõ; hãy dùng Phường, Xã hoặc Đặc khu")
        if code:
            codes.setdefault(code, line)
        if name:
            names.setdefault(name_key(name), line)
        if errors:
            result.errors.extend(f"Dòng {line}: {message}" for message in errors)
        else:
            result.rows.append(WardRow(line, code, name, kind or ""))
    result.errors.extend(table.errors)
    if not result.rows and not result.errors:
        result.errors.append(MSG_NO_LINES)
    return result


def existing_names() -> dict[str, str]:
    """name_key -> code ("" if none) of every ward, for parse_wards_csv."""
    return {name_key(w.name): w.code or "" for w in db.session.scalars(sa.select(Ward))}


def import_wards(rows: list[WardRow]) -> ImportSummary:
    """Create or update wards by code (a ward without a code is matched by name). No commit."""
    summary = ImportSummary()
    wards = list(db.session.scalars(sa.select(Ward)))
    by_code = {normalise_code(w.code): w for w in wards if w.code}
    by_name = {name_key(w.name): w for w in wards if not w.code}
    for row in rows:
        ward = by_code.get(row.code) or by_name.get(name_key(row.name))
        if ward is None:
            ward = Ward(
                code=row.code, name=row.name, kind=row.kind, unit_label=default_label(row.kind)
            )
            db.session.add(ward)
            db.session.flush()
            audit.record("ward_created", ward, ward_id=ward.id, via="import")
            summary.created.append(row.name)
            continue
        changed = [
            name
            for name, value in (("code", row.code), ("name", row.name), ("kind", row.kind))
            if getattr(ward, name) != value
        ]
        if changed:
            ward.code, ward.name, ward.kind = row.code, row.name, row.kind
            audit.record("ward_updated", ward, ward_id=ward.id, fields=changed, via="import")
            summary.updated.append(row.name)
        else:
            summary.unchanged.append(row.name)
    return summary


def default_label(kind: str) -> str:
    """A commune's residential units are usually "Thôn"; a ward's "Tổ dân phố"."""
    return "Thôn" if kind == "commune" else "Tổ dân phố"


def sample_csv() -> bytes:
    """A sample file (UTF-8 with BOM, CRLF) that opens in Excel with Vietnamese intact."""
    lines = [
        "ma,ten,loai",
        "HP001,Phường Hoa Sen,Phường",
        "HP002,Xã An Lạc,Xã",
        "HP003,Đặc khu Đảo Ngọc,Đặc khu",
    ]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")
