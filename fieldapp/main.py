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
    """For a load balancer: 503 only when the app cannot serve (its database is unreachable).

    Redis, when it holds the rate limits, is reported but never makes it 503: without it each
    worker counts in its own memory and goes on serving ("ratelimit_storage": "degraded").
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
        checks["ratelimit_storage"] = "ok" if limiter.storage.check() else "degraded"
    if checks["database"] != "ok":
        status, code = "error", 503
    elif checks.get("ratelimit_storage", "ok") != "ok":
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return jsonify(status=status, **checks), code
