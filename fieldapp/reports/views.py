"""Tallies on screen and in files: group head, unit reporter, officer dashboard, downloads."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from .. import audit, lifecycle
from ..extensions import db
from ..field.views import get_shell
from ..models import Campaign, Difficulty, Unit, UnitReport
from ..params import int_arg
from ..roles import deny, get_visible_or_404, role_required, visible
from ..sync import outbox, progress
from ..tally import counts, store
from ..text import fmt_number, local_today, utcnow
from . import card, exports, participants

bp = Blueprint("reports", __name__)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_COUNT = 1_000_000
MAX_NOTE = 2000


# --- plain rules -----------------------------------------------------------------------------


@dataclass
class ReportValues:
    """A unit's own figures as typed, parsed, with an error per field."""

    completed: int = 0
    attempts: int = 0
    pupils: int | None = None
    teachers: int | None = None
    note: str = ""


def parse_count(raw: str) -> int | None:
    """A whole number typed as 1234, 1.234 or 1 234; None if it is not one."""
    cleaned = re.sub(r"[\s.,]", "", raw or "")
    if not cleaned.isascii() or not cleaned.isdigit():
        return None
    return int(cleaned)


def validate_report(is_school: bool, form: dict[str, str]) -> tuple[ReportValues, dict[str, str]]:
    """Check a unit report form; a school's total is pupils + teachers unless typed."""
    errors: dict[str, str] = {}
    numbers: dict[str, int | None] = {}
    fields = ["completed", "attempts"] + (["pupils", "teachers"] if is_school else [])
    for name in fields:
        raw = (form.get(name) or "").strip()
        if not raw:
            numbers[name] = None
            continue
        value = parse_count(raw)
        if value is None:
            errors[name] = "Vui lòng nhập một số nguyên không âm, ví dụ 125."
        elif value > MAX_COUNT:
            errors[name] = "Con số quá lớn, vui lòng kiểm tra lại."
        else:
            numbers[name] = value
    values = ReportValues(note=(form.get("note") or "").strip())
    if len(values.note) > MAX_NOTE:
        errors["note"] = f"Ghi chú tối đa {MAX_NOTE} ký tự."
    if is_school:
        values.pupils = numbers.get("pupils") or 0
        values.teachers = numbers.get("teachers") or 0
    completed = numbers.get("completed")
    if completed is None:
        completed = (values.pupils or 0) + (values.teachers or 0) if is_school else None
    if completed is None and "completed" not in errors:
        errors["completed"] = "Vui lòng nhập số người đã hoàn thành bài thi."
    values.completed = completed or 0
    attempts = numbers.get("attempts")
    values.attempts = values.completed if attempts is None else attempts
    if not errors and values.attempts < values.completed:
        errors["attempts"] = "Số lượt thi không thể ít hơn số người đã hoàn thành bài thi."
    typed_total = is_school and not errors and numbers.get("completed") is not None
    if typed_total and values.completed > (values.pupils or 0) + (values.teachers or 0) > 0:
        errors["completed"] = "Số người hoàn thành lớn hơn tổng số học sinh và giáo viên."
    return values, errors


@dataclass
class Bar:
    """One bar of a server-drawn SVG chart, in the chart's own units."""

    x: float
    y: float
    width: float
    height: float
    value: int
    label: str
    show_label: bool
    outside: bool = False  # a day outside the campaign's window


CHART_W, CHART_H, CHART_TOP, CHART_BOTTOM = 640, 220, 20, 28


def chart_bars(periods: list[counts.Period]) -> list[Bar]:
    """Geometry of a bar chart of assists per period (drawn as SVG by the template)."""
    if not periods:
        return []
    top = max(p.assists for p in periods) or 1
    slot = CHART_W / len(periods)
    usable = CHART_H - CHART_TOP - CHART_BOTTOM
    # About eight labels whatever the span, fewer when they carry the year or a week.
    wide = len(periods[0].label) > 5
    every = max(1, round(len(periods) / (5 if wide else 8)))
    bars = []
    for i, period in enumerate(periods):
        height = usable * period.assists / top
        bars.append(
            Bar(
                x=round(i * slot + slot * 0.15, 2),
                y=round(CHART_TOP + usable - height, 2),
                width=round(slot * 0.7, 2),
                height=round(height, 2),
                value=period.assists,
                label=period.label,
                show_label=i % every == 0 or i == len(periods) - 1,
                outside=period.outside,
            )
        )
    return bars


def _ward_rows(
    campaign: Campaign,
) -> tuple[store.Figures, list[Unit], list[counts.UnitRow]]:
    """The officer's ward in `campaign`: its stored figures, the units its screens show (in
    their order) and each unit's row, for the dashboard, the printable report and the card."""
    figures = store.ward_figures(campaign, current_user.ward_id)
    units = _report_units(campaign)
    return (
        figures,
        units,
        counts.unit_rows(campaign, units, figures.per_unit, with_categories=False),
    )


def dashboard_view(
    campaign: Campaign,
    days: list[tuple[date, counts.Counts]],
    as_of: datetime | None,
    default_sort: str,
) -> dict[str, Any]:
    """What the ward's and the city's dashboards show alike: the table's sort as asked, the
    by-day series and its chart, and when the stored figures were counted."""
    series = counts.series(campaign, days)
    return {
        "sort": request.args.get("sort", default_sort),
        "descending": request.args.get("dir") == "desc",
        "series": series,
        "bars": chart_bars(series.periods),
        "chart": (CHART_W, CHART_H),
        "counted_at": as_of or utcnow(),
        "catching_up": as_of is not None,
    }


# --- helpers for views -----------------------------------------------------------------------


def _campaign() -> Campaign:
    ward = current_user.ward
    campaign = ward.current_campaign() if ward else None
    if campaign is None:
        abort(404)
    return campaign


def _no_campaign() -> Any:
    return render_template("reports/no_campaign.html"), 200


def _has_campaign() -> bool:
    ward = current_user.ward
    return bool(ward and ward.current_campaign())


def _report_units(campaign: Campaign) -> list[Unit]:
    """The units a page or file lists: the active ones the person may see, and any inactive
    one whose logs still count (so that the rows and the totals agree)."""
    ward_id = current_user.ward_id
    counted = store.units_with_data(campaign, ward_id) if ward_id else set()
    units = db.session.scalars(
        visible(Unit).where(sa.or_(Unit.active.is_(True), Unit.id.in_(sorted(counted))))
    ).all()
    return sorted(units, key=counts.unit_key)


@dataclass
class Review:
    """The records the officer should check: device times and likely duplicates."""

    flagged_total: int
    flagged: list[counts.ReviewRow]
    duplicates_total: int
    duplicates: list[counts.DuplicateGroup]


def _review(campaign: Campaign, ward_id: int) -> Review:
    unit_ids = store.ward_unit_ids(ward_id)
    flagged_total, flagged = counts.flagged_assists(campaign, unit_ids, 50)
    dups_total, pairs = store.duplicates(campaign, ward_id, 50)
    _, dups = counts.likely_duplicates(campaign, unit_ids, 50, pairs)
    return Review(flagged_total, flagged, dups_total, dups)


# --- group head --------------------------------------------------------------------------------


@bp.get("/unit")
@role_required("group_head", "officer")
def unit() -> Any:
    """A residential group's own numbers (group head: theirs; officer: any of the ward's)."""
    if not _has_campaign():
        return _no_campaign()
    unit_id = int_arg("unit_id")
    if unit_id is None:
        if current_user.role == "officer":
            return redirect(url_for("reports.ward"))
        unit_id = current_user.unit_id
        if unit_id is None:
            abort(404)
    target_unit = get_visible_or_404(Unit, unit_id)
    campaign = _campaign()
    ids = [target_unit.id]
    figures = store.unit_figures(campaign, target_unit)
    row = counts.unit_rows(campaign, [target_unit], figures.per_unit, with_categories=False)[0]
    series = counts.series(campaign, figures.days)
    return render_template(
        "reports/unit.html",
        campaign=campaign,
        unit=target_unit,
        row=row,
        categories=figures.categories,
        series=series,
        bars=chart_bars(series.periods),
        members=counts.member_activity(campaign, target_unit.id),
        follow_ups=counts.follow_ups(campaign, ids),
        difficulties=counts.difficulties_by_kind(campaign, ids),
        chart=(CHART_W, CHART_H),
        **_phones(outbox.unit_phones(current_user, target_unit.id, utcnow())),
    )


@bp.get("/unit/card.png")
@role_required("group_head", "officer")
def unit_card() -> Any:
    """The group's progress card (PNG) to share: totals only, never a resident's data."""
    if not _has_campaign():
        return _no_campaign()
    unit_id = int_arg("unit_id")
    if unit_id is None:
        unit_id = current_user.unit_id if current_user.role == "group_head" else None
    if unit_id is None:
        deny(404)  # an officer names the unit; a group head without a group has none
    target_unit = get_visible_or_404(Unit, unit_id)
    standing = progress.unit_standing(_campaign(), target_unit, utcnow())
    drawn = card.Card(
        title=target_unit.name,
        place=target_unit.ward.name,
        campaign=standing.campaign.name,
        residents=standing.residents,
        tested=standing.completed,
        target=standing.target,
        day=local_today(),
    )
    return card_response(drawn, f"ket-qua-{target_unit.id}")


@bp.get("/reports/card.png")
@role_required("officer")
def ward_card() -> Any:
    """The ward's progress card (PNG) to share."""
    if not _has_campaign():
        return _no_campaign()
    campaign = _campaign()
    figures, _units, rows = _ward_rows(campaign)
    summary = counts.ward_summary(campaign, rows, figures.totals)
    ward = current_user.ward
    drawn = card.Card(
        title=ward.name,
        place=f"Kết quả toàn {ward.kind_label.lower()}",
        campaign=campaign.name,
        residents=summary.counts.residents,
        tested=summary.completed,
        target=summary.target or None,
        day=local_today(),
    )
    return card_response(drawn, "ket-qua-toan-phuong")


def card_response(drawn: card.Card, stem: str) -> Response:
    """A card as a PNG download named for the day."""
    response = Response(card.draw(drawn), mimetype="image/png")
    response.headers["Cache-Control"] = "private, no-store"
    name = f"{stem}-{drawn.day.isoformat()}.png"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return response


def _phones(phones: list[outbox.Phone]) -> dict[str, Any]:
    """What the phones' panel needs (templates/reports/_phones.html)."""
    return {
        "phones": phones,
        "phones_figure": outbox.figure(phones),
        "current_version": get_shell().version,
    }


# --- unit reporter ----------------------------------------------------------------------------


def _own_report(campaign: Campaign) -> UnitReport | None:
    return db.session.scalar(visible(UnitReport).where(UnitReport.campaign_id == campaign.id))


@bp.route("/unit-report", methods=["GET", "POST"])
@role_required("reporter")
def unit_report() -> Any:
    """An agency's or school's own figures, editable until the report deadline."""
    if not _has_campaign() or current_user.unit_id is None:
        return _no_campaign()
    campaign = _campaign()
    own_unit = get_visible_or_404(Unit, current_user.unit_id)
    report = _own_report(campaign)
    is_school = own_unit.kind == "school"
    editable = lifecycle.of(campaign, local_today()).reports_open
    errors: dict[str, str] = {}
    form: dict[str, str] = {}
    if request.method == "POST":
        form = {k: request.form.get(k, "") for k in ("completed", "attempts", "pupils", "teachers")}
        form["note"] = request.form.get("note", "")
        if not editable:
            flash("Đã quá hạn báo cáo nên không sửa được số liệu.", "error")
            return redirect(url_for("reports.unit_report"))
        values, errors = validate_report(is_school, form)
        if not errors:
            created = report is None
            if report is None:
                report = UnitReport(unit_id=own_unit.id, campaign_id=campaign.id)
                db.session.add(report)
            report.completed = values.completed
            report.attempts = values.attempts
            report.pupils = values.pupils
            report.teachers = values.teachers
            report.note = values.note or None
            report.updated_by_id = current_user.id
            report.updated_at = utcnow()
            db.session.flush()
            audit.record(
                "unit_report.create" if created else "unit_report.update",
                report,
                unit_id=own_unit.id,
                completed=values.completed,
                attempts=values.attempts,
            )
            db.session.commit()
            flash("Đã lưu số liệu của đơn vị.", "success")
            return redirect(url_for("reports.unit_report"))
    else:
        form = _report_form(report)
    return render_template(
        "reports/unit_report.html",
        campaign=campaign,
        unit=own_unit,
        report=report,
        is_school=is_school,
        editable=editable,
        form=form,
        errors=errors,
        listed=participants.summary(report),
        upload_errors=[],
    ), (400 if errors else 200)


@bp.post("/unit-report/participants")
@role_required("reporter")
def participants_upload() -> Any:
    """Read an uploaded CSV or XLSX list and show what it holds and what it replaces; nothing
    is stored until the reporter confirms (participants_confirm)."""
    if not _has_campaign() or current_user.unit_id is None:
        return _no_campaign()
    campaign = _campaign()
    own_unit = get_visible_or_404(Unit, current_user.unit_id)
    if not lifecycle.of(campaign, local_today()).reports_open:
        flash("Đã quá hạn báo cáo nên không tải danh sách lên được.", "error")
        return redirect(url_for("reports.unit_report"))
    upload = request.files.get("file")
    is_school = own_unit.kind == "school"
    if upload is None or not upload.filename:
        parsed = participants.ParsedList(errors=["Vui lòng chọn tệp danh sách (.csv hoặc .xlsx)."])
    else:
        parsed = participants.parse(upload.filename, upload.read(), kind_required=is_school)
    report = _own_report(campaign)
    if not parsed.ok:
        return render_template(
            "reports/unit_report.html",
            campaign=campaign,
            unit=own_unit,
            report=report,
            is_school=is_school,
            editable=True,
            form=_report_form(report),
            errors={},
            listed=participants.summary(report),
            upload_errors=parsed.errors or ["Tệp không có dòng nào."],
        ), 400
    pending = participants.Pending(
        own_unit.id, current_user.id, participants.fingerprint(report), parsed.people
    )
    return render_template(
        "reports/participants_preview.html",
        unit=own_unit,
        campaign=campaign,
        filename=upload.filename,
        people=parsed.people,
        first=parsed.people[: participants.PREVIEW_LINES],
        kinds=participants.counts(parsed.people),
        listed=participants.summary(report),
        token=participants.seal(current_app.secret_key, pending),
    )


@bp.post("/unit-report/participants/confirm")
@role_required("reporter")
def participants_confirm() -> Any:
    """Store the previewed list in place of the unit's old one (all of it, or nothing)."""
    if not _has_campaign() or current_user.unit_id is None:
        return _no_campaign()
    campaign = _campaign()
    own_unit = get_visible_or_404(Unit, current_user.unit_id)
    if not lifecycle.of(campaign, local_today()).reports_open:
        flash("Đã quá hạn báo cáo nên không lưu danh sách được.", "error")
        return redirect(url_for("reports.unit_report"))
    pending = participants.unseal(current_app.secret_key, request.form.get("list", ""))
    if pending is None or (pending.unit_id, pending.user_id) != (own_unit.id, current_user.id):
        flash(
            "Bản xem trước đã hết hạn hoặc không hợp lệ nên chưa lưu gì. "
            "Vui lòng tải tệp danh sách lên lại.",
            "error",
        )
        return redirect(url_for("reports.unit_report") + "#danh-sach")
    report = _own_report(campaign)
    if participants.fingerprint(report) != pending.replaces:
        flash(
            "Danh sách của đơn vị đã thay đổi trong lúc bạn xem trước nên chưa lưu gì. "
            "Vui lòng tải tệp lên lại để xem danh sách sẽ thay thế.",
            "error",
        )
        return redirect(url_for("reports.unit_report") + "#danh-sach")
    before = sum(participants.summary(report).values())
    if report is None:
        report = UnitReport(unit_id=own_unit.id, campaign_id=campaign.id)
        db.session.add(report)
        db.session.flush()
    count = participants.replace(report, pending.people)
    audit.record("participants.upload", report, unit_id=own_unit.id, count=count, replaced=before)
    db.session.commit()
    replaced = f" (thay cho danh sách cũ {fmt_number(before)} người)" if before else ""
    flash(f"Đã lưu danh sách {fmt_number(count)} người{replaced}.", "success")
    return redirect(url_for("reports.unit_report") + "#danh-sach")


def _report_form(report: UnitReport | None) -> dict[str, str]:
    if report is None:
        return {}
    return {
        "completed": str(report.completed),
        "attempts": str(report.attempts),
        "pupils": "" if report.pupils is None else str(report.pupils),
        "teachers": "" if report.teachers is None else str(report.teachers),
        "note": report.note or "",
    }


@bp.post("/unit-report/participants/delete")
@role_required("reporter")
def participants_delete() -> Any:
    """Erase the unit's uploaded list (audited without any of its names)."""
    if not _has_campaign():
        return _no_campaign()
    report = _own_report(_campaign())
    if report is not None:
        count = participants.erase(report)
        audit.record("participants.erase", report, unit_id=report.unit_id, count=count)
        db.session.commit()
        flash(f"Đã xóa danh sách ({count} người).", "success")
    return redirect(url_for("reports.unit_report"))


# --- officer ----------------------------------------------------------------------------------


@bp.get("/reports/")
@role_required("officer")
def ward() -> Any:
    """The ward's dashboard: totals, every unit, funnel, days, categories, difficulties."""
    if not _has_campaign():
        return _no_campaign()
    campaign = _campaign()
    figures, units, rows = _ward_rows(campaign)
    ids = [u.id for u in units]
    shown = dashboard_view(campaign, figures.days, figures.as_of, default_sort="kind")
    return render_template(
        "reports/ward.html",
        campaign=campaign,
        ward=current_user.ward,
        rows=counts.sort_rows(rows, shown["sort"], shown["descending"]),
        summary=counts.ward_summary(campaign, rows, figures.totals),
        categories=figures.categories,
        difficulty_kinds=counts.difficulties_by_kind(campaign, ids),
        open_difficulties=counts.open_difficulties(campaign, ids),
        units_by_id={u.id: u for u in units},
        review=_review(campaign, current_user.ward_id),
        outside_rule=counts.outside_rule_text(campaign, counts.outside_count(campaign, ids)),
        **shown,
        **_phones(outbox.visible_phones(current_user, utcnow())),
    )


@bp.get("/reports/print")
@role_required("officer")
def print_report() -> Any:
    """The A4 report for the Department of Science and Technology."""
    if not _has_campaign():
        return _no_campaign()
    campaign = _campaign()
    figures, units, rows = _ward_rows(campaign)
    outside = counts.outside_count(campaign, [u.id for u in units])
    return render_template(
        "reports/print.html",
        campaign=campaign,
        ward=current_user.ward,
        summary=counts.ward_summary(campaign, rows, figures.totals),
        kinds=counts.by_kind(campaign, rows, figures.kinds),
        difficulty_kinds=counts.difficulties_by_kind(campaign, [u.id for u in units]),
        today=local_today(),
        place=_place(current_user.ward.name),
        outside_rule=counts.outside_rule_text(campaign, outside),
        phones_figure=outbox.figure(outbox.visible_phones(current_user, utcnow())),
    )


def _place(ward_name: str) -> str:
    for prefix in ("Phường ", "Xã ", "Đặc khu ", "Thị trấn "):
        if ward_name.startswith(prefix):
            return ward_name[len(prefix) :]
    return ward_name


@bp.post("/reports/difficulties/<int:difficulty_id>/resolve")
@role_required("officer")
def resolve_difficulty(difficulty_id: int) -> Any:
    """Mark a difficulty as dealt with ("Đã xử lý")."""
    difficulty = get_visible_or_404(Difficulty, difficulty_id)
    if difficulty.is_current and difficulty.resolved_at is None:
        difficulty.resolved_at = utcnow()
        difficulty.resolved_by_id = current_user.id
        audit.record("difficulty.resolve", difficulty, record_id=difficulty.record_id)
        db.session.commit()
        flash("Đã đánh dấu khó khăn là đã xử lý.", "success")
    return redirect(url_for("reports.ward") + "#kho-khan")


# --- downloads --------------------------------------------------------------------------------


def _download_scope() -> tuple[Campaign, list[Unit]]:
    """The campaign and the units the signed-in person may download (group head: their own)."""
    if not _has_campaign():
        abort(404)
    campaign = _campaign()
    return campaign, _report_units(campaign)


def _record_download(name: str, units: list[Unit]) -> None:
    detail: dict[str, Any] = {"file": name, "units": len(units)}
    if current_user.role != "officer":
        detail["unit_id"] = current_user.unit_id
    audit.record("download", None, **detail)
    db.session.commit()


def csv_response(sheet: exports.Sheet, filename: str) -> Response:
    return Response(
        stream_with_context(exports.csv_chunks(sheet)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def download_name(stem: str, ext: str) -> str:
    return f"{stem}-{local_today().strftime('%Y%m%d')}.{ext}"


@bp.get("/reports/units.csv")
@role_required("officer", "group_head")
def units_csv() -> Any:
    """Every unit's counts, with the ward's total row (officer) or one unit (group head)."""
    campaign, units = _download_scope()
    _record_download("units.csv", units)
    sheet = _units_sheet(campaign, units, _figures(campaign, units))
    return csv_response(sheet, download_name("don-vi", "csv"))


def _figures(campaign: Campaign, units: list[Unit]) -> store.Figures:
    """The stored figures of what the person may download: the ward, or a group head's unit."""
    if current_user.role == "officer":
        return store.ward_figures(campaign, current_user.ward_id)
    if len(units) != 1:
        abort(404)
    figures = store.unit_figures(campaign, units[0])
    figures.unit_categories = {units[0].id: {k: c.residents for k, c in figures.categories.items()}}
    return figures


def _units_sheet(campaign: Campaign, units: list[Unit], figures: store.Figures) -> exports.Sheet:
    rows = counts.unit_rows(campaign, units, figures.per_unit, categories=figures.unit_categories)
    return exports.units_sheet(
        campaign,
        rows,
        current_user.ward.name,
        total=current_user.role == "officer",
        totals=figures.totals,
        categories=figures.categories,
    )


@bp.get("/reports/assists.csv")
@role_required("officer", "group_head")
def assists_csv() -> Any:
    """Every counted assist; phones in full for the officer, masked for a group head."""
    campaign, units = _download_scope()
    _record_download("assists.csv", units)
    sheet = _assists_sheet(campaign, units)
    return csv_response(sheet, download_name("luot-ho-tro", "csv"))


def _assists_sheet(campaign: Campaign, units: list[Unit]) -> exports.Sheet:
    """The assists the person may download: the officer's in full with the ward's stored
    likely duplicates; a group head's unit with phones masked."""
    ids = [u.id for u in units]
    if current_user.role == "officer":
        _, pairs = store.duplicates(campaign, current_user.ward_id)
        return exports.assists_sheet(campaign, ids, duplicates=pairs)
    return exports.assists_sheet(campaign, ids, mask_phones=True)


@bp.get("/reports/difficulties.csv")
@role_required("officer", "group_head")
def difficulties_csv() -> Any:
    """Every difficulty reported, open or resolved."""
    campaign, units = _download_scope()
    _record_download("difficulties.csv", units)
    sheet = exports.difficulties_sheet(campaign, [u.id for u in units])
    return csv_response(sheet, download_name("kho-khan", "csv"))


@bp.get("/reports/ward.xlsx")
@role_required("officer", "group_head")
def ward_xlsx() -> Any:
    """The same tables as one workbook, one sheet each."""
    campaign, units = _download_scope()
    _record_download("ward.xlsx", units)
    ids = [u.id for u in units]
    figures = _figures(campaign, units)
    sheets = [
        _units_sheet(campaign, units, figures),
        _assists_sheet(campaign, units),
        exports.difficulties_sheet(campaign, ids),
        exports.days_sheet(campaign, figures.days, figures.totals),
    ]
    name = download_name("bao-cao-phuong", "xlsx")
    return xlsx_response(sheets, name, current_user.ward.name, campaign.name)


def xlsx_response(
    sheets: list[exports.Sheet], filename: str, place: str, campaign_name: str
) -> Response:
    """A workbook of `sheets`, written to a temporary file and streamed from it; `place` and
    the campaign's name are printed at the top of every page."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the generator below
    exports.write_xlsx(sheets, spool, place, campaign_name)
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        with spool:
            while block := spool.read(64 * 1024):
                yield block

    return Response(
        chunks(),
        mimetype=XLSX_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.app_template_filter("admin_date")
def admin_date(day: date) -> str:
    """ "ngày 05 tháng 11 năm 2025": days under 10 and months 1-2 take a leading zero."""
    month = f"{day.month:02d}" if day.month <= 2 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


@bp.app_template_filter("keep_last_words")
def keep_last_words(text: str) -> str:
    """The last two words joined by a no-break space: a wrapped title never ends on one word."""
    head, _, last = text.rpartition(" ")
    return f"{head}\u00a0{last}" if head else text


@bp.app_template_filter("waited")
def waited(age: Any) -> str:
    return outbox.waited_text(age)


@bp.app_template_filter("percent")
def percent(value: float | None) -> str:
    """45.6 -> "45,6 %" (Vietnamese style); nothing to show without a target."""
    if value is None:
        return "—"
    return fmt_number(value, 1) + " %"


def sort_url(column: str, current: str, descending: bool) -> str:
    """The link of a sortable column header: a second click reverses the order."""
    flip = column == current and not descending
    return url_for("reports.ward", sort=column, dir="desc" if flip else "asc") + "#don-vi"


bp.add_app_template_global(sort_url, "sort_url")
