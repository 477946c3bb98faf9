"""The ward's roster from a CSV or XLSX file: members, group heads and unit reporters, checked
line by line against the ward, then created all together or not at all.

The file is read by participants.read_rows (tables.read_table's limits, like every upload) and its
header by unit_import's header machinery; the accounts are made by admin.views.create_person, and
a unit fits a role by admin.views.unit_problem, the same rules as the person form.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import sqlalchemy as sa

from .. import audit
from ..extensions import db
from ..models import Unit, User, Ward
from ..reports import participants
from ..tally import counts
from ..text import fold, nfc, normalise_phone
from ..vocab import RESIDENTIAL_LABELS, UNIT_KINDS, WARD_ROLES
from .forms import USERNAME
from .unit_import import (  # noqa: F401 - NAME_MAX: the roster's limit too
    MAX_LINES,
    MSG_NO_LINES,
    NAME_MAX,
    Checked,
    cell,
    header_columns,
    missing_columns,
    name_key,
    name_problem,
)
from .views import create_person, unit_problem

USERNAME_MAX = 60
EXAMPLE = "Họ và tên,Số điện thoại,Đơn vị,Vai trò"

# Header cells as unit_import.header_key() folds them, and the column each one names.
HEADERS = {
    **dict.fromkeys(["ho va ten", "ho ten", "ten", "name", "full name"], "name"),
    **dict.fromkeys(
        ["so dien thoai", "dien thoai", "sdt", "so dt", "dt", "phone", "di dong"], "phone"
    ),
    **dict.fromkeys(
        ["don vi", "ten don vi", "to", "to dan pho", "khu dan cu", "thon", "unit", "thuoc don vi"],
        "unit",
    ),
    **dict.fromkeys([fold(label) for label in RESIDENTIAL_LABELS], "unit"),
    **dict.fromkeys(["vai tro", "chuc vu", "role"], "role"),
    **dict.fromkeys(["ten dang nhap", "username"], "username"),
}
REQUIRED = [("name", "“Họ và tên”"), ("unit", "“Đơn vị”")]

# Accent-folded words of the role column. A blank role is a member.
ROLE_WORDS = {
    **dict.fromkeys(
        ["", "thanh vien", "thanh vien to cnscd", "thanh vien to cong nghe so cong dong"],
        "member",
    ),
    **dict.fromkeys(["tv", "member"], "member"),
    **dict.fromkeys(
        ["to truong", "to truong to dan pho", "to truong to cnscd", "tt", "group head"],
        "group_head",
    ),
    **dict.fromkeys(
        ["nguoi bao cao", "bao cao", "can bo co quan, truong hoc", "can bo co quan"], "reporter"
    ),
    **dict.fromkeys(["can bo truong hoc", "can bo phu trach", "reporter"], "reporter"),
    **dict.fromkeys(["can bo phuong", "cong chuc", "officer"], "officer"),
    "group_head": "group_head",
}
ROLE_HINT = "hãy ghi Thành viên, Tổ trưởng hoặc Người báo cáo"
MSG_TOO_LONG = f"Tệp quá dài: tối đa {MAX_LINES} dòng mỗi lần."


@dataclass
class RosterRow:
    """One checked line: a person to create."""

    line: int
    full_name: str
    phone: str | None
    unit: Unit
    role: str
    username: str = ""


RosterParse = Checked[RosterRow]


@dataclass
class WardPeople:
    """What a file is checked against: the ward's units and the people it already has."""

    units: dict[str, list[Unit]]  # name_key and fold of the name -> units
    phones: dict[str, User]
    names: dict[tuple[str, int], User]  # (folded name, unit id)
    usernames: set[str]  # every username of the app (they are unique across wards)


def ward_people(ward: Ward) -> WardPeople:
    """The ward's units and people, as parse() needs them (one query each)."""
    units: dict[str, list[Unit]] = {}
    for unit in db.session.scalars(sa.select(Unit).where(Unit.ward_id == ward.id)):
        for key in {name_key(unit.name), fold(unit.name)}:
            units.setdefault(key, []).append(unit)
    phones: dict[str, User] = {}
    names: dict[tuple[str, int], User] = {}
    for user in db.session.scalars(sa.select(User).where(User.ward_id == ward.id)):
        if user.phone:
            phones.setdefault(user.phone, user)
        if user.unit_id is not None:
            names.setdefault((user.name_key, user.unit_id), user)
    usernames = set(db.session.scalars(sa.select(User.username)))
    return WardPeople(units, phones, names, usernames)


def parse_phone(value: str) -> str | None:
    """A phone as normalise_phone() reads it; 9 digits are a number whose 0 a sheet dropped."""
    digits = "".join(ch for ch in value if not ch.isspace() and ch not in ".-()")
    if len(digits) == 9 and digits.isascii() and digits.isdigit() and digits[0] in "35789":
        digits = "0" + digits  # Excel stores 0912345678 typed as a number as 912345678
    return normalise_phone(digits)


def parse_role(value: str) -> str | None:
    """A role key from its Vietnamese name (accents and case ignored), or None."""
    key = " ".join(fold(value).replace("_", " ").split())
    return ROLE_WORDS.get(key) or ROLE_WORDS.get(value.strip())


def find_unit(value: str, known: WardPeople) -> Unit | None:
    """The ward's unit of this name (case, then accents ignored if that is not ambiguous)."""
    for key in (name_key(value), fold(value)):
        found = known.units.get(key, [])
        if len(found) == 1:
            return found[0]
    return None


def parse(filename: str, data: bytes, ward: Ward) -> RosterParse:
    """Check a roster file line by line against the ward; every line passes or none is used."""
    result = RosterParse()
    lines = participants.read_rows(filename, data)
    if isinstance(lines, str):
        result.errors.append(lines)
        return result
    lines = [(n, cells) for n, cells in lines if any(c.strip() for c in cells)]
    if not lines:
        result.errors.append("Tệp trống.")
        return result
    header_line, header = lines[0]
    columns = header_columns(header, HEADERS)
    missing = missing_columns(columns, REQUIRED, EXAMPLE, header_line)
    if missing:
        result.errors.append(missing)
        return result
    body = lines[1:]
    if len(body) > MAX_LINES:
        result.errors.append(MSG_TOO_LONG)
        return result
    known = ward_people(ward)
    seen = _Seen()
    for line, cells in body:
        _check_line(line, cells, columns, known, seen, ward, result)
    if result.errors:
        result.rows = []  # all or nothing
        return result
    if not result.rows:
        result.errors.append(MSG_NO_LINES)
        return result
    taken = set(known.usernames) | {row.username for row in result.rows if row.username}
    for row in result.rows:
        if not row.username:
            row.username = new_username(row.full_name, taken)
            taken.add(row.username)
    return result


@dataclass
class _Seen:
    phones: dict[str, int] = field(default_factory=dict)
    names: dict[tuple[str, int], int] = field(default_factory=dict)
    usernames: dict[str, int] = field(default_factory=dict)


def _check_line(
    line: int,
    cells: list[str],
    columns: dict[str, int],
    known: WardPeople,
    seen: _Seen,
    ward: Ward,
    result: RosterParse,
) -> None:
    errors: list[str] = []
    full_name = nfc(cell(cells, columns, "name"))
    phone_text = nfc(cell(cells, columns, "phone"))
    unit_text = nfc(cell(cells, columns, "unit"))
    role_text = nfc(cell(cells, columns, "role"))
    username = cell(cells, columns, "username").lower()

    problem = name_problem(full_name, "họ và tên")
    if problem:
        errors.append(problem)
    elif not any(ch.isalpha() for ch in full_name):
        errors.append(f"họ và tên “{full_name[:40]}” không hợp lệ")

    phone = parse_phone(phone_text) if phone_text else None
    if phone_text and phone is None:
        errors.append(
            f"số điện thoại “{phone_text[:20]}” không đúng: cần 10 chữ số, bắt đầu bằng 0"
        )
    elif phone and phone in seen.phones:
        errors.append(f"số điện thoại trùng với dòng {seen.phones[phone]}")
    elif phone and phone in known.phones:
        other = known.phones[phone]
        errors.append(
            f"số điện thoại này đã có ở {other.full_name} (tên đăng nhập {other.username})"
        )

    role = parse_role(role_text)
    if role is None or role not in WARD_ROLES:
        errors.append(f"vai trò “{role_text[:30]}” không rõ; {ROLE_HINT}")
        role = None
    elif role == "officer":
        errors.append(
            "không nhập cán bộ phường từ tệp; hãy thêm ở màn hình Người dùng → Thêm người dùng"
        )
        role = None

    unit = find_unit(unit_text, known) if unit_text else None
    if not unit_text:
        errors.append("thiếu đơn vị")
    elif unit is None:
        errors.append(
            f"phường chưa có đơn vị “{unit_text[:60]}”; hãy sửa tên cho khớp "
            "danh sách đơn vị, hoặc thêm đơn vị trước"
        )
    elif not unit.active:
        errors.append(f"đơn vị “{unit.name}” đã ngừng hoạt động")
    elif role and unit_problem(role, unit):
        if unit.is_residential:
            errors.append(
                f"“{unit.name}” là {ward.unit_label.lower()}: người báo cáo cần thuộc "
                "một cơ quan, trường học hoặc đoàn thể"
            )
        else:
            errors.append(
                f"“{unit.name}” là {UNIT_KINDS[unit.kind].lower()}: tổ trưởng và thành viên "
                f"cần thuộc một {ward.unit_label.lower()}"
            )

    if full_name and unit is not None:
        key = (fold(full_name), unit.id)
        if key in seen.names:
            errors.append(f"trùng với dòng {seen.names[key]} (cùng họ tên, cùng đơn vị)")
        elif key in known.names:
            other = known.names[key]
            errors.append(
                f"{other.full_name} đã có trong {unit.name} (tên đăng nhập {other.username}); "
                "nếu là hai người khác nhau, hãy thêm người này ở màn hình Người dùng"
            )
        seen.names.setdefault(key, line)

    if username:
        if not USERNAME.match(username):
            errors.append(
                f"tên đăng nhập “{username[:30]}” không hợp lệ: 3–60 ký tự gồm chữ thường "
                "không dấu, số, dấu chấm, gạch dưới hoặc gạch ngang"
            )
        elif username in seen.usernames:
            errors.append(f"tên đăng nhập trùng với dòng {seen.usernames[username]}")
        elif username in known.usernames:
            errors.append(f"tên đăng nhập “{username}” đã có người dùng")
        seen.usernames.setdefault(username, line)
    if phone:
        seen.phones.setdefault(phone, line)

    if errors:
        result.errors.extend(
            f"Dòng {line}: {message[0].upper()}{message[1:]}" for message in errors
        )
    elif unit is not None and role is not None:
        result.rows.append(RosterRow(line, full_name, phone, unit, role, username))


def new_username(full_name: str, taken: set[str]) -> str:
    """A free username from a name, Vietnamese e-mail style: "Nguyễn Thị Lan" -> "lannt"."""
    words = [
        "".join(ch for ch in word if ch.isascii() and ch.isalnum())
        for word in fold(full_name).split()
    ]
    words = [word for word in words if word] or ["tv"]
    base = (words[-1] + "".join(word[0] for word in words[:-1]))[: USERNAME_MAX - 4]
    if len(base) < 3:
        base = f"tv.{base}"
    if base not in taken:
        return base
    number = 2
    while f"{base}{number}" in taken:
        number += 1
    return f"{base}{number}"


@dataclass
class Imported:
    """What an import created, for the screen: the people by unit, in the dashboard's order."""

    people: list[User] = field(default_factory=list)

    def by_unit(self) -> list[tuple[Unit, list[User]]]:
        groups: dict[int, tuple[Unit, list[User]]] = {}
        for person in self.people:
            groups.setdefault(person.unit_id or 0, (person.unit, []))[1].append(person)
        ordered = sorted(groups.values(), key=lambda pair: counts.unit_key(pair[0]))
        return [(unit, sorted(people, key=_person_key)) for unit, people in ordered]

    @property
    def enrollable(self) -> list[User]:
        """The new people who enrol a phone by QR code (members and group heads)."""
        return [p for p in self.people if p.role in ("member", "group_head")]

    @property
    def need_password(self) -> list[User]:
        """The new people who sign in on a computer and so need a password set by the officer."""
        return [p for p in self.people if p.role != "member"]


def _person_key(user: User) -> tuple:
    return (user.role != "group_head", counts.natural_key(user.full_name), user.id)


def import_people(ward: Ward, rows: list[RosterRow]) -> Imported:
    """Create every person of a checked file; the caller commits (all or nothing)."""
    imported = Imported()
    for row in rows:
        person = create_person(
            ward,
            username=row.username,
            full_name=row.full_name,
            phone=row.phone,
            role=row.role,
            unit=row.unit,
            password=None,
        )
        imported.people.append(person)
    audit.record(
        "people_imported",
        ward_id=ward.id,
        created=len(imported.people),
        **{role: sum(p.role == role for p in imported.people) for role in WARD_ROLES},
    )
    return imported


def sample_csv(ward: Ward) -> bytes:
    """A sample roster that opens in Excel with Vietnamese intact (UTF-8 with BOM, CRLF),
    naming the ward's own units when it has them."""
    units = sorted(
        db.session.scalars(sa.select(Unit).where(Unit.ward_id == ward.id, Unit.active)),
        key=counts.unit_key,
    )
    groups = [u.name for u in units if u.is_residential][:2]
    offices = [u.name for u in units if not u.is_residential][:1]
    label = ward.unit_label
    first, second = (groups + [f"{label} số 1", f"{label} số 2"])[:2]
    office = (offices or ["Trường Tiểu học Hoa Sen"])[0]
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXAMPLE.split(","))
    writer.writerow(["Phạm Thị Hòa", "0912 000 101", first, "Tổ trưởng"])
    writer.writerow(["Nguyễn Văn Bình", "0912 000 102", first, "Thành viên"])
    writer.writerow(["Trần Thị Cúc", "", first, "Thành viên"])
    writer.writerow(["Lê Văn Dũng", "0912 000 104", second, "Tổ trưởng"])
    writer.writerow(["Đỗ Thị Én", "0912 000 105", second, "Thành viên"])
    writer.writerow(["Vũ Văn Giang", "0912 000 106", office, "Người báo cáo"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
