"""The city administrator's screens: wards (one by one or from a CSV), their officer
accounts, and the city's campaigns. Nothing here shows a ward's records or residents."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from .. import audit
from ..admin.forms import CityCampaignForm, OfficerForm, UnitImportForm, WardForm
from ..admin.imports import run_import
from ..admin.unit_import import name_key
from ..admin.views import (
    campaign_values,
    consent_versions,
    create_person,
    new_account_problems,
    prefill_campaign_form,
    save_campaign,
    saved_campaign_note,
)
from ..extensions import db
from ..models import Campaign, User, Ward
from ..roles import deny, role_required, visible
from ..text import fold
from . import ward_import

bp = Blueprint("city", __name__, url_prefix="/city")


# ---------------------------------------------------------------- rules (no request inside)


def ward_problems(code: str, name: str, ward: Ward | None) -> list[tuple[str, str]]:
    """(field, message): a ward's code and name must not belong to another ward."""
    problems = []
    others = [w for w in db.session.scalars(sa.select(Ward)) if ward is None or w.id != ward.id]
    if any((w.code or "").upper() == code for w in others):
        problems.append(("code", f"Mã {code} đã có. Vui lòng kiểm tra lại."))
    if any(name_key(w.name) == name_key(name) for w in others):
        problems.append(("name", "Đã có phường, xã hoặc đặc khu tên này."))
    return problems


def save_ward(ward: Ward | None, *, code: str, name: str, kind: str, unit_label: str) -> Ward:
    """Create or update a ward (no commit)."""
    values = {"code": code, "name": name, "kind": kind, "unit_label": unit_label}
    if ward is None:
        ward = Ward(**values)
        db.session.add(ward)
        db.session.flush()
        audit.record("ward_created", ward, ward_id=ward.id)
        return ward
    changed = [key for key, value in values.items() if getattr(ward, key) != value]
    for key in changed:
        setattr(ward, key, values[key])
    if changed:
        audit.record("ward_updated", ward, ward_id=ward.id, fields=changed)
    return ward


def officer_counts() -> dict[int, int]:
    """ward id -> active officer accounts."""
    return dict(
        db.session.execute(
            sa.select(User.ward_id, sa.func.count(User.id))
            .where(User.role == "officer", User.active)
            .group_by(User.ward_id)
        ).all()
    )


# ---------------------------------------------------------------- views


def _ward_or_404(ward_id: int) -> Ward:
    ward = db.session.get(Ward, ward_id)
    if ward is None:
        deny(404)
    return ward


def _city_campaign_or_404(campaign_id: int) -> Campaign:
    """Only the city's own campaigns: a ward's campaign is the ward's business."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or not campaign.is_city:
        deny(404)
    return campaign


@bp.get("/")
@role_required("city_admin")
def index() -> Any:
    """The city's home: its campaigns and every ward, commune and special zone."""
    q = request.args.get("q", "").strip()
    wards = list(db.session.scalars(sa.select(Ward)))
    if q:
        key = fold(q)
        wards = [w for w in wards if key in fold(w.name) or key in fold(w.code or "")]
    wards.sort(key=lambda w: ((w.code or "~").upper(), fold(w.name)))
    campaigns = db.session.scalars(
        sa.select(Campaign)
        .where(Campaign.ward_id.is_(None))
        .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
    ).all()
    return render_template(
        "city/index.html",
        wards=wards,
        total=db.session.scalar(sa.select(sa.func.count(Ward.id))) or 0,
        officers=officer_counts(),
        campaigns=campaigns,
        q=q,
    )


@bp.route("/wards/new", methods=["GET", "POST"])
@role_required("city_admin")
def ward_new() -> Any:
    return _ward_form(None)


@bp.route("/wards/<int:ward_id>", methods=["GET", "POST"])
@role_required("city_admin")
def ward_edit(ward_id: int) -> Any:
    return _ward_form(_ward_or_404(ward_id))


def _ward_form(ward: Ward | None) -> Any:
    form = WardForm(obj=ward)
    if request.method == "GET" and ward is None:
        form.unit_label.data = ward_import.default_label(request.args.get("kind", "ward"))
    valid = form.validate_on_submit()
    if form.is_submitted() and not form.code.errors and not form.name.errors:
        problems = ward_problems(form.code.data or "", form.name.data or "", ward)
        for field_name, message in problems:
            getattr(form, field_name).errors.append(message)
        valid = valid and not problems
    if valid:
        saved = save_ward(
            ward,
            code=form.code.data,
            name=form.name.data,
            kind=form.kind.data,
            unit_label=form.unit_label.data,
        )
        db.session.commit()
        flash(f"Đã lưu {saved.name}.", "success")
        return redirect(url_for("city.ward_edit", ward_id=saved.id))
    officers = []
    if ward is not None:
        officers = list(
            db.session.scalars(
                visible(User)
                .where(User.ward_id == ward.id, User.role == "officer")
                .order_by(User.name_key, User.id)
            )
        )
    return render_template("city/ward_form.html", form=form, ward=ward, officers=officers)


@bp.route("/wards/<int:ward_id>/officers/new", methods=["GET", "POST"])
@role_required("city_admin")
def officer_new(ward_id: int) -> Any:
    """Create an officer account for a ward (same rules as the ward's own people screen)."""
    ward = _ward_or_404(ward_id)
    form = OfficerForm()
    valid = form.validate_on_submit()
    if form.is_submitted():
        problems = new_account_problems(form, "officer")
        for field_name, message in problems:
            getattr(form, field_name).errors.append(message)
        valid = valid and not problems
    if valid:
        officer = create_person(
            ward,
            username=form.username.data,
            full_name=form.full_name.data,
            phone=None,
            role="officer",
            unit=None,
            password=form.password.data,
        )
        db.session.commit()
        flash(
            f"Đã tạo tài khoản cán bộ {officer.full_name} ({officer.username}) cho {ward.name}.",
            "success",
        )
        return redirect(url_for("city.ward_edit", ward_id=ward.id))
    return render_template("city/officer_form.html", form=form, ward=ward)


@bp.route("/wards/import", methods=["GET", "POST"])
@role_required("city_admin")
def wards_import() -> Any:
    """Create or update wards from the city's administrative list: all lines or none."""
    form = UnitImportForm()

    def apply(rows: list[ward_import.WardRow]) -> ward_import.ImportSummary:
        summary = ward_import.import_wards(rows)
        audit.record(
            "wards_imported",
            created=len(summary.created),
            updated=len(summary.updated),
            unchanged=len(summary.unchanged),
        )
        return summary

    errors, summary = run_import(
        form,
        "Vui lòng chọn một tệp CSV.",
        lambda _filename, data: ward_import.parse_wards_csv(data, ward_import.existing_names()),
        apply,
    )
    return render_template("city/wards_import.html", form=form, errors=errors, summary=summary)


@bp.get("/wards/sample.csv")
@role_required("city_admin")
def wards_sample() -> Any:
    """A sample administrative list that opens in Excel with Vietnamese intact."""
    return Response(
        ward_import.sample_csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=mau-phuong-xa.csv"},
    )


@bp.route("/campaigns/new", methods=["GET", "POST"])
@role_required("city_admin")
def campaign_new() -> Any:
    return _campaign_form(None)


@bp.route("/campaigns/<int:campaign_id>", methods=["GET", "POST"])
@role_required("city_admin")
def campaign_edit(campaign_id: int) -> Any:
    return _campaign_form(_city_campaign_or_404(campaign_id))


def _campaign_form(current: Campaign | None) -> Any:
    """The officer's campaign form without the ward setting; the campaign has no ward."""
    form = CityCampaignForm(campaign=current)
    if request.method == "GET":
        prefill_campaign_form(form, current)
    if form.validate_on_submit():
        old_version = current.consent_version if current else None
        saved = save_campaign(None, current, campaign_values(form))
        db.session.commit()
        message = "Đã lưu Cuộc thi của thành phố."
        if current is None:
            message = "Đã tạo Cuộc thi cho mọi phường, xã."
        message += saved_campaign_note(form, saved, old_version)
        flash(message, "success")
        return redirect(url_for("city.campaign_edit", campaign_id=saved.id))
    return render_template(
        "city/campaign_form.html",
        form=form,
        campaign=current,
        versions=consent_versions(current),
    )
