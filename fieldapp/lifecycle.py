"""A campaign's life cycle on a given day: not started, running, ended, report due, overdue.

One rule for every screen: the dashboards (ward, group head, unit reporter, city) call
`of(campaign, today)`; the phone runs the same rule in static/js/lifecycle.js on the dates its
last `/me` answer carried, so it knows the phase with no signal. tests/test_lifecycle.py holds
the cases both are checked against.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from .text import fmt_date

NOT_STARTED = "not_started"
RUNNING = "running"
ENDED = "ended"  # the contest is over, the report deadline is still ahead
REPORT_DUE = "report_due"  # today is the report deadline
OVERDUE = "overdue"
PHASES = (NOT_STARTED, RUNNING, ENDED, REPORT_DUE, OVERDUE)


@dataclass(frozen=True)
class Lifecycle:
    """Where a campaign stands on `today`, with the day counts its screens show."""

    phase: str
    starts_on: date
    ends_on: date
    report_due: date
    today: date

    @property
    def days_to_start(self) -> int:
        return (self.starts_on - self.today).days

    @property
    def days_left(self) -> int:
        """Days of the contest after today (0 on its last day)."""
        return (self.ends_on - self.today).days

    @property
    def days_to_due(self) -> int:
        """Days until the report deadline (0 on the day, negative once passed)."""
        return (self.report_due - self.today).days

    @property
    def logging_open(self) -> bool:
        """Entries made today fall inside the campaign's days."""
        return self.phase == RUNNING

    @property
    def reports_open(self) -> bool:
        """Units may still change their own report (until the end of the deadline's day)."""
        return self.today <= self.report_due

    @property
    def tone(self) -> str:
        """The badge's colour hint: calm, soon (amber) or late (red)."""
        if self.phase == OVERDUE:
            return "late"
        if self.phase == RUNNING and self.days_left > 3:
            return "ok"
        if self.phase == NOT_STARTED:
            return "ok"
        return "soon"

    @property
    def text(self) -> str:
        """The sentence the dashboards show (officer, group head, unit reporter, city)."""
        start, end, due = (fmt_date(d) for d in (self.starts_on, self.ends_on, self.report_due))
        if self.phase == NOT_STARTED:
            if self.days_to_start == 1:
                return f"Cuộc thi chưa bắt đầu: ngày mai ({start}) bắt đầu"
            return f"Cuộc thi chưa bắt đầu: bắt đầu ngày {start} (còn {self.days_to_start} ngày)"
        if self.phase == RUNNING:
            if self.days_left == 0:
                running = f"hôm nay ({end}) là ngày cuối"
            elif self.days_left == 1:
                running = f"ngày mai ({end}) là ngày cuối"
            else:
                running = f"còn {self.days_left} ngày (đến hết ngày {end})"
            if self.days_to_due == 0:
                return f"Cuộc thi đang diễn ra: {running} · hôm nay là hạn báo cáo"
            return f"Cuộc thi đang diễn ra: {running} · hạn báo cáo {due}"
        ended = f"Cuộc thi đã kết thúc ngày {end}"
        if self.phase == ENDED:
            if self.days_to_due == 1:
                return f"{ended} · ngày mai ({due}) là hạn báo cáo"
            return f"{ended} · còn {self.days_to_due} ngày đến hạn báo cáo ({due})"
        if self.phase == REPORT_DUE:
            return f"{ended} · hôm nay ({due}) là hạn báo cáo"
        return f"{ended} · đã quá hạn báo cáo {-self.days_to_due} ngày (hạn {due})"


def lifecycle(starts_on: date, ends_on: date, report_due: date, today: date) -> Lifecycle:
    """The phase of a campaign with these dates on `today` (the one definition)."""
    if today < starts_on:
        phase = NOT_STARTED
    elif today <= ends_on:
        phase = RUNNING
    elif today < report_due:
        phase = ENDED
    elif today == report_due:
        phase = REPORT_DUE
    else:
        phase = OVERDUE
    return Lifecycle(phase, starts_on, ends_on, report_due, today)


def of(campaign: Any, today: date) -> Lifecycle:
    """A campaign's life cycle on `today` (its starts_on, ends_on and report_due)."""
    return lifecycle(campaign.starts_on, campaign.ends_on, campaign.report_due, today)
