"""The downloads: tables of typed columns, written as streamed CSV or as one XLSX workbook.

Every builder yields plain rows from the database a thousand at a time, so a million rows
never sit in memory, and each column says what kind of value it holds. Each writer shows a
kind as its reader needs it (the README's "Mở tệp trong Excel" says why):

- CSV: UTF-8 with a BOM and CRLF line ends, for a double-click in a spreadsheet set to
  Vietnamese or to US English alike. Times "2025-10-20 09:00" (ISO: a date under any
  setting, never day and month swapped); phones "0912 345 678" (text under any setting, the
  zero kept); whole numbers only (a ratio such as 91.6 is text under Vietnamese settings and
  91,6 may be misread under US ones, so ratios are left to the workbook); text that a
  spreadsheet would run as a formula led by an apostrophe.
- XLSX: typed cells (real dates shown dd/mm/yyyy, numbers with display formats that follow
  the office's regional settings, phones as text, text never a formula), headers wrapped,
  filters, the header row frozen, the total row bold, and set to print on A4: landscape,
  one page wide, the header row on every page, the ward, campaign and page numbers in the
  margins. xlsxwriter's constant-memory mode writes each row as it comes (openpyxl's
  write-only mode was five times slower: bench/export_bench.py).
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

import sqlalchemy as sa
import xlsxwriter

from ..extensions import db
from ..models import Assist, Campaign, Difficulty, Unit, User
from ..tally import counts, rollup
from ..text import fmt_number, mask_phone
from ..vocab import DIFFICULTY_KINDS, GENDERS, UNIT_KINDS

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)
TOTAL_LABEL = "Tổng cộng toàn phường"
TOTAL_NOTE = (
    "Số người dân ở dòng tổng được đếm một lần cho cả phường (một người được hỗ trợ ở hai "
    "đơn vị chỉ tính một người), nên có thể nhỏ hơn tổng các dòng; số lượt được cộng dồn."
)
DAYS_NOTE = (
    "Số người dân ở dòng tổng được đếm một lần cho cả đợt (một người được hỗ trợ hai ngày "
    "chỉ tính một người), nên có thể nhỏ hơn tổng các dòng; số lượt được cộng dồn."
)
YES = "Có"

# The kinds of column, and how each writer shows them.
TEXT = "text"  # free text: a string cell
WRAP = "wrap"  # long free text (notes): wrapped in the workbook
PHONE = "phone"  # a phone number: text, the leading zero kept
COUNT = "count"  # a whole count: 1.234 under Vietnamese settings
NUMBER = "number"  # a whole number that is no count (a year, a revision): 1950
RATIO = "ratio"  # a percent of a target (91.6): only in the workbook, shown 91,6%
DAY = "day"  # a local date
MOMENT = "moment"  # a local date and time, to the minute


@dataclass(frozen=True)
class Column:
    """One column of a table: its title, its kind, and its width in characters (0: fit)."""

    title: str
    kind: str = TEXT
    width: int = 0


@dataclass
class Sheet:
    """One table to download: a title, typed columns, rows (a generator) and a total row."""

    title: str
    filename: str
    columns: list[Column]
    rows: Iterable[Sequence[Any]]
    # The total row, asked for once the rows have been written (a stream can count them).
    total: Callable[[], Sequence[Any]] | None = None
    total_in_csv: bool = True  # False: the CSV stays one line per record, for machines
    freeze_columns: int = 0  # columns kept in view beside the frozen header row
    notes: list[str] = field(default_factory=list)  # lines printed under the total row

    @property
    def header(self) -> list[str]:
        return [c.title for c in self.columns]


def neutralise(value: Any) -> Any:
    """A text cell that starts like a formula gets a leading apostrophe (CSV); others pass."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def local(moment: datetime | None) -> datetime | None:
    """A stored naive-UTC time in Asia/Ho_Chi_Minh, naive (fixed +7 h: fast for a million rows)."""
    return None if moment is None else moment + counts.LOCAL_OFFSET


def phone_text(phone: str) -> str:
    """0912345678 -> "0912 345 678": how phones are written, and text to every spreadsheet."""
    if len(phone) == 10 and phone.isdigit():
        return f"{phone[:4]} {phone[4:7]} {phone[7:]}"
    return phone


# --- the tables ------------------------------------------------------------------------------


def _count_columns(steps: list[dict[str, str]]) -> list[Column]:
    """The target and the counts, from the logs then from the units' own reports: the run of
    columns the ward's units file and the city's wards file share."""
    return [
        Column("Chỉ tiêu", COUNT),
        Column("Người dân được hỗ trợ", COUNT),
        Column("Lượt hỗ trợ", COUNT),
        *[Column(f"{s['label']} (người)", COUNT) for s in steps],
        Column("Lượt thi (Tổ CNSCĐ ghi nhận)", COUNT),
        Column("Hoàn thành bài thi (đơn vị tự báo cáo)", COUNT),
        Column("Lượt thi (đơn vị tự báo cáo)", COUNT),
    ]


def units_sheet(
    campaign: Campaign,
    rows: list[counts.UnitRow],
    ward_name: str = "",
    total: bool = True,
    totals: counts.Counts | None = None,
    categories: dict[str, counts.Counts] | None = None,
) -> Sheet:
    """One row per unit with every count, and a total row with ward-wide resident figures.

    `rows` come in the dashboard's order (reports.views._report_units); `totals` and `categories`
    may carry the ward-wide figures already known (tally_store).
    """
    steps = campaign.steps
    cats = campaign.categories
    columns = [
        Column("Đơn vị"),
        Column("Loại đơn vị"),
        *_count_columns(steps),
        Column("Học sinh", COUNT),
        Column("Giáo viên", COUNT),
        Column("Danh sách đã tải lên (người)", COUNT),
        Column("Người hoàn thành bài thi", COUNT),
        Column("Tổng lượt thi", COUNT),
        Column("Tiến độ so với chỉ tiêu (%)", RATIO),
        *[Column(f"{c['label']} (người)", COUNT) for c in cats],
        Column("Khó khăn chưa xử lý", COUNT),
        Column("Khó khăn đã xử lý", COUNT),
        Column("Ghi chú", WRAP, 40),
    ]
    ids = [r.unit.id for r in rows]
    rule = counts.outside_rule_text(campaign, counts.outside_count(campaign, ids))
    # Built now, not streamed: a few hundred rows read from ORM objects, which a streamed
    # response could no longer load once the view's database session has ended.
    lines = []
    for r in rows:
        rep = r.report
        note = "" if r.has_data else "Chưa có số liệu"
        if not total:  # no total row to carry the rule: the unit's own row says it
            note = " ".join(part for part in (note, rule) if part)
        lines.append(
            [
                r.unit.name,
                r.unit.kind_label,
                r.target,
                r.counts.residents,
                r.counts.assists,
                *[r.counts.steps.get(s["key"], 0) for s in steps],
                r.counts.attempts,
                rep.completed if rep else None,
                rep.attempts if rep else None,
                rep.pupils if rep else None,
                rep.teachers if rep else None,
                r.participants,
                r.completed,
                r.attempts,
                r.progress,
                *[r.categories.get(c["key"], 0) for c in cats],
                r.difficulties_open,
                r.difficulties_resolved,
                note,
            ]
        )
    total_line = None
    if total:
        summary = counts.ward_summary(campaign, rows, totals)
        by_cat = categories if categories is not None else counts.by_category(campaign, ids)
        reports = [r.report for r in rows if r.report]
        total_line = [
            TOTAL_LABEL + (f" ({ward_name})" if ward_name else ""),
            "",
            summary.target,
            summary.counts.residents,
            summary.counts.assists,
            *[summary.counts.steps.get(s["key"], 0) for s in steps],
            summary.counts.attempts,
            summary.reported_completed,
            summary.reported_attempts,
            sum(rep.pupils or 0 for rep in reports),
            sum(rep.teachers or 0 for rep in reports),
            sum(r.participants for r in rows),
            summary.completed,
            summary.attempts,
            summary.progress,
            *[by_cat[c["key"]].residents if c["key"] in by_cat else 0 for c in cats],
            sum(r.difficulties_open for r in rows),
            sum(r.difficulties_resolved for r in rows),
            f"{TOTAL_NOTE} {rule}",
        ]
    return Sheet(
        "Đơn vị",
        "don-vi.csv",
        columns,
        lines,
        total=(lambda: total_line) if total_line else None,
        freeze_columns=1,
    )


def assists_sheet(
    campaign: Campaign,
    unit_ids: Collection[int],
    *,
    mask_phones: bool = False,
    duplicates: Collection[tuple[str, int]] | None = None,
    yield_per: int = 2000,
) -> Sheet:
    """One row per counted assist (current revision, not voided), read in batches.

    `duplicates` may carry the likely duplicates already known (tally_store keeps a ward's);
    without them they are counted here, a pass over the scope's assists.
    """
    steps = campaign.steps
    step_keys = [s["key"] for s in steps]
    columns = [
        Column("Thời gian nhận", MOMENT),
        Column("Giờ thiết bị", MOMENT),
        Column("Đơn vị", TEXT, 24),
        Column("Thành viên", TEXT, 22),
        Column("Họ và tên", TEXT, 26),
        Column("Năm sinh", NUMBER),
        Column("Giới tính", TEXT, 9),
        Column("Số điện thoại", PHONE),
        Column("Đối tượng", TEXT, 18),
        *[Column(s["label"], TEXT, 10) for s in steps],
        Column("Số lần thi", COUNT),
        Column("Đã đồng ý", TEXT, 9),
        Column("Ghi chú", WRAP, 30),
        Column("Cảnh báo", WRAP, 30),
        Column("Mã lượt", TEXT, 37),
        Column("Phiên bản", NUMBER),
    ]
    seen = {"rows": 0, "attempts": 0}  # for the total row, once the rows are out
    flags_of = counts.record_flagger(campaign)

    def build() -> Iterator[list[Any]]:
        units = _unit_names(unit_ids)
        members = _MemberNames(unit_ids)
        categories = {c["key"]: c["label"] for c in campaign.categories}
        # The likely duplicates, as a set kept beside the stream: its size follows the
        # number of look-alike names, not the number of rows.
        looks_alike = set(
            counts.duplicate_pairs(campaign, unit_ids) if duplicates is None else duplicates
        )
        marks = [f",{k}," for k in step_keys]
        offset = counts.LOCAL_OFFSET
        query = (
            sa.select(
                Assist.received_at,
                Assist.recorded_at,
                Assist.unit_id,
                Assist.user_id,
                Assist.full_name,
                Assist.name_key,
                Assist.birth_year,
                Assist.gender,
                Assist.phone,
                Assist.category,
                Assist.steps,
                Assist.attempts,
                Assist.consent,
                Assist.note,
                Assist.record_id,
                Assist.rev,
            )
            .where(*counts.current_assists(campaign, list(unit_ids)))
            .order_by(Assist.received_at, Assist.id)
        )
        # Core rows straight from the connection, fetched in batches: the ORM's own row
        # handling cost a third of the time of a whole download.
        result = db.session.connection().execution_options(yield_per=yield_per).execute(query)
        count = attempts_sum = 0
        try:
            for count, (  # noqa: B007 - read by the finally below
                received,
                recorded,
                unit_id,
                user_id,
                full_name,
                name_key,
                birth_year,
                gender,
                phone,
                category,
                steps_text,
                attempts,
                consent,
                note,
                record_id,
                rev,
            ) in enumerate(result, 1):
                flags = flags_of(recorded, received, (name_key, birth_year) in looks_alike)
                if phone and mask_phones:
                    phone = mask_phone(phone)
                attempts_sum += attempts
                yield [
                    received + offset,
                    recorded + offset,
                    units.get(unit_id),
                    members[user_id],
                    full_name,
                    birth_year,
                    GENDERS.get(gender, gender),
                    phone,
                    categories.get(category, category),
                    *[YES if mark in steps_text else None for mark in marks],
                    attempts,
                    YES if consent else "Không",
                    note,
                    "; ".join(flags) if flags else None,
                    record_id,
                    rev,
                ]
        finally:
            seen["rows"], seen["attempts"] = count, attempts_sum

    def total() -> list[Any]:
        return [
            f"Tổng cộng ({fmt_number(seen['rows'])} lượt hỗ trợ)",
            *[None] * (8 + len(step_keys)),
            seen["attempts"],
            None,
            None,
            None,
            None,
            None,
        ]

    return Sheet(
        "Lượt hỗ trợ", "luot-ho-tro.csv", columns, build(), total=total, total_in_csv=False
    )


def difficulties_sheet(
    campaign: Campaign, unit_ids: Collection[int], *, yield_per: int = 1000
) -> Sheet:
    """One row per current difficulty (not voided), open or resolved."""
    columns = [
        Column("Thời gian nhận", MOMENT),
        Column("Đơn vị", TEXT, 24),
        Column("Thành viên", TEXT, 22),
        Column("Loại khó khăn", TEXT, 28),
        Column("Nội dung", WRAP, 50),
        Column("Trạng thái", TEXT, 12),
        Column("Thời gian xử lý", MOMENT),
        Column("Mã", TEXT, 37),
        Column("Phiên bản", NUMBER),
    ]
    campaign_id = campaign.id  # plain values only inside the stream (see units_sheet)
    seen = {"rows": 0, "open": 0}

    def build() -> Iterator[list[Any]]:
        units = _unit_names(unit_ids)
        members = _MemberNames(unit_ids)
        query = (
            sa.select(
                Difficulty.received_at,
                Difficulty.unit_id,
                Difficulty.user_id,
                Difficulty.kind,
                Difficulty.text,
                Difficulty.resolved_at,
                Difficulty.record_id,
                Difficulty.rev,
            )
            .where(*counts.current_difficulties(campaign_id, list(unit_ids)))
            .order_by(Difficulty.received_at, Difficulty.id)
            .execution_options(yield_per=yield_per)
        )
        for d in db.session.execute(query):
            seen["rows"] += 1
            seen["open"] += d.resolved_at is None
            yield [
                local(d.received_at),
                units.get(d.unit_id),
                members[d.user_id],
                DIFFICULTY_KINDS.get(d.kind, d.kind),
                d.text,
                "Đã xử lý" if d.resolved_at else "Chưa xử lý",
                local(d.resolved_at),
                d.record_id,
                d.rev,
            ]

    def total() -> list[Any]:
        label = f"Tổng cộng: {seen['rows']} khó khăn, {seen['open']} chưa xử lý"
        return [label, *[None] * (len(columns) - 1)]

    return Sheet("Khó khăn", "kho-khan.csv", columns, build(), total=total, total_in_csv=False)


def days_sheet(
    campaign: Campaign, days: list[tuple[date, counts.Counts]], totals: counts.Counts
) -> Sheet:
    """The log figures per local day of the campaign's window (counts.every_day), the days
    outside it flagged, and a total row (residents counted once, from `totals`)."""
    steps = campaign.steps
    columns = [
        Column("Ngày", DAY),
        Column("Lượt hỗ trợ", COUNT),
        Column("Người dân được hỗ trợ", COUNT),
        *[Column(f"{s['label']} (người)", COUNT) for s in steps],
        Column("Lượt thi", COUNT),
        Column("Ghi chú", WRAP, 30),
    ]
    rows = [
        [
            day,
            c.assists,
            c.residents,
            *[c.steps.get(s["key"], 0) for s in steps],
            c.attempts,
            counts.FLAG_OUTSIDE_DAY if counts.outside_window(campaign, day) else None,
        ]
        for day, c in days
    ]
    total = [
        "Tổng cộng",
        sum(c.assists for _, c in days),
        totals.residents,
        *[totals.steps.get(s["key"], 0) for s in steps],
        sum(c.attempts for _, c in days),
        DAYS_NOTE,
    ]
    return Sheet("Theo ngày", "theo-ngay.csv", columns, rows, total=lambda: total)


def _unit_names(unit_ids: Collection[int]) -> dict[int, str]:
    return dict(
        db.session.execute(sa.select(Unit.id, Unit.name).where(Unit.id.in_(list(unit_ids)))).all()
    )


class _MemberNames(dict):
    """The names of the people who logged records, by user id: the units' wards' people read
    at once, anyone else (someone moved to another ward) looked up when met."""

    def __init__(self, unit_ids: Collection[int]) -> None:
        wards = sa.select(Unit.ward_id).where(Unit.id.in_(list(unit_ids)))
        super().__init__(
            db.session.execute(
                sa.select(User.id, User.full_name).where(User.ward_id.in_(wards))
            ).all()
        )

    def __missing__(self, user_id: int | None) -> str | None:
        user = db.session.get(User, user_id) if user_id is not None else None
        self[user_id] = user.full_name if user else None
        return self[user_id]


def kind_label(kind: str) -> str:
    """The Vietnamese name of a unit kind."""
    return UNIT_KINDS.get(kind, kind)


# --- the city's roll-up ------------------------------------------------------------------------

CITY_TOTAL_LABEL = "Tổng cộng toàn thành phố"
CITY_TOTAL_NOTE = "Dòng tổng cộng là tổng các phường, xã, đặc khu."


def wards_sheet(campaign: Campaign, city: rollup.CityFigures) -> Sheet:
    """One row per ward with its dashboard totals, in the dashboard's (natural) order, and
    the city's total row (their sum)."""
    steps = campaign.steps
    columns = [
        Column("Mã", TEXT, 10),
        Column("Phường, xã, đặc khu"),
        Column("Loại", TEXT, 10),
        *_count_columns(steps),
        Column("Người hoàn thành bài thi", COUNT),
        Column("Tổng lượt thi", COUNT),
        Column("Tiến độ so với chỉ tiêu (%)", RATIO),
        Column("Đơn vị đã có số liệu", COUNT),
        Column("Tổng số đơn vị", COUNT),
        Column("Khó khăn chưa xử lý", COUNT),
        Column("Khó khăn đã xử lý", COUNT),
        Column("Ghi chú", WRAP, 30),
    ]

    def line(first: list[Any], w: Any, note: str) -> list[Any]:
        return [
            *first,
            w.target,
            w.counts.residents,
            w.counts.assists,
            *[w.counts.steps.get(s["key"], 0) for s in steps],
            w.counts.attempts,
            w.reported_completed,
            w.reported_attempts,
            w.completed,
            w.attempts,
            w.progress,
            w.units_with_data,
            w.units,
            w.difficulties_open,
            w.difficulties_resolved,
            note,
        ]

    # Built now (one row per ward), as units_sheet: the ORM objects outlive no session.
    rows = [
        line(
            [w.ward.code or "", w.ward.name, w.ward.kind_label],
            w,
            "" if w.has_data else "Chưa có số liệu",
        )
        for w in sorted(city.wards, key=lambda w: counts.natural_key(w.ward.name))
    ]
    rule = counts.outside_rule_text(campaign, counts.outside_count(campaign))
    total = line(["", CITY_TOTAL_LABEL, ""], city.total_line(), f"{CITY_TOTAL_NOTE} {rule}")
    return Sheet(
        "Phường, xã", "phuong-xa.csv", columns, rows, total=lambda: total, freeze_columns=2
    )


def city_difficulties_sheet(city: rollup.CityFigures) -> Sheet:
    """Difficulties by kind across the city, and their total."""
    columns = [
        Column("Loại khó khăn", TEXT, 40),
        Column("Chưa xử lý", COUNT),
        Column("Đã xử lý", COUNT),
        Column("Tổng", COUNT),
    ]
    kinds = city.difficulty_kinds
    rows = [[k.label, k.open, k.resolved, k.total] for k in kinds]
    total = [
        "Tổng cộng",
        sum(k.open for k in kinds),
        sum(k.resolved for k in kinds),
        sum(k.total for k in kinds),
    ]
    return Sheet("Khó khăn", "kho-khan-thanh-pho.csv", columns, rows, total=lambda: total)


# --- CSV ---------------------------------------------------------------------------------------


def _csv_text(value: Any) -> Any:
    if value.__class__ is str and value[:1] in _FORMULA_FIRST:
        return "'" + value
    return value  # None is written as an empty field by the csv module


def _csv_phone(value: Any) -> Any:
    if value.__class__ is str and len(value) == 10 and value.isdigit():
        return phone_text(value)
    return _csv_text(value)  # a masked phone, or whatever an old record holds


def _csv_moment(value: Any) -> Any:
    return value.isoformat(" ", "minutes") if value.__class__ is datetime else _csv_text(value)


def _csv_day(value: Any) -> Any:
    return value.isoformat() if value.__class__ is date else _csv_text(value)


_CSV_FORMATS: dict[str, Callable[[Any], Any]] = {
    TEXT: _csv_text,
    WRAP: _csv_text,
    PHONE: _csv_phone,
    MOMENT: _csv_moment,
    DAY: _csv_day,
}  # counts and numbers go out as they are: plain digits
_CSV_OTHER = (PHONE, MOMENT, DAY)


def csv_chunks(sheet: Sheet, rows_per_chunk: int = 1000) -> Iterator[bytes]:
    """The sheet as UTF-8 CSV bytes (BOM, CRLF), yielded a thousand rows at a time."""
    kept = [i for i, c in enumerate(sheet.columns) if c.kind != RATIO]
    every = len(kept) == len(sheet.columns)
    kinds = [sheet.columns[i].kind for i in kept]
    texts = [pos for pos, kind in enumerate(kinds) if kind in (TEXT, WRAP)]
    formats = [(pos, _CSV_FORMATS[kind]) for pos, kind in enumerate(kinds) if kind in _CSV_OTHER]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([sheet.columns[i].title for i in kept])
    count = 0
    for row in sheet.rows:
        cells = list(row) if every else [row[i] for i in kept]
        for pos in texts:  # _csv_text, written out: the hottest loop of a download
            value = cells[pos]
            if value.__class__ is str and value[:1] in _FORMULA_FIRST:
                cells[pos] = "'" + value
        for pos, fmt in formats:
            cells[pos] = fmt(cells[pos])
        writer.writerow(cells)
        count += 1
        if count == rows_per_chunk:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            count = 0
    if sheet.total is not None and sheet.total_in_csv:
        total = sheet.total()
        writer.writerow(
            [_CSV_FORMATS.get(sheet.columns[i].kind, _csv_text)(total[i]) for i in kept]
        )
    yield buffer.getvalue().encode("utf-8")


# --- XLSX --------------------------------------------------------------------------------------

# Display formats: Excel and LibreOffice show "#,##0" as 1.234 and "0.0%" as 91,6% under
# Vietnamese settings (the separators come from the office's settings, not the file).
_NUMBER_FORMATS = {
    COUNT: "#,##0",
    NUMBER: "0",
    RATIO: "0.0%",
    DAY: "dd/mm/yyyy",
    MOMENT: "dd/mm/yyyy hh:mm",
    PHONE: "@",
}
_MIN_WIDTHS = {COUNT: 9, NUMBER: 8, RATIO: 9, DAY: 11, MOMENT: 16, PHONE: 14, TEXT: 10, WRAP: 20}
_LINE_HEIGHT = 15  # points per line of 11-point text
_MAX_LINES = 12


class _Styles:
    """The workbook's cell formats, made once per kind and weight."""

    def __init__(self, book: Any) -> None:
        self.book = book
        self.made: dict[tuple[str, str], Any] = {}
        self.header = book.add_format(
            {"bold": True, "text_wrap": True, "valign": "top", "bottom": 1, "bg_color": "#E8EEF4"}
        )

    def get(self, kind: str, variant: str = "") -> Any:
        """The format of a cell of `kind`: plain, "total" (bold) or "quoted" (text as typed)."""
        key = (kind, variant)
        if key not in self.made:
            spec: dict[str, Any] = {"valign": "top"}
            if kind in _NUMBER_FORMATS:
                spec["num_format"] = _NUMBER_FORMATS[kind]
            if kind == WRAP:
                spec["text_wrap"] = True
            if variant == "total":
                spec.update(bold=True, top=1, text_wrap=True)
            if variant == "quoted":
                spec["quote_prefix"] = True
            self.made[key] = self.book.add_format(spec)
        return self.made[key]


def _widths(sheet: Sheet) -> list[int]:
    """Each column's width: as given, or to fit the title's longest word and, for a table
    held in memory, its longest text."""
    rows = sheet.rows if isinstance(sheet.rows, list) else []
    widths = []
    for index, column in enumerate(sheet.columns):
        if column.width:
            widths.append(column.width)
            continue
        width = max(_MIN_WIDTHS[column.kind], max(len(w) for w in column.title.split()) + 2)
        if column.kind == TEXT and rows:
            longest = max((len(str(r[index] or "")) for r in rows), default=0)
            width = max(width, min(longest + 2, 40))
        widths.append(width)
    return widths


def _lines(text: str, width: int) -> int:
    """How many lines `text` takes wrapped in a column `width` characters wide (about)."""
    count = 0
    for paragraph in text.split("\n"):
        line = 0
        count += 1
        for word in paragraph.split():
            if line and line + 1 + len(word) > width:
                count += 1
                line = 0
            line += len(word) + (1 if line else 0)
    return count


def _margin_text(text: str) -> str:
    # "&" starts a code in a header or footer; the text must stay under Excel's 255 chars.
    return text.replace("&", "&&")[:80]


def write_xlsx(
    sheets: list[Sheet], out: IO[bytes], ward_name: str = "", campaign_name: str = ""
) -> None:
    """One workbook, one sheet per table, typed, filtered and set up to print."""
    book = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,  # each row goes to a temporary file as it is written
            "tmpdir": tempfile.gettempdir(),
            "strings_to_formulas": False,  # text is text, whatever it starts with
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    styles = _Styles(book)
    for sheet in sheets:
        _write_sheet(book.add_worksheet(sheet.title[:31]), styles, sheet, ward_name, campaign_name)
    book.close()


def _write_sheet(
    ws: Any, styles: _Styles, sheet: Sheet, ward_name: str, campaign_name: str
) -> None:
    columns = sheet.columns
    widths = _widths(sheet)
    for index, (column, width) in enumerate(zip(columns, widths, strict=True)):
        ws.set_column(index, index, width, styles.get(column.kind))
    ws.freeze_panes(1, sheet.freeze_columns)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)  # one page wide, as many pages long as it takes
    ws.repeat_rows(0)
    ws.hide_gridlines(0)  # gridlines printed: a table on paper needs its lines
    ws.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.7)
    ws.set_header(
        f"&L{_margin_text(ward_name)}&C{_margin_text(campaign_name)}&R{_margin_text(sheet.title)}",
        {"margin": 0.3},
    )
    ws.set_footer("&CTrang &P / &N", {"margin": 0.3})

    header_lines = max(_lines(c.title, w) for c, w in zip(columns, widths, strict=True))
    ws.set_row(0, _LINE_HEIGHT * header_lines)
    for index, column in enumerate(columns):
        ws.write_string(0, index, column.title, styles.header)

    ratios = [i for i, c in enumerate(columns) if c.kind == RATIO]
    texts = [
        (i, styles.get(c.kind, "quoted")) for i, c in enumerate(columns) if c.kind in (TEXT, WRAP)
    ]
    wraps = [(i, widths[i]) for i, c in enumerate(columns) if c.kind == WRAP]
    row_index = 0
    for row_index, row in enumerate(sheet.rows, 1):
        if ratios:
            row = list(row)
            for i in ratios:
                row[i] = None if row[i] is None else row[i] / 100
        if wraps:
            lines = max((_lines(row[i], w) for i, w in wraps if row[i]), default=1)
            if lines > 1:
                ws.set_row(row_index, _LINE_HEIGHT * min(lines, _MAX_LINES))
        ws.write_row(row_index, 0, row)
        for i, quoted in texts:
            value = row[i]
            if value.__class__ is str and value[:1] in _FORMULA_FIRST:
                # Already a string cell; the quote prefix keeps it one if someone edits it.
                ws.write_string(row_index, i, value, quoted)
    if row_index:
        ws.autofilter(0, 0, row_index, len(columns) - 1)
    if sheet.total is not None:
        _write_total(ws, styles, sheet, row_index + 1, widths)


def _write_total(ws: Any, styles: _Styles, sheet: Sheet, row_index: int, widths: list[int]) -> None:
    """The bold total row under the table (outside the filter, so sorting leaves it last)."""
    total = sheet.total() if sheet.total else []
    lines = max(
        (
            _lines(v, w)
            for v, w, c in zip(total, widths, sheet.columns, strict=True)
            if c.kind == WRAP and v
        ),
        default=1,
    )
    ws.set_row(row_index, _LINE_HEIGHT * min(lines, _MAX_LINES))
    for index, (column, value) in enumerate(zip(sheet.columns, total, strict=True)):
        style = styles.get(column.kind, "total")
        if value is None:
            ws.write_blank(row_index, index, None, style)
        elif isinstance(value, str):
            ws.write_string(row_index, index, value, style)
        elif column.kind == RATIO:
            ws.write_number(row_index, index, value / 100, style)
        else:
            ws.write(row_index, index, value, style)
