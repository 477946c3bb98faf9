"""The officer's privacy screens (find and erase one resident) and the purge/backup commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import audit
from ..admin.forms import ConfirmForm
from ..extensions import db
from ..reports.views import csv_response, download_name
from ..roles import role_required
from ..text import fmt_date, fmt_datetime, local_today
from . import erasure, rights
from .forms import PrivacyRequestForm

# cli_group=None: the commands are `flask purge` and `flask backup`, not `flask privacy ...`.
bp = Blueprint("privacy", __name__, url_prefix="/privacy", cli_group=None)


# Requests that never show personal data: the files of the app itself, the health check.
RETENTION_EXEMPT = ("static", "main.healthz")


@bp.before_app_request
def refuse_past_retention() -> None:
    """Nothing is served while a campaign past its retention date still holds personal data:
    it is purged first (erasure.enforce_retention), at start-up and whenever a date passes."""
    if request.endpoint in RETENTION_EXEMPT:
        return
    app = current_app._get_current_object()
    clean = app.extensions.setdefault("fieldapp.retention_clean", {})
    erasure.enforce_retention(app, clean, local_today())


@bp.route("/", methods=["GET", "POST"])
@role_required("officer")
def index() -> Any:
    """Search the ward's residents by name or phone (a POST: the query is in no URL, no
    access log, no browser history); the ward's latest erasures below.

    A GET with `?q=` (an old bookmark) is sent to the empty screen, never searched.
    """
    if request.method == "GET" and request.args:
        return redirect(url_for("privacy.index"))
    form = ConfirmForm()
    query = ""
    if request.method == "POST":
        if not form.validate_on_submit():
            flash("Phiên làm việc đã hết hạn. Vui lòng thử lại.", "error")
            return redirect(url_for("privacy.index"))
        query = request.form.get("q", "")
    phone, folded = erasure.search_terms(query)
    searched = bool(query.strip())
    residents = erasure.find_residents(current_user, query) if searched else []
    return _index_page(
        form,
        query=query[:120],
        searched=searched,
        too_short=searched and phone is None and folded is None,
        residents=residents,
        limit_hit=sum(r.records for r in residents) >= erasure.MAX_MATCHES,
    )


def _index_page(
    form: ConfirmForm, request_form: PrivacyRequestForm | None = None, **extra: Any
) -> str:
    """The privacy screen: the register of requests (open ones, nearest deadline first), the
    search and its results, the latest erasures."""
    if request_form is None:
        request_form = PrivacyRequestForm(formdata=None)
        request_form.received_on.data = local_today()
    extra.setdefault("query", "")
    extra.setdefault("searched", False)
    return render_template(
        "privacy/index.html",
        erasures=erasure.recent_erasures(current_user),
        open_requests=rights.open_requests(current_user),
        done_requests=rights.recent_done(current_user),
        today=local_today(),
        rights_kinds=rights.KINDS,
        rights_outcomes=rights.OUTCOMES,
        request_form=request_form,
        form=form,
        **extra,
    )


@bp.post("/requests")
@role_required("officer")
def request_new() -> Any:
    """Register a resident's request as it arrives (to see their data, to erase it)."""
    request_form = PrivacyRequestForm()
    if not request_form.validate_on_submit():
        if "csrf_token" in request_form.errors:
            flash("Phiên làm việc đã hết hạn. Vui lòng thử lại.", "error")
            return redirect(url_for("privacy.index"))
        return _index_page(ConfirmForm(), request_form), 400
    item = rights.register(
        current_user,
        request_form.requester.data,
        request_form.kind.data,
        request_form.received_on.data,
    )
    db.session.commit()
    flash(
        f"Đã ghi nhận yêu cầu ({rights.KINDS[item.kind].lower()}) nhận ngày"
        f" {fmt_date(item.received_on)}: hạn trả lời {fmt_date(item.due_on)}.",
        "success",
    )
    return redirect(url_for("privacy.index"))


@bp.post("/requests/<int:request_id>/done")
@role_required("officer")
def request_done(request_id: int) -> Any:
    """Mark a request done by hand (answered some other way, or nothing found to give)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("Phiên làm việc đã hết hạn. Vui lòng thử lại.", "error")
        return redirect(url_for("privacy.index"))
    item = rights.close(current_user, request_id, "manual")
    if item is None:
        flash("Không tìm thấy yêu cầu đang chờ này (có thể đã xử lý xong).", "error")
        return redirect(url_for("privacy.index"))
    db.session.commit()
    # The flash lives in the session cookie: the request's number, never who asked.
    flash(f"Đã đánh dấu yêu cầu số {item.id} là đã xử lý.", "success")
    return redirect(url_for("privacy.index"))


def _request_id() -> int | None:
    """The open request a form says the action answers (digits only, else none)."""
    value = request.form.get("request", "")
    if value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    return None


def _chosen() -> tuple[list[str], list[int]]:
    """The record ids and older revision ids a form posted (bounded, digits only)."""
    record_ids = [r for r in request.form.getlist("record") if r][: erasure.MAX_MATCHES]
    revision_ids = [
        int(r) for r in request.form.getlist("revision") if r.isascii() and r.isdigit()
    ][: erasure.MAX_MATCHES]
    return record_ids, revision_ids


@bp.post("/export")
@role_required("officer")
def export() -> Any:
    """A resident's copy of their own data (their request to see it), as a CSV. Audited with
    counts only."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("Phiên làm việc đã hết hạn. Vui lòng thử lại.", "error")
        return redirect(url_for("privacy.index"))
    rows = erasure.resident_rows(current_user, *_chosen())
    if not rows:
        flash("Không tìm thấy dữ liệu của người dân này (có thể đã được xóa).", "error")
        return redirect(url_for("privacy.index"))
    audit.record(
        "resident_data_exported",
        ward_id=current_user.ward_id,
        actor_id=current_user.id,
        records=len({row.record_id for row in rows}),
        revisions=len(rows),
    )
    rights.close(current_user, _request_id(), "export")
    db.session.commit()
    sheet = erasure.resident_sheet(current_user, rows)
    return csv_response(sheet, download_name("du-lieu-ca-nhan", "csv"))


@bp.post("/erase")
@role_required("officer")
def erase() -> Any:
    """First post: show what will be erased and ask. Second post (confirm=1): erase."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("Phiên làm việc đã hết hạn. Vui lòng thử lại.", "error")
        return redirect(url_for("privacy.index"))
    record_ids, revision_ids = _chosen()
    residents = erasure.residents_of(current_user, record_ids, revision_ids)
    if not residents:
        flash("Không tìm thấy người dân cần xóa (có thể đã được xóa trước đó).", "error")
        return redirect(url_for("privacy.index"))
    if request.form.get("confirm") != "1":
        return render_template(
            "privacy/confirm.html", residents=residents, form=form, request_id=_request_id()
        )
    ids = [rid for resident in residents for rid in resident.record_ids]
    older = [row_id for resident in residents for row_id in resident.revision_ids]
    erased = erasure.erase_records(current_user, ids, revision_ids=older)
    done = rights.close(current_user, _request_id(), "erasure") if erased.records else None
    db.session.commit()
    erasure.scrub()  # no old copy left in the database files
    flash(
        f"Đã xóa thông tin cá nhân trong {erased.records} lượt hỗ trợ"
        f" ({erased.revisions} phiên bản) lúc {fmt_datetime(erased.at)}."
        " Số liệu thống kê vẫn giữ nguyên." + (f" Yêu cầu số {done.id} đã xong." if done else ""),
        "success",
    )
    return redirect(url_for("privacy.index"))


# --- commands ------------------------------------------------------------------------------------


@bp.cli.command("purge")
@click.option("--campaign", "campaign_id", type=int, default=None, help="Chỉ một Cuộc thi (mã số).")
@click.option("--dry-run", is_flag=True, help="Chỉ đếm, không xóa gì.")
def purge_command(campaign_id: int | None, dry_run: bool) -> None:
    """Clear residents' names, phones, birth years and notes of campaigns past retention."""
    today = local_today()
    done = erasure.purge(today, campaign_id, dry_run=dry_run)
    swept = 0
    if dry_run:
        db.session.rollback()
    else:
        # Also re-clear any revision that raced an erasure on request (normally none).
        swept = erasure.sweep()
        db.session.commit()
        if swept or any(item.revisions or item.participants for item in done):
            erasure.scrub()
    if swept:
        click.echo(f"Đã xóa lại thông tin cá nhân ở {swept} phiên bản gửi lên sau khi đã xóa.")
    if not done:
        click.echo(
            f"Không có Cuộc thi nào đã quá hạn lưu trữ (hôm nay {fmt_date(today)})."
            + (f" Cuộc thi số {campaign_id} chưa đến hạn hoặc không có." if campaign_id else "")
        )
        return
    verb = "Sẽ xóa" if dry_run else "Đã xóa"
    for item in done:
        click.echo(
            f"Cuộc thi số {item.campaign_id} «{item.campaign_name}»"
            f" (lưu đến {fmt_date(item.retention_until)}): {verb} thông tin cá nhân của"
            f" {item.records} lượt hỗ trợ ({item.revisions} phiên bản)"
            f" và {item.participants} tên trong danh sách đơn vị. Số liệu vẫn giữ."
        )
    if dry_run:
        click.echo("Chạy thử: chưa thay đổi gì.")


@bp.cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Copy the database to PATH while the app keeps serving (SQLite: online backup API)."""
    try:
        click.echo(erasure.backup(path))
    except erasure.BackupError as error:
        click.echo(str(error), err=True)
        sys.exit(1)
