"""The officer's setup screens: campaign, units and targets, people, devices."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from .roles import role_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@role_required("officer")
def index() -> Any:
    return render_template("admin/index.html")


@bp.get("/campaign")
@role_required("officer")
def campaign() -> Any:
    return render_template("admin/index.html")


@bp.get("/units")
@role_required("officer")
def units() -> Any:
    return render_template("admin/index.html")


@bp.get("/people")
@role_required("officer")
def people() -> Any:
    return render_template("admin/index.html")


@bp.get("/devices")
@role_required("officer")
def devices() -> Any:
    return render_template("admin/index.html")
