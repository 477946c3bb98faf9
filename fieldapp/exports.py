"""The downloads: tables as row generators, written as streamed CSV or as one XLSX workbook.

Every builder yields plain rows from the database a thousand at a time, so a million rows
never sit in memory. CSV is UTF-8 with a BOM and CRLF line ends (what Excel in Vietnam needs
to show the diacritics); any text cell that a spreadsheet would run as a formula is
neutralised with a leading apostrophe, in the CSV and in the workbook alike.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from . import rollup, tally
from .extensions import db
from .models import Assist, Campaign, Difficulty, Unit, User
from .text import mask_phone
from .vocab import DIFFICULTY_KINDS, GENDERS, UNIT_KINDS

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TOTAL_LABEL = "Tổng cộng toàn phường"
TOTAL_NOTE = (
    "Số người dân ở dòng tổng được đếm một lần cho cả phường (một người được hỗ trợ ở hai "
    "đơn vị chỉ tính một người), nên có thể nhỏ hơn tổng các dòng; số lượt được cộng dồn."
)
YES = "Có"


def neutralise(value: Any) -> Any:
    """A text cell that starts like a formula gets a leading apostrophe; others pass."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def local_text(moment: datetime | None) -> str:
    """dd/mm/yyyy HH:MM in Asia/Ho_Chi_Minh (fixed +7 h: fast for a million rows)."""
    if moment is None:
        return ""
    return (moment + tally.LOCAL_OFFSET).strftime("%d/%m/%Y %H:%M")


@dataclass
class Sheet:
    """One table to download: a title, a header, rows (a generator) and column hints."""

    title: str
    filename: str
    header: list[str]
    rows: Iterable[list[Any]]
    widths: list[int] = field(default_factory=list)
    text_columns: set[int] = field(default_factory=set)  # kept as text (phones: leading 0)
    note: str = ""


# --- the tables ------------------------------------------------------------------------------


def units_sheet(
    campaign: Campaign,
    rows: list[tally.UnitRow],
    ward_name: str = "",
    total: bool = True,
    totals: tally.Counts | None = None,
    categories: dict[str, tally.Counts] | None = None,
) -> Sheet:
    """One row per unit with every count, and a total row with ward-wide resident figures.

    `totals` and `categories` may carry the ward-wide figures already known (tally_store).
    """
    steps = campaign.steps
    cats = campaign.categories
    header = [
        "Đơn vị",
        "Loại đơn vị",
        "Chỉ tiêu",
        "Người dân được hỗ trợ",
        "Lượt hỗ trợ",
        *[f"{s['label']} (người)" for s in steps],
        "Lượt thi (Tổ CNSCĐ ghi nhận)",
        "Hoàn thành bài thi (đơn vị tự báo cáo)",
        "Lượt thi (đơn vị tự báo cáo)",
        "Học sinh",
        "Giáo viên",
        "Danh sách đã tải lên (người)",
        "Người hoàn thành bài thi",
        "Tổng lượt thi",
        "Tiến độ so với chỉ tiêu (%)",
        *[f"{c['label']} (người)" for c in cats],
        "Khó khăn chưa xử lý",
        "Khó khăn đã xử lý",
        "Ghi chú",
    ]

    def build() -> Iterator[list[Any]]:
        for r in rows:
            rep = r.report
            yield [
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
                "" if r.has_data else "Chưa có số liệu",
            ]
        if not total:
            return
        ids = [r.unit.id for r in rows]
        summary = tally.ward_summary(campaign, rows, totals)
        by_cat = categories if categories is not None else tally.by_category(campaign, ids)
        reports = [r.report for r in rows if r.report]
        yield [
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
            TOTAL_NOTE,
        ]

    widths = [30, 16, 10, 12, 10, *[12] * len(steps), 12, 14, 12, 10, 10, 12, 14, 10, 12]
    widths += [12] * len(cats) + [12, 12, 40]
    # Built now, not streamed: a few hundred rows read from ORM objects, which a streamed
    # response could no longer load once the view's database session has ended.
    rows_now = list(build())
    return Sheet("Đơn vị", "don-vi.csv", header, rows_now, widths, note=TOTAL_NOTE)


ASSIST_FIXED = [
    "Thời gian nhận",
    "Giờ thiết bị",
    "Đơn vị",
    "Thành viên",
    "Họ và tên",
    "Năm sinh",
    "Giới tính",
    "Số điện thoại",
    "Đối tượng",
]


def assists_sheet(
    campaign: Campaign,
    unit_ids: Collection[int],
    *,
    mask_phones: bool = False,
    yield_per: int = 1000,
) -> Sheet:
    """One row per counted assist (current revision, not voided), read in batches."""
    steps = campaign.steps
    header = [
        *ASSIST_FIXED,
        *[s["label"] for s in steps],
        "Số lần thi",
        "Đã đồng ý",
        "Ghi chú",
        "Cảnh báo",
        "Mã lượt",
        "Phiên bản",
    ]
    phone_col = ASSIST_FIXED.index("Số điện thoại")

    def build() -> Iterator[list[Any]]:
        units = _unit_names(unit_ids)
        members = _member_names(Assist, campaign.id, unit_ids)
        categories = {c["key"]: c["label"] for c in campaign.categories}
        # The likely duplicates, as a set kept beside the stream: its size follows the
        # number of look-alike names, not the number of rows.
        duplicates = set(tally.duplicate_pairs(campaign, unit_ids))
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
            .where(*tally.current_assists(campaign.id, list(unit_ids)))
            .order_by(Assist.received_at, Assist.id)
            .execution_options(yield_per=yield_per)
        )
        step_keys = [s["key"] for s in steps]
        for a in db.session.execute(query):
            duplicate = (a.name_key, a.birth_year) in duplicates
            flags = tally.record_flags(a.recorded_at, a.received_at, campaign, duplicate)
            phone = mask_phone(a.phone) if mask_phones else (a.phone or "")
            yield [
                local_text(a.received_at),
                local_text(a.recorded_at),
                units.get(a.unit_id, ""),
                members.get(a.user_id, ""),
                a.full_name or "",
                a.birth_year,
                GENDERS.get(a.gender or "", a.gender or ""),
                phone,
                categories.get(a.category, a.category),
                *[YES if f",{k}," in a.steps else "" for k in step_keys],
                a.attempts,
                YES if a.consent else "Không",
                a.note or "",
                "; ".join(flags),
                a.record_id,
                a.rev,
            ]

    widths = [17, 17, 24, 22, 26, 9, 9, 14, 18, *[12] * len(steps), 9, 9, 30, 36, 38, 9]
    return Sheet("Lượt hỗ trợ", "luot-ho-tro.csv", header, build(), widths, {phone_col})


def difficulties_sheet(
    campaign: Campaign, unit_ids: Collection[int], *, yield_per: int = 1000
) -> Sheet:
    """One row per current difficulty (not voided), open or resolved."""
    header = [
        "Thời gian nhận",
        "Đơn vị",
        "Thành viên",
        "Loại khó khăn",
        "Nội dung",
        "Trạng thái",
        "Thời gian xử lý",
        "Mã",
        "Phiên bản",
    ]

    campaign_id = campaign.id  # plain values only inside the stream (see units_sheet)

    def build() -> Iterator[list[Any]]:
        units = _unit_names(unit_ids)
        members = _member_names(Difficulty, campaign_id, unit_ids)
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
            .where(*tally.current_difficulties(campaign_id, list(unit_ids)))
            .order_by(Difficulty.received_at, Difficulty.id)
            .execution_options(yield_per=yield_per)
        )
        for d in db.session.execute(query):
            yield [
                local_text(d.received_at),
                units.get(d.unit_id, ""),
                members.get(d.user_id, ""),
                DIFFICULTY_KINDS.get(d.kind, d.kind),
                d.text or "",
                "Đã xử lý" if d.resolved_at else "Chưa xử lý",
                local_text(d.resolved_at),
                d.record_id,
                d.rev,
            ]

    widths = [17, 24, 22, 28, 50, 12, 17, 38, 9]
    return Sheet("Khó khăn", "kho-khan.csv", header, build(), widths)


def days_sheet(campaign: Campaign, days: list[tuple[date, tally.Counts]]) -> Sheet:
    """The log figures per local day (tally.by_day, or tally_store's stored days)."""
    steps = campaign.steps
    header = [
        "Ngày",
        "Lượt hỗ trợ",
        "Người dân được hỗ trợ",
        *[f"{s['label']} (người)" for s in steps],
        "Lượt thi",
    ]

    def build() -> Iterator[list[Any]]:
        for day, c in days:
            yield [
                day.strftime("%d/%m/%Y"),
                c.assists,
                c.residents,
                *[c.steps.get(s["key"], 0) for s in steps],
                c.attempts,
            ]

    return Sheet(
        "Theo ngày", "theo-ngay.csv", header, build(), [12, 12, 14, *[14] * len(steps), 10]
    )


def _unit_names(unit_ids: Collection[int]) -> dict[int, str]:
    return dict(
        db.session.execute(sa.select(Unit.id, Unit.name).where(Unit.id.in_(list(unit_ids)))).all()
    )


def _member_names(model: Any, campaign_id: int, unit_ids: Collection[int]) -> dict[int, str]:
    authors = (
        sa.select(model.user_id)
        .where(model.campaign_id == campaign_id, model.unit_id.in_(list(unit_ids)))
        .distinct()
    )
    return dict(
        db.session.execute(sa.select(User.id, User.full_name).where(User.id.in_(authors))).all()
    )


# --- writers ---------------------------------------------------------------------------------


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}" if value != int(value) else str(int(value))
    return neutralise(value)


def csv_chunks(sheet: Sheet, rows_per_chunk: int = 500) -> Iterator[bytes]:
    """The sheet as UTF-8 CSV bytes (BOM, CRLF), yielded a few hundred rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(sheet.header)
    for count, row in enumerate(sheet.rows, 1):
        writer.writerow([_csv_cell(v) for v in row])
        if count % rows_per_chunk == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def write_xlsx(sheets: list[Sheet], out: IO[bytes]) -> None:
    """One workbook, one sheet per table: header frozen, widths set, phones as text.

    openpyxl's write-only mode spools each sheet to a temporary file, so memory stays flat.
    """
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet in sheets:
        ws = book.create_sheet(sheet.title[:31])
        for index, width in enumerate(sheet.widths, 1):
            ws.column_dimensions[get_column_letter(index)].width = width
        ws.freeze_panes = "A2"
        header = []
        for title in sheet.header:
            cell = WriteOnlyCell(ws, value=title)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        for row in sheet.rows:
            values = []
            for index, value in enumerate(row):
                value = neutralise(value)
                if index in sheet.text_columns or isinstance(value, str):
                    cell = WriteOnlyCell(ws, value="" if value is None else str(value))
                    cell.data_type = "s"  # never a formula, whatever the text
                    if index in sheet.text_columns:
                        cell.number_format = "@"
                    values.append(cell)
                else:
                    values.append(value)
            ws.append(values)
    book.save(out)


def kind_label(kind: str) -> str:
    """The Vietnamese name of a unit kind."""
    return UNIT_KINDS.get(kind, kind)


# --- the city's roll-up ------------------------------------------------------------------------

CITY_TOTAL_LABEL = "Tổng cộng toàn thành phố"
CITY_TOTAL_NOTE = "Dòng tổng cộng là tổng các phường, xã, đặc khu."


def wards_sheet(campaign: Campaign, city: rollup.CityFigures) -> Sheet:
    """One row per ward with its dashboard totals, and the city's total row (their sum)."""
    steps = campaign.steps
    header = [
        "Mã",
        "Phường, xã, đặc khu",
        "Loại",
        "Chỉ tiêu",
        "Người dân được hỗ trợ",
        "Lượt hỗ trợ",
        *[f"{s['label']} (người)" for s in steps],
        "Lượt thi (Tổ CNSCĐ ghi nhận)",
        "Hoàn thành bài thi (đơn vị tự báo cáo)",
        "Lượt thi (đơn vị tự báo cáo)",
        "Người hoàn thành bài thi",
        "Tổng lượt thi",
        "Tiến độ so với chỉ tiêu (%)",
        "Đơn vị đã có số liệu",
        "Tổng số đơn vị",
        "Khó khăn chưa xử lý",
        "Khó khăn đã xử lý",
        "Ghi chú",
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

    def build() -> Iterator[list[Any]]:
        for w in city.wards:
            first = [w.ward.code or "", w.ward.name, w.ward.kind_label]
            yield line(first, w, "" if w.has_data else "Chưa có số liệu")
        yield line(["", CITY_TOTAL_LABEL, ""], city.total_line(), CITY_TOTAL_NOTE)

    widths = [10, 30, 12, 10, 12, 10, *[12] * len(steps), 12, 14, 12, 14, 10, 12, 10, 10]
    widths += [12, 12, 30]
    # Built now (one row per ward), as units_sheet: the ORM objects outlive no session.
    rows = list(build())
    return Sheet("Phường, xã", "phuong-xa.csv", header, rows, widths, text_columns={0})


def city_difficulties_sheet(city: rollup.CityFigures) -> Sheet:
    """Difficulties by kind across the city."""
    header = ["Loại khó khăn", "Chưa xử lý", "Đã xử lý", "Tổng"]
    rows = [[k.label, k.open, k.resolved, k.total] for k in city.difficulty_kinds]
    return Sheet("Khó khăn", "kho-khan-thanh-pho.csv", header, iter(rows), [40, 12, 12, 10])
