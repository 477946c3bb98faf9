"""The member's PWA: the app shell, its service worker and manifest, and enrolment pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from .roles import role_required

bp = Blueprint("field", __name__)


@bp.get("/app")
def shell() -> Any:
    return render_template("field/shell.html")


@bp.get("/app/enrol-signed-in")
@role_required("member", "group_head")
def enrol_signed_in() -> Any:
    return render_template("field/shell.html")
