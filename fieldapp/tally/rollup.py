"""The Department's roll-up: every ward's figures side by side, the city's as their sum.

Each ward's line is that ward's own dashboard total (counts.ward_summary over the units its
dashboard lists: the active ones and any inactive one whose logs still count), read from the
stored figures of tally_store. The city's figures are the sum of the wards' lines, so a
resident helped in two wards counts in both, as each ward reports them (pinned by
tests/tally/test_rollup.py, which compares every line with the ward's own dashboard).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    Campaign,
    Difficulty,
    TallyFigure,
    TallyPending,
    TallyState,
    Target,
    Unit,
    UnitReport,
    Ward,
)
from . import counts, store

ROLLED_UP = (store.WARD, store.DAY, store.CATEGORY, store.UNIT)


@dataclass
class WardLine(counts.Totals):
    """One ward's totals in the city's table (the city's own total line has no ward)."""

    ward: Ward | None
    counts: counts.Counts
    reported_completed: int = 0
    reported_attempts: int = 0
    target: int = 0
    units: int = 0
    units_with_data: int = 0
    difficulties_open: int = 0
    difficulties_resolved: int = 0

    @property
    def has_data(self) -> bool:
        """False for a ward that has reported nothing: no assist and no unit report."""
        return self.units_with_data > 0


@dataclass
class CityFigures:
    """Every ward's line, and the city's totals, days and categories as their sums."""

    wards: list[WardLine]
    totals: counts.Counts
    days: list[tuple[date, counts.Counts]] = field(default_factory=list)
    categories: dict[str, counts.Counts] = field(default_factory=dict)
    difficulty_kinds: list[counts.DifficultyCounts] = field(default_factory=list)
    as_of: datetime | None = None  # store.Figures.as_of, the oldest of the wards'

    @property
    def completed(self) -> int:
        return sum(w.completed for w in self.wards)

    @property
    def attempts(self) -> int:
        return sum(w.attempts for w in self.wards)

    @property
    def target(self) -> int:
        return sum(w.target for w in self.wards)

    @property
    def progress(self) -> float | None:
        return counts.progress(self.completed, self.target)

    @property
    def wards_reported(self) -> int:
        return sum(1 for w in self.wards if w.has_data)

    def total_line(self) -> WardLine:
        """The city as one line: every figure the sum of the wards' (a ward of its own)."""
        total = WardLine(None, self.totals)
        for w in self.wards:
            total.reported_completed += w.reported_completed
            total.reported_attempts += w.reported_attempts
            total.target += w.target
            total.units += w.units
            total.units_with_data += w.units_with_data
            total.difficulties_open += w.difficulties_open
            total.difficulties_resolved += w.difficulties_resolved
        return total


def city_figures(campaign: Campaign, wards: list[Ward]) -> CityFigures:
    """The roll-up of `wards` for a campaign (the city's, or one ward's own)."""
    ward_ids = [w.id for w in wards]
    as_of = refresh_all(campaign, ward_ids)
    empty = dict.fromkeys(campaign.step_keys, 0)
    f = TallyFigure
    mine = (f.campaign_id == campaign.id, f.ward_id.in_(ward_ids))
    totals: dict[int, counts.Counts] = {}
    for row in db.session.execute(
        sa.select(f.ward_id, f.step, f.residents, f.assists, f.attempts).where(
            *mine, f.scope == store.WARD
        )
    ):
        _add(totals.setdefault(row.ward_id, counts.Counts(steps=dict(empty))), row)
    # Days and categories are summed over the wards by the database.
    days: dict[date, counts.Counts] = {}
    categories: dict[str, counts.Counts] = {}
    for row in db.session.execute(
        sa.select(
            f.scope,
            f.key,
            f.step,
            sa.func.sum(f.residents).label("residents"),
            sa.func.sum(f.assists).label("assists"),
            sa.func.sum(f.attempts).label("attempts"),
        )
        .where(*mine, f.scope.in_((store.DAY, store.CATEGORY)))
        .group_by(f.scope, f.key, f.step)
    ):
        if row.scope == store.DAY:
            _add(
                days.setdefault(date.fromisoformat(row.key), counts.Counts(steps=dict(empty))), row
            )
        else:
            _add(categories.setdefault(row.key, counts.Counts(steps=dict(empty))), row)
    counted: dict[int, set[int]] = defaultdict(set)
    for ward_id, unit_id in db.session.execute(
        sa.select(f.ward_id, f.unit_id).where(
            *mine, f.scope == store.UNIT, f.step == "", f.assists > 0
        )
    ):
        counted[ward_id].add(unit_id)
    listed = _listed_units(ward_ids, counted)
    lines = [
        WardLine(ward, totals.get(ward.id) or counts.Counts(steps=dict(empty))) for ward in wards
    ]
    by_id = {line.ward.id: line for line in lines}
    _add_units(campaign, ward_ids, listed, counted, by_id)
    kinds = _add_difficulties(campaign, ward_ids, listed, by_id)
    city = counts.Counts(steps=dict(empty))
    for line in lines:
        _sum_into(city, line.counts)
    return CityFigures(
        wards=lines,
        totals=city,
        days=counts.every_day(campaign, {d: c for d, c in days.items() if c.assists > 0}),
        categories=counts.in_category_order(
            campaign, {k: c for k, c in categories.items() if c.assists > 0}
        ),
        difficulty_kinds=kinds,
        as_of=as_of,
    )


def refresh_all(campaign: Campaign, ward_ids: list[int]) -> datetime | None:
    """tally_store.settle() every ward with changes not yet folded in (or never counted).

    Two reads find them (the wards' state rows, the wards with pending rows) instead of one
    per ward. Returns the time the figures stand at: the oldest change still being folded in
    (None: every record received is counted).
    """
    built = set(
        db.session.scalars(
            sa.select(TallyState.ward_id).where(
                TallyState.campaign_id == campaign.id, TallyState.built_at.is_not(None)
            )
        )
    )
    pending = set(
        db.session.scalars(
            sa.select(TallyPending.ward_id)
            .where(TallyPending.campaign_id == campaign.id)
            .distinct()
        )
    )
    behind = [w for w in ward_ids if w not in built or w in pending]
    times = [store.settle(campaign, ward_id) for ward_id in behind]
    return min((t for t in times if t is not None), default=None)


def _listed_units(ward_ids: list[int], counted: dict[int, set[int]]) -> dict[int, set[int]]:
    """Per ward, the units its dashboard lists: active ones and those whose logs count."""
    listed: dict[int, set[int]] = {ward_id: set() for ward_id in ward_ids}
    for unit_id, ward_id, active in db.session.execute(
        sa.select(Unit.id, Unit.ward_id, Unit.active).where(Unit.ward_id.in_(ward_ids))
    ):
        if active or unit_id in counted[ward_id]:
            listed[ward_id].add(unit_id)
    return listed


def _add_units(
    campaign: Campaign,
    ward_ids: list[int],
    listed: dict[int, set[int]],
    counted: dict[int, set[int]],
    lines: dict[int, WardLine],
) -> None:
    """Unit reports and targets of the listed units, joined by ward (no list of unit ids)."""
    in_wards = Unit.ward_id.in_(ward_ids)
    reported: dict[int, set[int]] = defaultdict(set)
    for ward_id, unit_id, completed, attempts in db.session.execute(
        sa.select(Unit.ward_id, Unit.id, UnitReport.completed, UnitReport.attempts)
        .join(UnitReport, UnitReport.unit_id == Unit.id)
        .where(UnitReport.campaign_id == campaign.id, in_wards)
    ):
        if unit_id in listed[ward_id]:
            lines[ward_id].reported_completed += completed
            lines[ward_id].reported_attempts += attempts
            reported[ward_id].add(unit_id)
    for ward_id, unit_id, value in db.session.execute(
        sa.select(Unit.ward_id, Unit.id, Target.value)
        .join(Target, Target.unit_id == Unit.id)
        .where(Target.campaign_id == campaign.id, in_wards)
    ):
        if unit_id in listed[ward_id]:
            lines[ward_id].target += value
    for ward_id, units in listed.items():
        lines[ward_id].units = len(units)
        lines[ward_id].units_with_data = len(units & (counted[ward_id] | reported[ward_id]))


def _add_difficulties(
    campaign: Campaign,
    ward_ids: list[int],
    listed: dict[int, set[int]],
    lines: dict[int, WardLine],
) -> list[counts.DifficultyCounts]:
    """Open and resolved difficulties per ward, and per kind across them (one query)."""
    is_open = Difficulty.resolved_at.is_(None)
    kinds: dict[str, list[int]] = {}
    for ward_id, unit_id, kind, open_, resolved in db.session.execute(
        sa.select(
            Difficulty.ward_id,
            Difficulty.unit_id,
            Difficulty.kind,
            sa.func.sum(sa.case((is_open, 1), else_=0)),
            sa.func.sum(sa.case((is_open, 0), else_=1)),
        )
        .where(*counts.current_difficulties(campaign.id), Difficulty.ward_id.in_(ward_ids))
        .group_by(Difficulty.ward_id, Difficulty.unit_id, Difficulty.kind)
    ):
        if unit_id not in listed[ward_id]:
            continue
        lines[ward_id].difficulties_open += int(open_)
        lines[ward_id].difficulties_resolved += int(resolved)
        both = kinds.setdefault(kind, [0, 0])
        both[0] += int(open_)
        both[1] += int(resolved)
    return counts.difficulty_counts({k: (o, r) for k, (o, r) in kinds.items()})


def _add(into: counts.Counts, row: Any) -> None:
    if row.step == "":
        into.residents += row.residents
        into.assists += row.assists
        into.attempts += row.attempts
    elif row.step in into.steps:
        into.steps[row.step] += row.residents


def _sum_into(total: counts.Counts, part: counts.Counts) -> None:
    total.residents += part.residents
    total.assists += part.assists
    total.attempts += part.attempts
    for step, value in part.steps.items():
        total.steps[step] = total.steps.get(step, 0) + value
