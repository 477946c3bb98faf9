"""Tallies on screen and in files: group head, unit reporter, officer dashboard, downloads."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from .roles import role_required

bp = Blueprint("reports", __name__)


@bp.get("/unit")
@role_required("group_head", "officer")
def unit() -> Any:
    return render_template("admin/index.html")


@bp.get("/unit-report")
@role_required("reporter")
def unit_report() -> Any:
    return render_template("admin/index.html")
