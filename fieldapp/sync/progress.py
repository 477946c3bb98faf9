"""A member's group against its target, for the phone (GET /api/v1/me) and the share card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..extensions import db
from ..models import Campaign, Unit, User
from ..tally import counts, store
from .contract import iso_local


@dataclass
class Standing:
    """A unit's figures at a moment: residents helped, people tested, the target."""

    unit: Unit
    campaign: Campaign
    residents: int
    completed: int
    target: int | None
    as_of: datetime

    @property
    def percent(self) -> float | None:
        if not self.target:
            return None
        return 100.0 * self.completed / self.target

    @property
    def line(self) -> str:
        """The line for the screen: "Tổ 3: 61/95", or "Tổ 3: 61 người đã thi" without a target."""
        if self.target:
            return f"{self.unit.name}: {self.completed}/{self.target}"
        return f"{self.unit.name}: {self.completed} người đã thi"

    def as_json(self) -> dict[str, Any]:
        return {
            "unit_id": self.unit.id,
            "name": self.unit.name,
            "residents": self.residents,
            "completed": self.completed,
            "target": self.target,
            "line": self.line,
            "as_of": iso_local(self.as_of),
        }


def unit_standing(campaign: Campaign, unit: Unit, now: datetime) -> Standing:
    """One unit's standing from the stored figures (the same as its dashboard's)."""
    figures = store.unit_figures(campaign, unit)
    row = counts.unit_rows(campaign, [unit], figures.per_unit, with_categories=False)[0]
    return Standing(
        unit=unit,
        campaign=campaign,
        residents=row.counts.residents,
        completed=row.completed,
        target=row.target,
        as_of=figures.as_of or now,
    )


def group_standing(user: User, now: datetime) -> Standing | None:
    """The member's residential group's standing in the ward's current campaign, if any."""
    if user.ward is None or user.unit_id is None:
        return None
    unit = db.session.get(Unit, user.unit_id)
    campaign = user.ward.current_campaign()
    if unit is None or campaign is None or not unit.is_residential:
        return None
    return unit_standing(campaign, unit, now)
