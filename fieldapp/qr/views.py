"""QR pages: issue enrolment codes, print enrolment sheets and contest posters, contest images.

Who may do what (tests/qr/test_codes.py and tests/test_roles.py hold it to this):
- issuing and cancelling codes, enrolment sheets, a person's codes: the officer, for people of
  the ward;
- a unit's poster: the officer (any unit of the ward), a group head or a unit reporter (their
  own unit only: the poster names them as the person to ask);
- the contest link's PNG/SVG: the officer, group heads and unit reporters of the ward.

The raw enrolment code exists only in the answer to the POST that issued it (only its hash is
stored), so codes are issued by POST (with CSRF) and shown at once as inline SVG; no code ever
travels in a URL of ours but the enrolment URL inside the QR code itself.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField

from ..extensions import db
from ..field import enrol
from ..models import EnrolmentCode, Unit, User
from ..roles import deny, get_visible_or_404, role_required, visible
from ..tally import counts
from ..vocab import FIELD_ROLES
from . import codes
from .commands import enrol_link_command

# cli_group=None: `flask enrol-link`, not `flask qr enrol-link`.
bp = Blueprint("qr", __name__, url_prefix="/qr", cli_group=None)
bp.cli.add_command(enrol_link_command)

POSTER_ROLES = ("officer", "group_head", "reporter")
IMAGE_CACHE = "private, max-age=300"


class IssueForm(FlaskForm):
    """The "Cấp mã QR" button, with the option to end the person's other devices."""

    revoke_old = BooleanField("Thu hồi các thiết bị cũ của người này")


class SheetForm(FlaskForm):
    """The "In phiếu mã QR" button of a unit: carries only its CSRF token."""


@bp.app_template_global()
def qr_issue_form() -> IssueForm:
    """An empty issue form for the people screens (its CSRF token included)."""
    return IssueForm(formdata=None)


@bp.app_template_global()
def qr_codes_of(person: User) -> list[codes.CodeLine]:
    """A person's latest enrolment codes, as the current user may see them."""
    rows = db.session.scalars(
        visible(EnrolmentCode)
        .where(EnrolmentCode.user_id == person.id)
        .order_by(EnrolmentCode.created_at.desc(), EnrolmentCode.id.desc())
        .limit(codes.CODES_SHOWN)
    ).all()
    return codes.code_lines(list(rows))


def _units() -> list[Unit]:
    units = [u for u in db.session.scalars(visible(Unit)) if u.active]
    return sorted(units, key=counts.unit_key)


@bp.get("/")
@role_required(*POSTER_ROLES)
def index() -> Any:
    """Posters for each unit the user may print, enrolment sheets (officer), contest images."""
    ward = current_user.ward
    campaign = ward.current_campaign() if ward else None
    units = _units()
    code_counts: dict[int, int] = {}
    if current_user.role == "officer" and units:
        code_counts = dict(
            db.session.execute(
                sa.select(User.unit_id, sa.func.count(User.id))
                .where(
                    User.unit_id.in_([u.id for u in units]),
                    User.active,
                    User.role.in_(FIELD_ROLES),
                )
                .group_by(User.unit_id)
            ).all()
        )
    link = codes.contest_link(campaign)
    return render_template(
        "qr/index.html",
        ward=ward,
        campaign=campaign,
        link=link,
        preview=codes.cached_svg_inline(link, "Mã QR đường dẫn Cuộc thi") if link else None,
        units=units,
        counts=code_counts,
        sheet_form=SheetForm(formdata=None),
        hours=current_app.config["FIELDAPP_ENROL_CODE_HOURS"],
    )


@bp.post("/people/<int:user_id>/issue")
@role_required("officer")
def issue(user_id: int) -> Any:
    """Issue a one-time enrolment code and show its QR code (the only time it can be shown)."""
    person = get_visible_or_404(User, user_id)
    form = IssueForm()
    if not form.validate_on_submit():
        flash("Phiên làm việc đã hết hạn. Vui lòng bấm “Cấp mã QR” lại.", "error")
        return redirect(url_for("admin.person_edit", user_id=person.id))
    try:
        issued = codes.issue_for_person(person, current_user, revoke_old=form.revoke_old.data)
    except codes.QrError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("admin.person_edit", user_id=person.id))
    db.session.commit()
    return render_template(
        "qr/issued.html",
        issued=issued,
        person=person,
        image=codes.svg_inline(issued.url, f"Mã QR đăng ký thiết bị cho {person.full_name}"),
    )


@bp.post("/codes/<int:code_id>/cancel")
@role_required("officer")
def cancel(code_id: int) -> Any:
    """Cancel an issued code nobody used yet: its QR code stops enrolling at once (audited)."""
    row = get_visible_or_404(EnrolmentCode, code_id)
    user_id = row.user_id
    if enrol.cancel_code(row, current_user):
        db.session.commit()
        flash("Đã hủy mã QR. Mã này không dùng để đăng ký thiết bị được nữa.", "success")
    else:
        db.session.rollback()
        flash("Mã QR này đã được dùng hoặc đã hết hạn nên không cần hủy.", "error")
    return redirect(url_for("admin.person_edit", user_id=user_id) + "#thiet-bi")


@bp.post("/units/<int:unit_id>/sheet")
@role_required("officer")
def sheet(unit_id: int) -> Any:
    """Fresh codes for every member and group head of a unit, on one printable A4 page."""
    unit = get_visible_or_404(Unit, unit_id)
    if not SheetForm().validate_on_submit():
        flash("Phiên làm việc đã hết hạn. Vui lòng bấm “In phiếu mã QR” lại.", "error")
        return redirect(url_for("qr.index"))
    try:
        issued = codes.issue_for_unit(unit, current_user)
    except codes.QrError as error:
        db.session.rollback()
        flash(f"{unit.name}: {error.message}", "error")
        return redirect(url_for("qr.index"))
    db.session.commit()
    return render_template("qr/sheet.html", sheets=[(unit, _cards(issued))], ward=unit.ward)


def _cards(issued: list[codes.Issued]) -> list[tuple[codes.Issued, Any]]:
    return [
        (item, codes.svg_inline(item.url, f"Mã QR đăng ký thiết bị cho {item.person.full_name}"))
        for item in issued
    ]


@bp.post("/people/sheets")
@role_required("officer")
def people_sheets() -> Any:
    """Fresh codes for the given people (the ones a roster import just added), a sheet per unit."""
    if not SheetForm().validate_on_submit():
        flash("Phiên làm việc đã hết hạn. Vui lòng bấm “In phiếu mã QR” lại.", "error")
        return redirect(url_for("qr.index"))
    ids = [int(v) for v in request.form.getlist("person")[: codes.SHEET_PEOPLE_MAX] if v.isdigit()]
    people = db.session.scalars(visible(User).where(User.id.in_(ids or [0]))).all()
    try:
        sheets = codes.issue_for_people(list(people), current_user)
    except codes.QrError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("qr.index"))
    db.session.commit()
    return render_template(
        "qr/sheet.html",
        sheets=[(unit, _cards(issued)) for unit, issued in sheets],
        ward=current_user.ward,
    )


@bp.get("/poster/<int:unit_id>")
@role_required(*POSTER_ROLES)
def poster(unit_id: int) -> Any:
    """A unit's A4 contest poster: a big QR code of the contest link and whom to ask."""
    unit = get_visible_or_404(Unit, unit_id)
    poster = codes.poster_for(unit)
    image = None
    if poster.link:
        image = codes.cached_svg_inline(poster.link, "Mã QR đường dẫn Cuộc thi")
    return render_template(
        "qr/poster.html", poster=poster, unit=unit, image=image, steps=codes.POSTER_STEPS
    )


def _contest_image(kind: str) -> Any:
    ward = current_user.ward
    if ward is None:
        deny()
    campaign = ward.current_campaign()
    link = codes.contest_link(campaign)
    if link is None:
        return render_template("qr/no_link.html", campaign=campaign), 404
    if kind == "png":
        body, mimetype = codes.cached_png(link), "image/png"
    else:
        body, mimetype = codes.cached_svg_document(link), "image/svg+xml"
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = IMAGE_CACHE
    response.headers["Content-Disposition"] = f'inline; filename="ma-qr-cuoc-thi.{kind}"'
    response.set_etag(codes.etag(link, kind))
    return response.make_conditional(request)


@bp.get("/contest.png")
@role_required(*POSTER_ROLES)
def contest_png() -> Any:
    """The contest link as a PNG, for the ward's social-network groups."""
    return _contest_image("png")


@bp.get("/contest.svg")
@role_required(*POSTER_ROLES)
def contest_svg() -> Any:
    """The contest link as an SVG, for printing at any size."""
    return _contest_image("svg")
