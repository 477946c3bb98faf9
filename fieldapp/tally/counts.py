"""Every count of the tally, defined once: plain functions over SQL, no request inside.

Rules (pinned by tests/tally/test_counts.py):
- Only each record's current revision counts, and never a voided one.
- A resident is identified by the stored `assists.resident_key`, a hash of the normalised phone
  when there is one, else the accent-folded name + birth year + unit, else the record
  (text.resident_key_for). It is kept when the name and phone are erased, so counts stay.
  So one phone helped in two units is one resident for the ward but one in each unit: the
  ward's resident figures are counted ward-wide, never as the sum of the units.
- A resident "reached" a step when any of their current assists includes it.
- A day is the server's `received_at` in Asia/Ho_Chi_Minh (UTC+7 all year, no summer time,
  so a fixed +7 h shift in SQL is exact).
- Progress = people who completed the test (residents from the logs + the unit's own
  report) / the unit's target.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from ..extensions import db
from ..models import Assist, Campaign, Difficulty, Participant, Target, Unit, UnitReport, User
from ..text import fmt_date, fmt_number, local_today
from ..vocab import DIFFICULTY_KINDS, TEST_STEP

LOCAL_OFFSET = timedelta(hours=7)  # Asia/Ho_Chi_Minh has had no summer time since 1975
# A device clock this far ahead of the server's receipt is "in the future" (not mere skew).
FUTURE_TOLERANCE = timedelta(minutes=10)

FLAG_OUTSIDE = "Giờ thiết bị ngoài thời gian Cuộc thi"
FLAG_FUTURE = "Giờ thiết bị ở tương lai"
FLAG_DUPLICATE = "Có thể trùng người"


# --- portable SQL pieces -------------------------------------------------------------------


class local_date(FunctionElement):  # noqa: N801 - reads like an SQL function
    """The Asia/Ho_Chi_Minh calendar date of a naive-UTC timestamp column."""

    type = sa.Date()
    inherit_cache = True


@compiles(local_date, "sqlite")
def _local_date_sqlite(element: local_date, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '+7 hours')"


@compiles(local_date)
def _local_date_default(element: local_date, compiler: Any, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)} + INTERVAL '7 hours') AS DATE)"


def resident_key() -> sa.ColumnElement[str]:
    """The column that identifies a resident (see the module's rules and text.resident_key_for)."""
    return Assist.resident_key


def has_step(key: str) -> sa.ColumnElement[bool]:
    """True when an assist's steps include `key` (steps are stored as ",a,b,")."""
    # A literal pattern: no per-row concatenation (step keys are [a-z_], "_" matches itself).
    return Assist.steps.like(sa.literal(f"%,{key},%"))


def current_assists(campaign: Campaign | int, unit_ids: Collection[int] | None = None) -> list[Any]:
    """WHERE conditions for the counted assists: current, not voided, in scope, and, when the
    campaign counts only its own days (count_outside off), with a device time inside them.

    `campaign` may be given by id (read from the session's identity map).
    """
    if not isinstance(campaign, Campaign):
        campaign = db.session.get(Campaign, campaign)
    conditions = live_assists(campaign.id, unit_ids)
    if not campaign.count_outside:
        # The bounds in UTC: a range on the column, no function per row.
        first, after = _campaign_bounds(campaign)
        conditions += [Assist.recorded_at >= first, Assist.recorded_at < after]
    return conditions


def live_assists(campaign_id: int, unit_ids: Collection[int] | None = None) -> list[Any]:
    """WHERE conditions for the assists that stand: current, not voided, in scope (counted or
    not by the campaign's rule for days outside it)."""
    # Written as the indexes' own condition ("is_current AND NOT voided") so that the
    # planners of both databases may use the partial indexes of models.Assist.
    conditions: list[Any] = [
        Assist.campaign_id == campaign_id,
        Assist.is_current,
        sa.not_(Assist.voided),
    ]
    if unit_ids is not None:
        conditions.append(Assist.unit_id.in_(list(unit_ids)))
    return conditions


def outside_rule_text(campaign: Campaign, count: int | None = None) -> str:
    """Which rule the figures follow for entries logged outside the campaign's days (and how
    many there are, when `count` is given): the files and the printed report say it."""
    window = f"{fmt_date(campaign.starts_on)}–{fmt_date(campaign.ends_on)}"
    if campaign.count_outside:
        text = (
            f"Các lượt ghi ngoài thời gian Cuộc thi ({window}) vẫn được tính vào số liệu"
            " (có đánh dấu để xem lại)."
        )
    else:
        text = f"Các lượt ghi ngoài thời gian Cuộc thi ({window}) không được tính vào số liệu."
    if count is None:
        return text
    return text + (f" Có {fmt_number(count)} lượt như vậy." if count else " Không có lượt nào.")


def outside_count(campaign: Campaign, unit_ids: Collection[int] | None = None) -> int:
    """How many standing assists have a device time outside the campaign's days."""
    first, after = _campaign_bounds(campaign)
    total = 0
    for condition in (Assist.recorded_at < first, Assist.recorded_at >= after):
        # Two range reads of the small ix_assists_recorded index, not an OR over every row.
        total += db.session.scalar(
            sa.select(sa.func.count()).where(*live_assists(campaign.id, unit_ids), condition)
        )
    return total


def current_difficulties(campaign_id: int, unit_ids: Collection[int] | None = None) -> list[Any]:
    """WHERE conditions for the counted difficulties."""
    conditions: list[Any] = [
        Difficulty.campaign_id == campaign_id,
        Difficulty.is_current.is_(True),
        Difficulty.voided.is_(False),
    ]
    if unit_ids is not None:
        conditions.append(Difficulty.unit_id.in_(list(unit_ids)))
    return conditions


# --- the figures -----------------------------------------------------------------------------


@dataclass
class Counts:
    """The log figures of one group of assists."""

    assists: int = 0
    residents: int = 0
    attempts: int = 0
    steps: dict[str, int] = field(default_factory=dict)  # residents who reached each step

    @property
    def tested(self) -> int:
        return self.steps.get(TEST_STEP, 0)


def _grouped(
    campaign: Campaign,
    unit_ids: Collection[int] | None,
    dims: list[Any],
    index_order: bool = False,
) -> list[tuple[tuple[Any, ...], Counts]]:
    """Counts per value of `dims`, with residents counted once within each group.

    Two levels instead of COUNT(DISTINCT ...): the inner query folds each resident's assists
    (per dims) into one row with a 0/1 per step; the outer one adds those rows up. One sort
    (none when an index of the model gives the order): about twice as fast on SQLite as four
    COUNT(DISTINCT resident_key).
    """
    keys = campaign.step_keys
    _room_to_group()
    parts = [Assist.resident_key.label("r_key")]
    dim_cols = [d.label(f"d{i}") for i, d in enumerate(dims)]
    inner = (
        sa.select(
            *dim_cols,
            *parts,
            sa.func.count().label("n"),
            sa.func.sum(Assist.attempts).label("a"),
            *[
                sa.func.max(sa.case((has_step(step), 1), else_=0)).label(f"s{i}")
                for i, step in enumerate(keys)
            ],
        )
        .where(*current_assists(campaign, unit_ids))
        .group_by(*[d.element for d in dim_cols], *[p.element for p in parts])
        .subquery("per_resident")
    )
    outer_dims = [inner.c[f"d{i}"] for i in range(len(dims))]
    query = sa.select(
        *outer_dims,
        sa.func.count().label("residents"),
        sa.func.sum(inner.c.n).label("assists"),
        sa.func.sum(inner.c.a).label("attempts"),
        *[sa.func.sum(inner.c[f"s{i}"]).label(f"step{i}") for i in range(len(keys))],
    )
    if outer_dims:
        query = query.group_by(*outer_dims)
    # `index_order`: the dims are a prefix of a partial index of models.Assist, which hands
    # the rows over already grouped; PostgreSQL's planner still prefers hashing 190,000
    # residents (430 ms against 180 ms at 200,000 assists), so it is told not to, for this
    # statement only (SQLite never hashes: it takes the index order by itself).
    steer = index_order and db.session.get_bind().dialect.name == "postgresql"
    if steer:
        db.session.execute(sa.text("SET LOCAL enable_hashagg = off"))
    rows = db.session.execute(query).all()
    if steer:
        db.session.execute(sa.text("SET LOCAL enable_hashagg = on"))
    result = []
    for row in rows:
        counts = _counts(row, keys)
        if counts.assists:
            result.append((tuple(row[: len(dims)]), counts))
    return result


def _room_to_group() -> None:
    """PostgreSQL: let this transaction hash a ward's residents in memory, not on disk."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SET LOCAL work_mem = '32MB'"))


def _counts(row: Any, step_keys: list[str]) -> Counts:
    return Counts(
        assists=int(row.assists or 0),
        residents=int(row.residents or 0),
        attempts=int(row.attempts or 0),
        steps={step: int(getattr(row, f"step{i}") or 0) for i, step in enumerate(step_keys)},
    )


def totals(campaign: Campaign, unit_ids: Collection[int] | None = None) -> Counts:
    """Log figures for the whole scope, residents counted once across units."""
    found = _grouped(campaign, unit_ids, [], index_order=True)
    return found[0][1] if found else Counts(steps={k: 0 for k in campaign.step_keys})


def by_unit(campaign: Campaign, unit_ids: Collection[int] | None = None) -> dict[int, Counts]:
    """Log figures per unit id (units without assists are absent)."""
    grouped = _grouped(campaign, unit_ids, [Assist.unit_id], index_order=True)
    return {dims[0]: c for dims, c in grouped}


def by_category(campaign: Campaign, unit_ids: Collection[int] | None = None) -> dict[str, Counts]:
    """Log figures per category key, in the campaign's order (unknown keys last)."""
    found = {dims[0]: c for dims, c in _grouped(campaign, unit_ids, [Assist.category])}
    return in_category_order(campaign, found)


def in_category_order(campaign: Campaign, found: dict[str, Counts]) -> dict[str, Counts]:
    """Figures per category in the campaign's order, unknown keys last (every split by
    category: counted here, stored by tally_store, summed by rollup)."""
    order = [c for c in campaign.category_keys if c in found]
    order += sorted(c for c in found if c not in order)
    return {c: found[c] for c in order}


def by_day(
    campaign: Campaign, unit_ids: Collection[int] | None = None
) -> list[tuple[date, Counts]]:
    """Log figures per local day of receipt, bounded by the campaign's window (every_day)."""
    grouped = _grouped(campaign, unit_ids, [local_date(Assist.received_at)])
    return every_day(campaign, {_as_date(dims[0]): c for dims, c in grouped})


def every_day(
    campaign: Campaign, found: dict[date, Counts], today: date | None = None
) -> list[tuple[date, Counts]]:
    """Figures per day of the campaign's window, a day without any as zeros; a day outside
    the window only when it has figures (never padded to it).

    The window runs from the first day to the last, or to today while the campaign runs.
    Every by-day list and chart (screens and files) is made from this, through series().
    """
    if not found:
        return []
    today = today or local_today()
    first = campaign.starts_on
    inside = [d for d in found if first <= d <= campaign.ends_on]
    last = min(campaign.ends_on, max([today, *inside]))
    days = {d: c for d, c in found.items() if not first <= d <= last}
    day = first
    while day <= last:
        days[day] = found.get(day) or Counts(steps=dict.fromkeys(campaign.step_keys, 0))
        day += timedelta(days=1)
    return sorted(days.items(), key=lambda item: item[0])


def outside_window(campaign: Campaign, day: date) -> bool:
    """True for a day before the campaign's first day or after its last."""
    return day < campaign.starts_on or day > campaign.ends_on


# A window longer than this is shown by week (a chart of 60 bars is no longer readable).
WEEKLY_AFTER_DAYS = 45
FLAG_OUTSIDE_DAY = "Ngoài thời gian Cuộc thi"


@dataclass
class Period:
    """One point of a by-day series on screen: a day, or a week of a long window."""

    first: date
    last: date
    assists: int
    attempts: int
    counts: Counts | None  # a day's figures; None for a week (residents are not additive)
    outside: bool  # before the campaign's first day or after its last
    label: str  # "12/10", "12/10/2025" when the series crosses years, "13/10–19/10" a week


@dataclass
class Series:
    """The by-day figures of a campaign as screens show them."""

    periods: list[Period]
    weekly: bool

    @property
    def outside_assists(self) -> int:
        return sum(p.assists for p in self.periods if p.outside)


def series(campaign: Campaign, days: list[tuple[date, Counts]]) -> Series:
    """every_day()'s days as the points of a list or chart: by week when the window is long,
    with the year when the days cross years, the days outside the window flagged."""
    window = (campaign.ends_on - campaign.starts_on).days + 1
    weekly = window > WEEKLY_AFTER_DAYS
    groups: dict[tuple[date, bool], list[tuple[date, Counts]]] = {}
    for day, counts in days:
        start = day - timedelta(days=day.weekday()) if weekly else day  # weeks from Monday
        groups.setdefault((start, outside_window(campaign, day)), []).append((day, counts))
    years = {day.year for day, _ in days} | {campaign.starts_on.year, campaign.ends_on.year}
    fmt = "%d/%m/%Y" if len(years) > 1 else "%d/%m"
    periods = []
    for (_, outside), members in sorted(groups.items()):
        first, last = members[0][0], members[-1][0]
        if weekly and not outside:  # a week of the window, clipped to it
            first = max(campaign.starts_on, first - timedelta(days=first.weekday()))
            last = min(campaign.ends_on, first + timedelta(days=6 - first.weekday()))
        label = first.strftime(fmt)
        if weekly and last != first:
            label += "–" + last.strftime(fmt)
        periods.append(
            Period(
                first=first,
                last=last,
                assists=sum(c.assists for _, c in members),
                attempts=sum(c.attempts for _, c in members),
                counts=None if weekly else members[0][1],
                outside=outside,
                label=label,
            )
        )
    return Series(periods, weekly)


def _as_date(value: Any) -> date:
    # SQLite hands back the text "YYYY-MM-DD" when the type is lost in a GROUP BY label.
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@dataclass
class MemberActivity:
    """One member's share of a unit's work."""

    user_id: int
    name: str
    role: str
    assists: int
    residents: int
    tested: int
    last_received_at: datetime | None


def member_activity(campaign: Campaign, unit_id: int) -> list[MemberActivity]:
    """Assists per member of a unit (members without any listed too), busiest first."""
    key = resident_key()
    rows = db.session.execute(
        sa.select(
            Assist.user_id,
            sa.func.count().label("assists"),
            sa.func.count(sa.distinct(key)).label("residents"),
            sa.func.count(sa.distinct(sa.case((has_step(TEST_STEP), key)))).label("tested"),
            sa.func.max(Assist.received_at).label("last"),
        )
        .where(*current_assists(campaign, [unit_id]))
        .group_by(Assist.user_id)
    )
    stats = {row.user_id: row for row in rows}
    people = db.session.scalars(
        sa.select(User).where(
            sa.or_(
                sa.and_(User.unit_id == unit_id, User.role.in_(("member", "group_head"))),
                User.id.in_(list(stats)),
            )
        )
    ).all()
    result = []
    for person in people:
        row = stats.get(person.id)
        result.append(
            MemberActivity(
                user_id=person.id,
                name=person.full_name,
                role=person.role,
                assists=row.assists if row else 0,
                residents=row.residents if row else 0,
                tested=row.tested if row else 0,
                last_received_at=row.last if row else None,
            )
        )
    result.sort(key=lambda m: (-m.assists, m.name))
    return result


@dataclass
class FollowUp:
    """A resident who registered but has not completed the test yet."""

    full_name: str
    birth_year: int | None
    phone: str | None
    category: str
    last_received_at: datetime


def follow_ups(campaign: Campaign, unit_ids: Collection[int], limit: int = 500) -> list[FollowUp]:
    """Residents whose current assists include registering but not the test, oldest first."""
    registered = "registered"
    if registered not in campaign.step_keys or TEST_STEP not in campaign.step_keys:
        return []
    key = resident_key().label("rkey")
    reached_test = sa.func.max(sa.case((has_step(TEST_STEP), 1), else_=0))
    reached_reg = sa.func.max(sa.case((has_step(registered), 1), else_=0))
    last = sa.func.max(Assist.received_at)
    rows = db.session.execute(
        sa.select(
            sa.func.max(Assist.full_name).label("full_name"),
            sa.func.max(Assist.birth_year).label("birth_year"),
            sa.func.max(Assist.phone).label("phone"),
            sa.func.max(Assist.category).label("category"),
            last.label("last"),
        )
        .where(*current_assists(campaign, unit_ids))
        .group_by(key)
        .having(reached_reg == 1, reached_test == 0)
        .order_by(last, sa.func.max(Assist.full_name))
        .limit(limit)
    )
    return [
        FollowUp(r.full_name or "", r.birth_year, r.phone, r.category or "", r.last) for r in rows
    ]


# --- difficulties ----------------------------------------------------------------------------


@dataclass
class DifficultyCounts:
    """Difficulties of one kind: open and resolved."""

    kind: str
    label: str
    open: int = 0
    resolved: int = 0

    @property
    def total(self) -> int:
        return self.open + self.resolved


def difficulties_by_kind(
    campaign: Campaign, unit_ids: Collection[int] | None = None
) -> list[DifficultyCounts]:
    """Open and resolved difficulties per kind, in the vocabulary's order."""
    is_open = Difficulty.resolved_at.is_(None)
    rows = db.session.execute(
        sa.select(
            Difficulty.kind,
            sa.func.sum(sa.case((is_open, 1), else_=0)).label("open"),
            sa.func.sum(sa.case((is_open, 0), else_=1)).label("resolved"),
        )
        .where(*current_difficulties(campaign.id, unit_ids))
        .group_by(Difficulty.kind)
    )
    return difficulty_counts({r.kind: (int(r.open), int(r.resolved)) for r in rows})


def difficulty_counts(found: dict[str, tuple[int, int]]) -> list[DifficultyCounts]:
    """(open, resolved) per kind as DifficultyCounts, in the vocabulary's order."""
    order = [k for k in DIFFICULTY_KINDS if k in found]
    order += sorted(k for k in found if k not in DIFFICULTY_KINDS)
    return [DifficultyCounts(k, _kind_label(k), *found[k]) for k in order]


def difficulties_by_unit(
    campaign: Campaign, unit_ids: Collection[int] | None = None
) -> dict[int, tuple[int, int]]:
    """(open, resolved) difficulties per unit id."""
    is_open = Difficulty.resolved_at.is_(None)
    rows = db.session.execute(
        sa.select(
            Difficulty.unit_id,
            sa.func.sum(sa.case((is_open, 1), else_=0)).label("open"),
            sa.func.sum(sa.case((is_open, 0), else_=1)).label("resolved"),
        )
        .where(*current_difficulties(campaign.id, unit_ids))
        .group_by(Difficulty.unit_id)
    )
    return {r.unit_id: (int(r.open), int(r.resolved)) for r in rows}


def open_difficulties(
    campaign: Campaign, unit_ids: Collection[int] | None = None, limit: int = 200
) -> list[Difficulty]:
    """The open difficulties, oldest first, for the officer to resolve."""
    return list(
        db.session.scalars(
            sa.select(Difficulty)
            .where(*current_difficulties(campaign.id, unit_ids), Difficulty.resolved_at.is_(None))
            .order_by(Difficulty.received_at, Difficulty.id)
            .limit(limit)
        )
    )


def _kind_label(kind: str) -> str:
    return DIFFICULTY_KINDS.get(kind, kind)


# --- units and their own reports -------------------------------------------------------------


@dataclass
class UnitRow:
    """One unit's line of the ward's table: log figures, its own report, target, progress."""

    unit: Unit
    target: int | None
    counts: Counts
    report: UnitReport | None = None
    participants: int = 0
    difficulties_open: int = 0
    difficulties_resolved: int = 0
    categories: dict[str, int] = field(default_factory=dict)  # residents per category

    @property
    def completed(self) -> int:
        """People who completed the test: residents from the logs + the unit's own report."""
        return self.counts.tested + (self.report.completed if self.report else 0)

    @property
    def attempts(self) -> int:
        return self.counts.attempts + (self.report.attempts if self.report else 0)

    @property
    def has_data(self) -> bool:
        """False for a unit that has reported nothing: no assist and no report of its own."""
        return self.counts.assists > 0 or self.report is not None

    @property
    def progress(self) -> float | None:
        return progress(self.completed, self.target)


def progress(done: int, target: int | None) -> float | None:
    """Percent of the target reached (may exceed 100), or None without a target."""
    if not target:
        return None
    return round(100.0 * done / target, 1)


def unit_rows(
    campaign: Campaign,
    units: Iterable[Unit],
    counts: dict[int, Counts] | None = None,
    with_categories: bool = True,
    categories: dict[int, dict[str, int]] | None = None,
) -> list[UnitRow]:
    """Every given unit's line, units without any data included (they are the point).

    `counts` may carry by_unit() figures already computed, `categories` the residents per
    unit and category; without them, that is one more pass over the assists unless
    `with_categories` is False.
    """
    units = list(units)
    ids = [u.id for u in units]
    if counts is None:
        counts = by_unit(campaign, ids)
    targets = dict(
        db.session.execute(
            sa.select(Target.unit_id, Target.value).where(
                Target.campaign_id == campaign.id, Target.unit_id.in_(ids)
            )
        ).all()
    )
    reports = {
        r.unit_id: r
        for r in db.session.scalars(
            sa.select(UnitReport).where(
                UnitReport.campaign_id == campaign.id, UnitReport.unit_id.in_(ids)
            )
        )
    }
    listed = dict(
        db.session.execute(
            sa.select(UnitReport.unit_id, sa.func.count(Participant.id))
            .join(Participant, Participant.report_id == UnitReport.id)
            .where(UnitReport.campaign_id == campaign.id, UnitReport.unit_id.in_(ids))
            .group_by(UnitReport.unit_id)
        ).all()
    )
    difficulties = difficulties_by_unit(campaign, ids)
    if categories is None:
        categories = {}
        if with_categories:
            dims = [Assist.unit_id, Assist.category]
            for (unit_id, category), c in _grouped(campaign, ids, dims):
                categories.setdefault(unit_id, {})[category] = c.residents
    empty = {k: 0 for k in campaign.step_keys}
    rows = []
    for unit in units:
        open_, resolved = difficulties.get(unit.id, (0, 0))
        rows.append(
            UnitRow(
                unit=unit,
                target=targets.get(unit.id),
                counts=counts.get(unit.id) or Counts(steps=dict(empty)),
                report=reports.get(unit.id),
                participants=listed.get(unit.id, 0),
                difficulties_open=open_,
                difficulties_resolved=resolved,
                categories=categories.get(unit.id, {}),
            )
        )
    return rows


# Vietnamese dictionary order (CLDR's "vi"): letters first, with ă â đ ê ô ơ ư letters of
# their own after a d e o u; then the tones, unmarked, huyền, hỏi, ngã, sắc, nặng; then case.
_LETTERS = {ch: 1000 + i for i, ch in enumerate("aăâbcdđeêfghijklmnoôơpqrstuưvwxyz")}
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
_NUMBERS = re.compile(r"([0-9]+)")


@functools.lru_cache(maxsize=8192)
def natural_key(name: str) -> tuple[Any, ...]:
    """The sort key of a name in natural Vietnamese order: "Tổ 2" before "Tổ 10", "Trạm" before
    "Trường", "Dương" before "Đông" before "Én"; the one order of every screen and file."""
    text = unicodedata.normalize("NFC", name.strip())
    letters: list[Any] = []  # text runs as letter ranks, number runs as their value
    tones: list[int] = []
    cases: list[bool] = []
    for index, part in enumerate(_NUMBERS.split(text)):
        if index % 2:
            letters.append(int(part))
            continue
        ranks = []
        for ch in part:
            lower = ch.lower()
            marks = unicodedata.normalize("NFD", lower)
            base = unicodedata.normalize("NFC", "".join(m for m in marks if m not in _TONES))
            # Spaces and ASCII punctuation before letters; any other script after them.
            code = ord(base[0]) if base else 0
            ranks.append(_LETTERS.get(base, code if code < 128 else 2000 + code))
            tones.append(next((_TONES[m] for m in marks if m in _TONES), 0))
            cases.append(ch != lower)
        letters.append(tuple(ranks))
    return (tuple(letters), tuple(tones), tuple(cases), text)


def unit_key(unit: Unit) -> tuple[Any, ...]:
    """Units as the dashboard lists them: by kind (residential first), then by name."""
    kind = KIND_ORDER.index(unit.kind) if unit.kind in KIND_ORDER else len(KIND_ORDER)
    return (kind, natural_key(unit.name))


SORTS = {
    "name": lambda r: natural_key(r.unit.name),
    "kind": lambda r: unit_key(r.unit),
    "progress": lambda r: (r.progress is None, r.progress or 0.0),
    "completed": lambda r: (r.completed,),
    "residents": lambda r: (r.counts.residents,),
}
KIND_ORDER = ("residential", "agency", "school", "organisation")


def sort_rows(rows: list[UnitRow], by: str = "kind", descending: bool = False) -> list[UnitRow]:
    """Rows sorted by a column of the ward's table; units without a target sort last."""
    key = SORTS.get(by, SORTS["kind"])
    ordered = sorted(rows, key=lambda r: natural_key(r.unit.name))
    ordered.sort(key=key, reverse=descending)
    if by == "progress" and descending:
        # keep "no target" last whichever way the column is sorted
        ordered.sort(key=lambda r: r.progress is None)
    return ordered


class Totals:
    """A line of totals (a ward's, the city's): the logs' counts plus the units' own reports,
    against a target. Mixed into the dataclasses that hold those four fields."""

    counts: Counts
    reported_completed: int
    reported_attempts: int
    target: int

    @property
    def completed(self) -> int:
        return self.counts.tested + self.reported_completed

    @property
    def attempts(self) -> int:
        return self.counts.attempts + self.reported_attempts

    @property
    def progress(self) -> float | None:
        return progress(self.completed, self.target)


@dataclass
class WardSummary(Totals):
    """The ward's totals: residents ward-wide from the logs, plus the units' own reports."""

    counts: Counts
    reported_completed: int
    reported_attempts: int
    target: int
    units: int
    units_with_data: int


def ward_summary(
    campaign: Campaign, rows: list[UnitRow], counts: Counts | None = None
) -> WardSummary:
    """Totals over the given unit rows; the log figures are recounted ward-wide."""
    ids = [r.unit.id for r in rows]
    return WardSummary(
        counts=counts if counts is not None else totals(campaign, ids),
        reported_completed=sum(r.report.completed for r in rows if r.report),
        reported_attempts=sum(r.report.attempts for r in rows if r.report),
        target=sum(r.target or 0 for r in rows),
        units=len(rows),
        units_with_data=sum(1 for r in rows if r.has_data),
    )


@dataclass
class KindSummary:
    """One line of the printed report: the units of one kind together."""

    kind: str
    units: int
    reported: int
    counts: Counts
    completed: int
    attempts: int
    pupils: int
    teachers: int
    target: int

    @property
    def progress(self) -> float | None:
        return progress(self.completed, self.target)


def by_unit_kind(campaign: Campaign, units: Iterable[Unit]) -> dict[str, Counts]:
    """Log figures per unit kind in one pass, residents counted once within each kind."""
    kinds = {u.id: u.kind for u in units}
    if not kinds:
        return {}
    kind = sa.case(kinds, value=Assist.unit_id, else_="")
    return {dims[0]: c for dims, c in _grouped(campaign, list(kinds), [kind])}


def by_kind(
    campaign: Campaign, rows: list[UnitRow], kind_counts: dict[str, Counts] | None = None
) -> list[KindSummary]:
    """Unit rows folded by unit kind, residents recounted across each kind's units."""
    if kind_counts is None:
        kind_counts = by_unit_kind(campaign, [r.unit for r in rows])
    empty = {k: 0 for k in campaign.step_keys}
    result = []
    for kind in KIND_ORDER:
        group = [r for r in rows if r.unit.kind == kind]
        if not group:
            continue
        counts = kind_counts.get(kind) or Counts(steps=dict(empty))
        result.append(
            KindSummary(
                kind=kind,
                units=len(group),
                reported=sum(1 for r in group if r.has_data),
                counts=counts,
                completed=counts.tested + sum(r.report.completed for r in group if r.report),
                attempts=counts.attempts + sum(r.report.attempts for r in group if r.report),
                pupils=sum((r.report.pupils or 0) for r in group if r.report),
                teachers=sum((r.report.teachers or 0) for r in group if r.report),
                target=sum(r.target or 0 for r in group),
            )
        )
    return result


# --- records to review -----------------------------------------------------------------------


def record_flags(
    recorded_at: datetime, received_at: datetime, campaign: Campaign, duplicate: bool = False
) -> list[str]:
    """The warnings shown beside one assist (device clock, likely duplicate)."""
    return list(record_flagger(campaign)(recorded_at, received_at, duplicate))


def record_flagger(campaign: Campaign) -> Callable[[datetime, datetime, bool], tuple[str, ...]]:
    """record_flags() for many assists of one campaign: the bounds worked out once.

    "Outside" is the device time's local day before the first day or after the last, which
    is the naive-UTC device time before the first moment or at or after the moment after.
    """
    first, after = _campaign_bounds(campaign)

    def flags(recorded_at: datetime, received_at: datetime, duplicate: bool) -> tuple[str, ...]:
        outside = recorded_at < first or recorded_at >= after
        future = recorded_at > received_at + FUTURE_TOLERANCE
        if not (outside or future or duplicate):
            return ()  # nearly every row: nothing to build
        return tuple(
            flag
            for flag, on in (
                (FLAG_OUTSIDE, outside),
                (FLAG_FUTURE, future),
                (FLAG_DUPLICATE, duplicate),
            )
            if on
        )

    return flags


def clock_flag_condition(campaign: Campaign) -> sa.ColumnElement[bool]:
    """SQL: the device time is outside the campaign's days or ahead of the server.

    Compared with the campaign's bounds converted to UTC, so no function runs per row; the
    future test here has no tolerance (a superset), record_flags() applies the exact rule.
    """
    first, after = _campaign_bounds(campaign)
    return sa.or_(
        Assist.recorded_at < first,
        Assist.recorded_at >= after,
        Assist.recorded_at > Assist.received_at,
    )


@dataclass
class ReviewRow:
    """One assist shown for review (plain values, safe to keep between requests)."""

    record_id: str
    unit_id: int
    full_name: str | None
    birth_year: int | None
    phone: str | None
    received_at: datetime
    recorded_at: datetime
    flags: list[str] = field(default_factory=list)


_REVIEW_COLUMNS = (
    Assist.record_id,
    Assist.unit_id,
    Assist.full_name,
    Assist.birth_year,
    Assist.phone,
    Assist.received_at,
    Assist.recorded_at,
)


def flagged_assists(
    campaign: Campaign, unit_ids: Collection[int] | None = None, limit: int = 100
) -> tuple[int, list[ReviewRow]]:
    """(how many, the first `limit`) standing assists whose device time looks wrong (counted
    or not: under a campaign that leaves out other days, the officer still sees them)."""
    first, after = _campaign_bounds(campaign)
    # Three index range reads (models.Assist's ix_assists_recorded and ix_assists_ahead)
    # rather than one OR over every row: the flagged rows are few.
    found: dict[int, Any] = {}
    ahead = Assist.recorded_at > Assist.received_at
    for condition in (Assist.recorded_at < first, Assist.recorded_at >= after, ahead):
        # ix_assists_recorded serves the first two, ix_assists_ahead the third.
        # Standing assists, counted or not: the officer reviews those the rule leaves out too.
        query = sa.select(Assist.id, *_REVIEW_COLUMNS).where(
            *live_assists(campaign.id, unit_ids), condition
        )
        for row in db.session.execute(query):
            found[row.id] = row
    rows = sorted(found.values(), key=lambda r: (r.received_at, r.id))
    flagged = []
    # The SQL conditions are a superset (no tolerance); the exact rule is record_flags().
    for row in rows:
        flags = record_flags(row.recorded_at, row.received_at, campaign)
        if flags:
            flagged.append(ReviewRow(*row[1:], flags=flags))
    return len(flagged), flagged[:limit]


def _campaign_bounds(campaign: Campaign) -> tuple[datetime, datetime]:
    """The campaign's first moment and the moment after its last day, in naive UTC."""
    first = datetime.combine(campaign.starts_on, datetime.min.time()) - LOCAL_OFFSET
    after = datetime.combine(campaign.ends_on + timedelta(days=1), datetime.min.time())
    return first, after - LOCAL_OFFSET


def duplicate_groups_query(campaign: Campaign, unit_ids: Collection[int] | None = None) -> Any:
    """Subquery of (name_key, birth_year, residents) counted as more than one resident."""
    residents = sa.func.count(sa.distinct(Assist.resident_key))
    return (
        sa.select(Assist.name_key, Assist.birth_year, residents.label("residents"))
        .where(
            *current_assists(campaign, unit_ids),
            Assist.name_key.is_not(None),
            Assist.name_key != "",
            Assist.birth_year.is_not(None),
        )
        .group_by(Assist.name_key, Assist.birth_year)
        .having(residents > 1)
        .subquery("dups")
    )


@dataclass
class DuplicateGroup:
    """Assists that share a folded name and birth year but count as different residents."""

    name: str
    birth_year: int
    assists: list[ReviewRow]

    @property
    def units(self) -> list[int]:
        return sorted({a.unit_id for a in self.assists})


def duplicate_counts(
    campaign: Campaign, unit_ids: Collection[int] | None = None
) -> list[tuple[str, int, int]]:
    """Every (name_key, birth_year, residents) counted as more than one resident, sorted."""
    dups = duplicate_groups_query(campaign, unit_ids)
    rows = db.session.execute(sa.select(dups.c.name_key, dups.c.birth_year, dups.c.residents))
    return sorted((r.name_key, r.birth_year, r.residents) for r in rows)


def duplicate_pairs(
    campaign: Campaign, unit_ids: Collection[int] | None = None
) -> list[tuple[str, int]]:
    """Every (name_key, birth_year) counted as more than one resident, sorted."""
    return [(name, year) for name, year, _ in duplicate_counts(campaign, unit_ids)]


def likely_duplicates(
    campaign: Campaign,
    unit_ids: Collection[int] | None = None,
    limit: int = 100,
    pairs: list[tuple[str, int]] | None = None,
) -> tuple[int, list[DuplicateGroup]]:
    """(how many groups, the first `limit` groups) of likely duplicate residents.

    `pairs` may carry duplicate_pairs() already known (tally_store keeps them per ward).
    """
    if pairs is None:
        pairs = duplicate_pairs(campaign, unit_ids)
    if not pairs:
        return 0, []
    # Fetched by name, then matched in Python: joining the grouped subquery back to the
    # table made SQLite rescan it for every row (20 s at 200,000 assists).
    wanted = set(pairs[:limit])
    rows = db.session.execute(
        sa.select(*_REVIEW_COLUMNS, Assist.name_key)
        .where(
            *current_assists(campaign, unit_ids),
            Assist.name_key.in_(sorted({name for name, _ in wanted})),
        )
        .order_by(Assist.name_key, Assist.birth_year, Assist.received_at, Assist.id)
    )
    groups: dict[tuple[str, int], DuplicateGroup] = {}
    for row in rows:
        key = (row.name_key, row.birth_year)
        if key not in wanted:
            continue
        if key not in groups:
            groups[key] = DuplicateGroup(row.full_name or "", row.birth_year, [])
        groups[key].assists.append(ReviewRow(*row[: len(_REVIEW_COLUMNS)]))
    return len(pairs), list(groups.values())
