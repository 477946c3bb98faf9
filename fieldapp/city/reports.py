"""The Department's roll-up on screen and in files: every ward's figures, the city's sum."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, url_for

from .. import audit
from ..extensions import db
from ..models import Campaign, Ward
from ..params import int_arg
from ..reports import exports
from ..reports.views import csv_response, dashboard_view, download_name, xlsx_response
from ..roles import role_required
from ..sync import outbox
from ..tally import counts, rollup
from ..text import utcnow

bp = Blueprint("city_reports", __name__, url_prefix="/city/reports")
CITY_PLACE = "Toàn thành phố"  # the city workbook's page header, where a ward's has its name

SORTS = {
    "name": lambda w: counts.natural_key(w.ward.name),
    "progress": lambda w: (w.progress is None, w.progress or 0.0),
    "completed": lambda w: (w.completed,),
    "residents": lambda w: (w.counts.residents,),
}


def city_campaigns() -> list[Campaign]:
    """The city's campaigns (not a ward's own), newest first."""
    return list(
        db.session.scalars(
            sa.select(Campaign)
            .where(Campaign.ward_id.is_(None))
            .order_by(Campaign.active.desc(), Campaign.starts_on.desc(), Campaign.id.desc())
        )
    )


def sort_lines(lines: list[rollup.WardLine], by: str, descending: bool) -> list[rollup.WardLine]:
    """Wards sorted by a column; wards without a target stay last when sorting by progress."""
    ordered = sorted(lines, key=SORTS["name"])
    ordered.sort(key=SORTS.get(by, SORTS["name"]), reverse=descending)
    if by == "progress" and descending:
        ordered.sort(key=lambda w: w.progress is None)
    return ordered


def _scope() -> tuple[Campaign, rollup.CityFigures]:
    """The chosen city campaign (?campaign_id=, else the newest active) and its roll-up."""
    campaigns = city_campaigns()
    wanted = int_arg("campaign_id")
    campaign = next((c for c in campaigns if wanted in (None, c.id)), None)
    if campaign is None:
        abort(404)
    wards = list(db.session.scalars(sa.select(Ward)))
    return campaign, rollup.city_figures(campaign, wards)


def _record_download(name: str, campaign: Campaign) -> None:
    audit.record("download", campaign, file=name)
    db.session.commit()


@bp.get("/")
@role_required("city_admin")
def index() -> Any:
    """The city dashboard: totals, every ward, wards not reported, funnel, days, difficulties."""
    campaigns = city_campaigns()
    if not campaigns:
        return render_template("city/no_campaign.html")
    campaign, city = _scope()
    shown = dashboard_view(campaign, city.days, city.as_of, default_sort="name")
    return render_template(
        "city/reports.html",
        campaign=campaign,
        campaigns=campaigns,
        city=city,
        total=city.total_line(),
        lines=sort_lines(city.wards, shown["sort"], shown["descending"]),
        missing=[w for w in sorted(city.wards, key=SORTS["name"]) if not w.has_data],
        outside_rule=counts.outside_rule_text(campaign),
        **shown,
        phone_figures=outbox.ward_figures([line.ward.id for line in city.wards], utcnow()),
    )


@bp.get("/wards.csv")
@role_required("city_admin")
def wards_csv() -> Any:
    """One row per ward and the city's total row."""
    campaign, city = _scope()
    _record_download("wards.csv", campaign)
    return csv_response(exports.wards_sheet(campaign, city), download_name("phuong-xa", "csv"))


@bp.get("/city.xlsx")
@role_required("city_admin")
def city_xlsx() -> Any:
    """The city workbook: wards, days, difficulties by kind."""
    campaign, city = _scope()
    _record_download("city.xlsx", campaign)
    sheets = [
        exports.wards_sheet(campaign, city),
        exports.days_sheet(campaign, city.days, city.totals),
        exports.city_difficulties_sheet(city),
    ]
    name = download_name("bao-cao-thanh-pho", "xlsx")
    return xlsx_response(sheets, name, CITY_PLACE, campaign.name)


def city_sort_url(column: str, current: str, descending: bool, campaign_id: int) -> str:
    """A sortable column header of the wards' table: a second click reverses the order."""
    flip = column == current and not descending
    direction = "desc" if flip else "asc"
    url = url_for("city_reports.index", campaign_id=campaign_id, sort=column, dir=direction)
    return url + "#phuong-xa"


bp.add_app_template_global(city_sort_url, "city_sort_url")
