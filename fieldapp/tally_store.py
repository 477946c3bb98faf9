"""The tally's figures, stored per campaign and ward, and kept up to date as records arrive.

tally.py defines every count as SQL over the assists. Counted that way, a ward of 200,000
assists takes seconds, so the figures the dashboards show are kept here:

- `tally_figures` holds one row per group and step. A group is the ward, a unit, a category,
  a day, a unit x category or a unit x day (SCOPES); the step '' row holds the group's
  residents, assists and attempts, a step key's row the residents who reached that step.
  Scope "n" rows are the likely duplicates: a folded name + birth year that counts as more
  than one resident.
- sync.py calls `lock()` before it writes a batch and `record()` after, in the same
  transaction. Only the residents the batch touches are read again (an index lookup), to see
  which groups each of them enters or leaves; the counts move by those differences.
- `tally_state.stamp` is the tally.data_version() the figures were counted at. A reader
  finding another version (a writer that did not come through here: the demo, a benchmark's
  bulk load, a test) rebuilds the ward's figures from tally.py's definitions, so the figures
  are never stale. tests/test_tally_store.py proves the kept figures equal a rebuild.
- Writers of one campaign and ward take the state row's lock first, so two batches never
  count one resident twice; any other code that changes assists in place (privacy.py) calls
  `forget()`, under the same lock.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from . import tally
from .extensions import db
from .models import Assist, Campaign, TallyFigure, TallyState, Unit

WARD, UNIT, CATEGORY, DAY, UNIT_CATEGORY, UNIT_DAY, NAMES = "w", "u", "c", "d", "uc", "ud", "n"
# scope -> the tally dims it groups by (the unit is the figure's unit_id, the rest its key)
SCOPES: dict[str, list[Any]] = {
    WARD: [],
    UNIT: [Assist.unit_id],
    CATEGORY: [Assist.category],
    DAY: [tally.local_date(Assist.received_at)],
    UNIT_CATEGORY: [Assist.unit_id, Assist.category],
    UNIT_DAY: [Assist.unit_id, tally.local_date(Assist.received_at)],
}
_KEY = ("campaign_id", "ward_id", "scope", "unit_id", "key", "step")
Row = Mapping[str, Any]  # an assist's columns


# --- reading -------------------------------------------------------------------------------


@dataclass
class Figures:
    """The stored figures of a ward (or of one unit: `unit_id`)."""

    totals: tally.Counts
    per_unit: dict[int, tally.Counts] = field(default_factory=dict)
    categories: dict[str, tally.Counts] = field(default_factory=dict)
    days: list[tuple[date, tally.Counts]] = field(default_factory=list)
    unit_categories: dict[int, dict[str, int]] = field(default_factory=dict)


def ward_figures(campaign: Campaign, ward_id: int) -> Figures:
    """The ward's totals, units, categories, days, and residents per unit x category."""
    refresh(campaign, ward_id)
    groups = _load(campaign, ward_id, [WARD, UNIT, CATEGORY, DAY, UNIT_CATEGORY])
    figures = Figures(totals=groups.get((WARD, 0, "")) or _empty(campaign))
    figures.per_unit = {unit: c for (scope, unit, _), c in groups.items() if scope == UNIT}
    figures.categories = _categories(campaign, groups, CATEGORY)
    figures.days = _days(campaign, groups, DAY)
    for (scope, unit, key), c in groups.items():
        if scope == UNIT_CATEGORY:
            figures.unit_categories.setdefault(unit, {})[key] = c.residents
    return figures


def duplicates(
    campaign: Campaign, ward_id: int, limit: int | None = None
) -> tuple[int, list[tuple[str, int]]]:
    """(how many, the first `limit`) (name_key, birth_year) counted as more than one resident."""
    refresh(campaign, ward_id)
    f = TallyFigure
    scope = (f.campaign_id == campaign.id, f.ward_id == ward_id, f.scope == NAMES)
    total = db.session.scalar(sa.select(sa.func.count()).where(*scope)) or 0
    keys = db.session.scalars(sa.select(f.key).where(*scope).order_by(f.key).limit(limit))
    pairs = []
    for key in keys:
        name_key, _, year = key.rpartition("\t")
        pairs.append((name_key, int(year)))
    return total, sorted(pairs)


def unit_figures(campaign: Campaign, unit: Unit) -> Figures:
    """One unit's totals, categories and days."""
    refresh(campaign, unit.ward_id)
    groups = _load(campaign, unit.ward_id, [UNIT, UNIT_CATEGORY, UNIT_DAY], unit.id)
    totals = groups.get((UNIT, unit.id, "")) or _empty(campaign)
    return Figures(
        totals=totals,
        per_unit={unit.id: totals} if totals.assists else {},
        categories=_categories(campaign, groups, UNIT_CATEGORY),
        days=_days(campaign, groups, UNIT_DAY),
    )


def units_with_data(campaign: Campaign, ward_id: int) -> set[int]:
    """The ids of the ward's units with at least one counted assist."""
    refresh(campaign, ward_id)
    f = TallyFigure
    return set(
        db.session.scalars(
            sa.select(f.unit_id).where(
                f.campaign_id == campaign.id,
                f.ward_id == ward_id,
                f.scope == UNIT,
                f.step == "",
                f.assists > 0,
            )
        )
    )


def ward_unit_ids(ward_id: int) -> list[int]:
    """Every unit of the ward, active or not: the ward's figures count them all."""
    return list(db.session.scalars(sa.select(Unit.id).where(Unit.ward_id == ward_id)))


def _empty(campaign: Campaign) -> tally.Counts:
    return tally.Counts(steps=dict.fromkeys(campaign.step_keys, 0))


def _load(
    campaign: Campaign, ward_id: int, scopes: list[str], unit_id: int | None = None
) -> dict[tuple[str, int, str], tally.Counts]:
    """Counts per (scope, unit_id, key); groups without a counted assist are left out."""
    f = TallyFigure
    query = sa.select(f.scope, f.unit_id, f.key, f.step, f.residents, f.assists, f.attempts).where(
        f.campaign_id == campaign.id, f.ward_id == ward_id, f.scope.in_(scopes)
    )
    if unit_id is not None:
        query = query.where(f.unit_id == unit_id)
    groups: dict[tuple[str, int, str], tally.Counts] = {}
    steps = set(campaign.step_keys)
    for row in db.session.execute(query):
        group = groups.setdefault((row.scope, row.unit_id, row.key), _empty(campaign))
        if row.step == "":
            group.residents, group.assists, group.attempts = (
                row.residents,
                row.assists,
                row.attempts,
            )
        elif row.step in steps:
            group.steps[row.step] = row.residents
    return {g: c for g, c in groups.items() if c.assists > 0}


def _categories(
    campaign: Campaign, groups: dict[tuple[str, int, str], tally.Counts], scope: str
) -> dict[str, tally.Counts]:
    found = {key: c for (s, _, key), c in groups.items() if s == scope}
    return tally.in_category_order(campaign, found)


def _days(
    campaign: Campaign, groups: dict[tuple[str, int, str], tally.Counts], scope: str
) -> list[tuple[date, tally.Counts]]:
    found = {date.fromisoformat(key): c for (s, _, key), c in groups.items() if s == scope}
    return tally.every_day(campaign, found)


# --- keeping them fresh ----------------------------------------------------------------------


def stamp_of(version: tuple[Any, ...]) -> str:
    """A tally.data_version() as stored in tally_state.stamp."""
    return "|".join(str(part) for part in version)


def _stamp(campaign_id: int, ward_id: int) -> str:
    return stamp_of(tally.data_version(campaign_id, ward_id))


def _locked_state(campaign_id: int, ward_id: int) -> TallyState:
    """The state row of a campaign and ward, created if missing, locked until commit."""
    insert = _dialect_insert(TallyState.__table__)
    db.session.execute(
        insert.values(campaign_id=campaign_id, ward_id=ward_id).on_conflict_do_nothing()
    )
    return db.session.execute(
        sa.select(TallyState)
        .where(TallyState.campaign_id == campaign_id, TallyState.ward_id == ward_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def refresh(campaign: Campaign, ward_id: int) -> bool:
    """Rebuild the ward's figures if anything changed behind this module's back (commits).

    Returns True when it rebuilt. The quick check takes no lock; the rebuild takes the state
    row's lock and checks again, so two readers never rebuild the same ward twice at once.
    """
    stamp = db.session.scalar(
        sa.select(TallyState.stamp).where(
            TallyState.campaign_id == campaign.id, TallyState.ward_id == ward_id
        )
    )
    if stamp is not None and stamp == _stamp(campaign.id, ward_id):
        return False
    state = _locked_state(campaign.id, ward_id)
    current = _stamp(campaign.id, ward_id)
    if state.stamp == current:
        db.session.commit()
        return False
    rebuild(campaign, ward_id)
    state.stamp = current
    db.session.commit()
    return True


def rebuild(campaign: Campaign, ward_id: int) -> None:
    """Count the ward's figures afresh from tally.py's definitions (inside the caller's lock)."""
    f = TallyFigure
    db.session.execute(sa.delete(f).where(f.campaign_id == campaign.id, f.ward_id == ward_id))
    unit_ids = ward_unit_ids(ward_id)
    rows = []
    for scope, dims in SCOPES.items():
        for values, counts in tally._grouped(campaign, unit_ids, dims):
            unit_id = values[0] if scope in (UNIT, UNIT_CATEGORY, UNIT_DAY) else 0
            key = values[-1] if scope in (CATEGORY, DAY, UNIT_CATEGORY, UNIT_DAY) else ""
            base = {"campaign_id": campaign.id, "ward_id": ward_id, "scope": scope}
            base |= {"unit_id": unit_id, "key": _key(key)}
            rows.append(base | _values("", counts.residents, counts.assists, counts.attempts))
            for step, residents in counts.steps.items():
                rows.append(base | _values(step, residents))
    for name_key, birth_year, residents in tally.duplicate_counts(campaign, unit_ids):
        rows.append(_name_row(campaign.id, ward_id, name_key, birth_year, residents))
    for start in range(0, len(rows), 5000):
        db.session.execute(sa.insert(f), rows[start : start + 5000])


def forget(pairs: Iterable[tuple[int, int]]) -> None:
    """Mark figures stale (rebuilt on the next read): for writers that bypass record()."""
    for campaign_id, ward_id in sorted(set(pairs)):
        _locked_state(campaign_id, ward_id).stamp = None
    db.session.flush()


def lock(pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """Before a batch is written: lock each (campaign, ward), return those whose figures are fresh.

    Taken in one order by every writer. A stale pair stays stale (its stamp no longer
    matches) and is rebuilt by the next reader.
    """
    fresh = set()
    for campaign_id, ward_id in sorted(set(pairs)):
        state = _locked_state(campaign_id, ward_id)
        if state.stamp is not None and state.stamp == _stamp(campaign_id, ward_id):
            fresh.add((campaign_id, ward_id))
    return fresh


def record(campaign: Campaign, ward_id: int, changes: list[tuple[Row | None, Row | None]]) -> None:
    """After a batch is written under lock(): move the figures by what changed, and restamp.

    `changes` holds, per record, (its current row before the batch, its current row after):
    either may be None, either may be voided.
    """
    removed = [old for old, _ in changes if old is not None and not old["voided"]]
    added = [new for _, new in changes if new is not None and not new["voided"]]
    steps = set(campaign.step_keys)
    deltas: dict[tuple[str, int, str, str], Counter[str]] = defaultdict(Counter)
    for sign, rows in ((-1, removed), (1, added)):
        for row in rows:
            for group in _groups(row):
                deltas[(*group, "")].update({"assists": sign, "attempts": sign * row["attempts"]})
    touched = {row["record_id"] for pair in changes for row in pair if row is not None}
    for before, after in _residents(campaign.id, ward_id, removed, added, touched):
        had, has = _marks(before, steps), _marks(after, steps)
        for mark in has - had:
            deltas[mark]["residents"] += 1
        for mark in had - has:
            deltas[mark]["residents"] -= 1
    rows = [
        {"campaign_id": campaign.id, "ward_id": ward_id, "scope": scope, "unit_id": unit_id}
        | {"key": key}
        | _values(step, d["residents"], d["assists"], d["attempts"])
        for (scope, unit_id, key, step), d in sorted(deltas.items())
        if any(d.values())
    ]
    if rows:
        table = TallyFigure.__table__
        insert = _dialect_insert(table)
        db.session.execute(
            insert.on_conflict_do_update(
                index_elements=list(_KEY),
                set_={
                    col: table.c[col] + insert.excluded[col]
                    for col in ("residents", "assists", "attempts")
                },
            ),
            rows,
        )
    _record_names(campaign.id, ward_id, removed + added)
    db.session.flush()
    state = db.session.get(TallyState, (campaign.id, ward_id))
    state.stamp = _stamp(campaign.id, ward_id)


def _groups(row: Row) -> list[tuple[str, int, str]]:
    """The groups an assist counts in: (scope, unit_id, key)."""
    unit, category = row["unit_id"], row["category"]
    day = (row["received_at"] + tally.LOCAL_OFFSET).date().isoformat()
    return [
        (WARD, 0, ""),
        (UNIT, unit, ""),
        (CATEGORY, 0, _key(category)),
        (DAY, 0, day),
        (UNIT_CATEGORY, unit, _key(category)),
        (UNIT_DAY, unit, day),
    ]


def _marks(rows: list[Row], steps: set[str]) -> set[tuple[str, int, str, str]]:
    """(group, step) pairs a resident's counted assists put them in ('' = helped at all)."""
    marks = set()
    for row in rows:
        reached = [s for s in row["steps"].split(",") if s in steps]
        for group in _groups(row):
            marks.add((*group, ""))
            marks.update((*group, step) for step in reached)
    return marks


_RESIDENT_COLUMNS = (
    Assist.record_id,
    Assist.resident_key,
    Assist.unit_id,
    Assist.category,
    Assist.received_at,
    Assist.steps,
    Assist.attempts,
)


def _residents(
    campaign_id: int, ward_id: int, removed: list[Row], added: list[Row], touched: set[str]
) -> list[tuple[list[Row], list[Row]]]:
    """Each touched resident's counted assists before and after the batch.

    The rows not in the batch are read from the database (the batch's own rows are written
    already and its replaced rows unmarked); before = those + the replaced rows, after =
    those + the new rows.
    """
    keys = sorted({row["resident_key"] for row in removed + added})
    others: dict[str, list[Row]] = defaultdict(list)
    for start in range(0, len(keys), 500):
        found = db.session.execute(
            sa.select(*_RESIDENT_COLUMNS).where(
                *tally.current_assists(campaign_id),
                Assist.ward_id == ward_id,
                Assist.resident_key.in_(keys[start : start + 500]),
            )
        ).mappings()
        for row in found:
            if row["record_id"] not in touched:
                others[row["resident_key"]].append(row)
    result = []
    for key in keys:
        before = others[key] + [r for r in removed if r["resident_key"] == key]
        after = others[key] + [r for r in added if r["resident_key"] == key]
        result.append((before, after))
    return result


def _record_names(campaign_id: int, ward_id: int, rows: list[Row]) -> None:
    """Recount the duplicate groups (name + birth year) the batch touched."""
    pairs = {
        (row["name_key"], row["birth_year"])
        for row in rows
        if row.get("name_key") and row.get("birth_year") is not None
    }
    if not pairs:
        return
    names = sorted({name for name, _ in pairs})
    keys: dict[tuple[str, int], set[str]] = defaultdict(set)
    for start in range(0, len(names), 500):
        found = db.session.execute(
            sa.select(Assist.name_key, Assist.birth_year, Assist.resident_key).where(
                *tally.current_assists(campaign_id),
                Assist.ward_id == ward_id,
                Assist.name_key.in_(names[start : start + 500]),
            )
        )
        for name_key, birth_year, resident_key in found:
            if (name_key, birth_year) in pairs:
                keys[(name_key, birth_year)].add(resident_key)
    f = TallyFigure
    stored = [_name_key(name, year) for name, year in sorted(pairs)]
    for start in range(0, len(stored), 500):
        db.session.execute(
            sa.delete(f).where(
                f.campaign_id == campaign_id,
                f.ward_id == ward_id,
                f.scope == NAMES,
                f.key.in_(stored[start : start + 500]),
            )
        )
    found_rows = [
        _name_row(campaign_id, ward_id, name, year, len(residents))
        for (name, year), residents in sorted(keys.items())
        if len(residents) > 1
    ]
    if found_rows:
        db.session.execute(sa.insert(f), found_rows)


def _name_key(name_key: str, birth_year: int) -> str:
    # A tab sorts before any character of a name: keys sort as (name, year) pairs do.
    return _key(f"{name_key}\t{birth_year}")


def _name_row(
    campaign_id: int, ward_id: int, name_key: str, birth_year: int, residents: int
) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "ward_id": ward_id,
        "scope": NAMES,
        "unit_id": 0,
        "key": _name_key(name_key, birth_year),
    } | _values("", residents)


def _key(value: Any) -> str:
    """A group's key as stored: text, days as ISO dates (SQLite may hand back either)."""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[: TallyFigure.key.type.length]


def _values(step: str, residents: int, assists: int = 0, attempts: int = 0) -> dict[str, Any]:
    return {"step": step, "residents": residents, "assists": assists, "attempts": attempts}


def _dialect_insert(table: sa.Table) -> Any:
    if db.session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
