"""The front door: where each role lands, and the health check."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, jsonify, redirect, url_for
from flask_login import current_user

from .extensions import db

bp = Blueprint("main", __name__)

HOME_BY_ROLE = {
    "officer": "admin.index",
    "group_head": "reports.unit",
    "member": "field.shell",
    "reporter": "reports.unit_report",
    "city_admin": "city.index",
}


@bp.get("/")
def home() -> Any:
    """Send each person to the screen their role starts on."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(HOME_BY_ROLE.get(current_user.role, "auth.login")))


@bp.get("/healthz")
def healthz() -> Any:
    """For a load balancer: 200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
