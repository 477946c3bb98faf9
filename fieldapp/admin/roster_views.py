"""The officer's roster import: upload a CSV or XLSX of people, all lines or none, a sample.

The rules are in admin/roster.py; the new members' QR sheets are printed by qr.views.people_sheets.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, render_template
from flask_login import current_user

from ..extensions import db
from ..models import Ward
from ..roles import role_required
from . import roster
from .forms import RosterImportForm
from .imports import run_import

bp = Blueprint("roster", __name__, url_prefix="/admin/people")

MSG_NO_FILE = "Vui lòng chọn một tệp CSV hoặc Excel (.xlsx)."
MSG_RACE = (
    "Trong lúc nhập, có người vừa được thêm với cùng tên đăng nhập. Chưa nhập gì cả: "
    "vui lòng tải tệp lên lại."
)


def _ward() -> Ward:
    ward = current_user.ward
    if ward is None:
        abort(403)
    return ward


@bp.route("/import", methods=["GET", "POST"])
@role_required("officer")
def people_import() -> Any:
    """Create the people of a roster file: every line is checked, then all or none created."""
    ward = _ward()
    form = RosterImportForm()
    try:
        errors, imported = run_import(
            form,
            MSG_NO_FILE,
            lambda filename, data: roster.parse(filename, data, ward),
            lambda rows: roster.import_people(ward, rows),
        )
    except sa.exc.IntegrityError:  # a username taken since the check
        db.session.rollback()
        errors, imported = [MSG_RACE], None
    return render_template(
        "admin/people_import.html", form=form, errors=errors, imported=imported, ward=ward
    )


@bp.get("/sample.csv")
@role_required("officer")
def people_sample() -> Any:
    """A sample roster that opens in Excel with Vietnamese intact."""
    return Response(
        roster.sample_csv(_ward()),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=mau-danh-sach-nguoi-dung.csv"},
    )
