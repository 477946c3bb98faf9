"""A unit's participant list: read a CSV or XLSX upload, line by line, all or nothing; then a
preview (counts by kind, the first lines, what it replaces) that the reporter confirms.

Between the preview and the confirmation the list travels in the page, sealed with the app's
secret key (itsdangerous, compressed, valid one hour): no half-uploaded list is kept on the
server, and the confirmation stores exactly what was previewed, for that unit and account, as
long as the stored list has not changed meanwhile.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeTimedSerializer

from .. import tables
from ..extensions import db
from ..models import Participant, UnitReport
from ..text import fold, nfc

MAX_LINES = 20_000
MAX_NAME = 120
MAX_GROUP = 120
PREVIEW_LINES = 10
PENDING_SALT = "participants-upload"
PENDING_SECONDS = 3600  # a preview left open longer is uploaded again

MSG_EXTENSION = "Tệp phải có đuôi .csv hoặc .xlsx."
MSG_UNREADABLE = "Không đọc được tệp. Hãy lưu lại dạng CSV (UTF-8) hoặc Excel .xlsx."
MSG_NO_NAME = (
    "Tệp thiếu cột “Họ và tên”. Dòng đầu của tệp cần là tiêu đề các cột: Họ và tên, "
    "Lớp (hoặc Phòng ban), Đối tượng."
)
MSG_NO_KIND = (
    "Tệp thiếu cột “Đối tượng”: trường học cần cột này, ghi “Học sinh” hoặc “Giáo viên” "
    "cho từng người."
)
MSG_NO_HEADER = (
    "Dòng đầu của tệp phải là tiêu đề các cột, trong đó có “Họ và tên” và “Đối tượng” "
    "(ghi “Học sinh” hoặc “Giáo viên”)."
)

# Header words, accent-folded, for each column we read; other columns (STT, ghi chú) are ignored.
NAME_HEADERS = {"ho va ten", "ho ten", "ten", "name", "full name", "ho va ten hoc sinh"}
GROUP_HEADERS = {
    "lop",
    "lop hoac phong ban",
    "lop/phong ban",
    "phong ban",
    "phong",
    "bo phan",
    "to",
    "to chuyen mon",
    "don vi",
    "class",
    "department",
}
KIND_HEADERS = {"doi tuong", "loai", "kind", "vai tro", "chuc vu"}
KINDS = {
    "hoc sinh": "pupil",
    "hs": "pupil",
    "pupil": "pupil",
    "sinh vien": "pupil",
    "giao vien": "teacher",
    "gv": "teacher",
    "teacher": "teacher",
    "can bo": "other",
    "nhan vien": "other",
    "khac": "other",
    "": "other",
}
KIND_LABELS = {"pupil": "Học sinh", "teacher": "Giáo viên", "other": "Khác"}


@dataclass
class ParsedList:
    """The outcome of reading an upload: the people, or the reasons it was refused."""

    people: list[tuple[str, str, str]] = field(default_factory=list)  # name, group, kind
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.people)


def parse(filename: str, data: bytes, kind_required: bool = False) -> ParsedList:
    """Read a participant list (name, class or department, kind) from CSV or XLSX.

    `kind_required` (a school's list): the file must have a header with the kind column.
    The file is read within tables.read_table's limits (rows, columns, cell length, size, time).
    """
    lines = read_rows(filename, data)
    if isinstance(lines, str):
        return ParsedList(errors=[lines])
    return parse_lines(lines, kind_required)


def read_rows(filename: str, data: bytes) -> list[tuple[int, list[str]]] | str:
    """The numbered rows of cells of an uploaded CSV or XLSX (by its name), or why not.

    Shared by every upload of people (this list, the ward's roster), within
    tables.read_table's limits.
    """
    try:
        return tables.read_table(filename, data, max_rows=MAX_LINES)
    except tables.TableError as refused:
        return refused.message


def parse_lines(lines: list[tuple[int, list[str]]], kind_required: bool = False) -> ParsedList:
    """Turn numbered rows of cells into people, with an error per bad line.

    A file missing a column it needs is refused at once, with the column named.
    """
    result = ParsedList()
    rows = [(n, [c.strip() for c in cells]) for n, cells in lines if any(c.strip() for c in cells)]
    if not rows:
        result.errors.append("Tệp không có dòng nào.")
        return result
    columns = _columns(rows[0][1])
    if columns is None:
        if kind_required:
            result.errors.append(MSG_NO_HEADER)
            return result
        columns = (0, 1, 2)  # no header: name, class/department, kind in that order
    else:
        rows = rows[1:]
        missing = [MSG_NO_NAME] if columns[0] is None else []
        if kind_required and columns[2] is None:
            missing.append(MSG_NO_KIND)
        if missing:
            result.errors.extend(missing)
            return result
    if len(rows) > MAX_LINES:
        result.errors.append(
            f"Tệp có quá nhiều dòng (tối đa {MAX_LINES:,} dòng).".replace(",", ".")
        )
        return result
    name_col, group_col, kind_col = columns
    for number, cells in rows:
        full_name = nfc(_cell(cells, name_col))
        group = nfc(_cell(cells, group_col))
        kind_text = nfc(_cell(cells, kind_col))
        problems = []
        if not full_name:
            problems.append("thiếu họ và tên")
        elif not any(ch.isalpha() for ch in full_name):
            problems.append(f"họ và tên “{full_name[:40]}” không hợp lệ")
        elif len(full_name) > MAX_NAME:
            problems.append(f"họ và tên dài quá {MAX_NAME} ký tự")
        elif _has_control(full_name):
            problems.append("họ và tên có ký tự lạ (ký tự điều khiển)")
        if len(group) > MAX_GROUP:
            problems.append(f"tên lớp hoặc phòng ban dài quá {MAX_GROUP} ký tự")
        elif _has_control(group):
            problems.append("tên lớp hoặc phòng ban có ký tự lạ (ký tự điều khiển)")
        kind = KINDS.get(fold(kind_text)) if kind_col is not None else "other"
        if kind is None:
            problems.append(f"đối tượng “{kind_text[:30]}” không rõ (ghi Học sinh hoặc Giáo viên)")
        if problems:
            result.errors.append(f"Dòng {number}: " + "; ".join(problems) + ".")
        else:
            result.people.append((full_name, group, kind or "other"))
    if result.errors:
        result.people = []  # all or nothing
    elif not result.people:
        result.errors.append("Tệp không có dòng nào.")
    return result


def _has_control(value: str) -> bool:
    # NUL and other control characters (nfc() already turned tabs and newlines into spaces):
    # PostgreSQL refuses NUL in text, and none of them belongs in a name.
    return any(unicodedata.category(ch) == "Cc" for ch in value)


def _cell(cells: list[str], index: int | None) -> str:
    if index is None or index >= len(cells):
        return ""
    return cells[index]


def _columns(header: list[str]) -> tuple[int | None, int | None, int | None] | None:
    """(name, group, kind) column indexes from a header row (None for a column it lacks), or
    None if the row names no column we know (then it is a first person, not a header)."""
    keys = [fold(c).strip(" :*") for c in header]
    name = next((i for i, k in enumerate(keys) if k in NAME_HEADERS), None)
    group = next((i for i, k in enumerate(keys) if k in GROUP_HEADERS), None)
    kind = next((i for i, k in enumerate(keys) if k in KIND_HEADERS), None)
    if name is None and group is None and kind is None:
        return None
    return name, group, kind


def counts(people: list[tuple[str, str, str]]) -> dict[str, int]:
    """How many people of each kind (pupil, teacher, other), kinds with none left out."""
    found = {kind: 0 for kind in KIND_LABELS}
    for _, _, kind in people:
        found[kind] = found.get(kind, 0) + 1
    return {kind: n for kind, n in found.items() if n}


@dataclass
class Pending:
    """An uploaded list waiting for the reporter's confirmation (what the preview showed)."""

    unit_id: int
    user_id: int
    replaces: str  # fingerprint() of the stored list when the preview was made
    people: list[tuple[str, str, str]]


def seal(secret: str, pending: Pending) -> str:
    """The pending list as a signed, compressed token to carry in the preview page."""
    payload = [pending.unit_id, pending.user_id, pending.replaces, pending.people]
    return URLSafeTimedSerializer(secret, salt=PENDING_SALT).dumps(payload)


def unseal(secret: str, token: str, max_age: int = PENDING_SECONDS) -> Pending | None:
    """The pending list of a token this app sealed within `max_age` seconds, else None."""
    try:
        unit_id, user_id, replaces, people = URLSafeTimedSerializer(
            secret, salt=PENDING_SALT
        ).loads(token or "", max_age=max_age)
    except (BadSignature, ValueError, TypeError):  # expired, forged, or not ours
        return None
    return Pending(unit_id, user_id, replaces, [tuple(p) for p in people])


def fingerprint(report: UnitReport | None) -> str:
    """Which stored list a preview replaces: its size and newest line (changes on any upload)."""
    if report is None:
        return "0:0"
    size, newest = db.session.execute(
        sa.select(sa.func.count(), sa.func.max(Participant.id)).where(
            Participant.report_id == report.id
        )
    ).one()
    return f"{size}:{newest or 0}"


def replace(report: UnitReport, people: list[tuple[str, str, str]]) -> int:
    """Store a new list in place of the report's old one; returns how many were stored."""
    erase(report)
    db.session.add_all(
        Participant(report_id=report.id, full_name=n, group_name=g, kind=k) for n, g, k in people
    )
    return len(people)


def erase(report: UnitReport) -> int:
    """Delete the report's list (personal data); returns how many lines went."""
    result = db.session.execute(sa.delete(Participant).where(Participant.report_id == report.id))
    return result.rowcount or 0


def summary(report: UnitReport | None) -> dict[str, int]:
    """How many people the stored list holds, by kind."""
    if report is None:
        return {}
    rows = db.session.execute(
        sa.select(Participant.kind, sa.func.count())
        .where(Participant.report_id == report.id)
        .group_by(Participant.kind)
    )
    return {kind: n for kind, n in rows}
