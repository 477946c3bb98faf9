"""The front door: where each role lands, and the health check."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, redirect, url_for
from flask_login import current_user

from .config import SHARED_STORAGES
from .extensions import db, limiter

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
    """For a load balancer: 200 when every backing service answers, 503 when one does not.

    Checks the database, and Redis when it holds the rate limits (sign-in fails without it).
    """
    checks = {"database": "ok"}
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        checks["database"] = "unreachable"
    config = current_app.config
    if config.get("RATELIMIT_ENABLED", True) and config["RATELIMIT_STORAGE_URI"].startswith(
        SHARED_STORAGES
    ):
        checks["ratelimit_storage"] = "ok" if limiter.storage.check() else "unreachable"
    healthy = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if healthy else "error", **checks), 200 if healthy else 503
