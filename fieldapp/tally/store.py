"""The tally's figures, stored per campaign and ward, folded in from the records behind them.

tally/counts.py defines every count as SQL over the assists; counted that way a ward of 200,000
assists takes seconds, so the dashboards read figures kept here. Sync must never update a row
that every batch of a ward updates (such a row queues a ward's phones one behind another:
shared/design/tally-at-scale.md), so the figures trail the records by a fold:

- Writers only write records. Triggers on `assists` (models.TALLY_TRIGGERS) add each changed
  resident to `tally_pending` in the writer's own transaction. Insert-only, so two batches of
  one ward never wait for each other; and no write (sync, an erasure, a purge, a bulk load, a
  manual repair) can go around the figures.
- `tally_atoms` holds each counted assist as the figures count it. `tally_figures` holds, per
  group (the ward, a unit, a category, a day, unit x category, unit x day, a unit kind) and
  step, the sum over residents of the groups their atoms put them in (SCOPES); scope "n" rows
  are the likely duplicates (a folded name + birth year counted as more than one resident).
- `catch_up()` folds the pending residents in, one process per ward at a time (it locks the
  ward's tally_state row, SKIP LOCKED on PostgreSQL; SQLite has a single writer anyway): each
  resident's atoms are taken out of the figures and their current assists put back in. That
  is idempotent, so a resident folded twice, or late, comes out right, and the figures equal
  tally/counts.py's count once caught up (tests/tally/test_store.py).
- sync/api.py catches the wards up once a phone has its batch's answer, or leaves it to the
  process's next fold when one began less than FIELDAPP_FOLD_EVERY before (tally/folder.py:
  a moment's batches share one fold); a reader catches up before
  it reads, and when another process is folding it shows the stored figures with their time
  (`Figures.as_of`: "Số liệu lúc ...").
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from ..bulk import dialect_insert, insert_many, one_of
from ..extensions import db
from ..models import Assist, Campaign, TallyAtom, TallyFigure, TallyPending, TallyState, Unit
from ..text import utcnow
from . import counts

WARD, UNIT, CATEGORY, DAY, UNIT_CATEGORY, UNIT_DAY, KIND, NAMES = (
    "w",
    "u",
    "c",
    "d",
    "uc",
    "ud",
    "k",
    "n",
)
SCOPES = (WARD, UNIT, CATEGORY, DAY, UNIT_CATEGORY, UNIT_DAY, KIND)
FOLD_RESIDENTS = 2000  # pending rows folded per transaction
RECOUNT_AT = 20_000  # more pending rows than this (a bulk load): count the ward afresh
READ_ROUNDS = 3  # a reader folds at most this many transactions before it shows what is there
ANALYSE_AT = 10_000  # atoms one recount writes before it takes the planner's statistics
CHUNK = 500  # rows per IN list or multi-row INSERT
_FOLDER = threading.Lock()  # one folding thread per process (catch_up_everywhere)

Group = tuple[str, int, str]  # (scope, unit_id, key)
# One counted assist: resident_key, unit_id, category, day, steps, attempts, name_key, year
Atom = tuple[str, int, str, date, str, int, str | None, int | None]
Marks = dict[Group, list[Any]]  # group -> [assists, attempts, set of steps reached]

_ATOM_COLUMNS = ("resident_key", "unit_id", "category", "day", "steps", "attempts")
_ATOM_COLUMNS += ("name_key", "birth_year")


# --- reading -------------------------------------------------------------------------------


@dataclass
class Figures:
    """The stored figures of a ward (or of one unit: `unit_id`)."""

    totals: counts.Counts
    per_unit: dict[int, counts.Counts] = field(default_factory=dict)
    categories: dict[str, counts.Counts] = field(default_factory=dict)
    days: list[tuple[date, counts.Counts]] = field(default_factory=list)
    unit_categories: dict[int, dict[str, int]] = field(default_factory=dict)
    kinds: dict[str, counts.Counts] = field(default_factory=dict)
    # None: every record received so far is counted; else the figures hold what was received
    # before this moment (naive UTC), and later records are still being folded in.
    as_of: datetime | None = None


def ward_figures(campaign: Campaign, ward_id: int) -> Figures:
    """The ward's totals, units, categories, days, kinds and residents per unit x category."""
    as_of = settle(campaign, ward_id)
    groups = _load(campaign, ward_id, [WARD, UNIT, CATEGORY, DAY, UNIT_CATEGORY, KIND])
    figures = Figures(totals=groups.get((WARD, 0, "")) or _empty(campaign), as_of=as_of)
    figures.per_unit = {unit: c for (scope, unit, _), c in groups.items() if scope == UNIT}
    figures.categories = _categories(campaign, groups, CATEGORY)
    figures.days = _days(campaign, groups, DAY)
    figures.kinds = {key: c for (scope, _, key), c in groups.items() if scope == KIND}
    for (scope, unit, key), c in groups.items():
        if scope == UNIT_CATEGORY:
            figures.unit_categories.setdefault(unit, {})[key] = c.residents
    return figures


def unit_figures(campaign: Campaign, unit: Unit) -> Figures:
    """One unit's totals, categories and days."""
    as_of = settle(campaign, unit.ward_id)
    groups = _load(campaign, unit.ward_id, [UNIT, UNIT_CATEGORY, UNIT_DAY], unit.id)
    totals = groups.get((UNIT, unit.id, "")) or _empty(campaign)
    return Figures(
        totals=totals,
        per_unit={unit.id: totals} if totals.assists else {},
        categories=_categories(campaign, groups, UNIT_CATEGORY),
        days=_days(campaign, groups, UNIT_DAY),
        as_of=as_of,
    )


def duplicates(
    campaign: Campaign, ward_id: int, limit: int | None = None
) -> tuple[int, list[tuple[str, int]]]:
    """(how many, the first `limit`) (name_key, birth_year) counted as more than one resident."""
    settle(campaign, ward_id)
    f = TallyFigure
    scope = (f.campaign_id == campaign.id, f.ward_id == ward_id, f.scope == NAMES)
    total = db.session.scalar(sa.select(sa.func.count()).where(*scope)) or 0
    keys = db.session.scalars(sa.select(f.key).where(*scope).order_by(f.key).limit(limit))
    pairs = []
    for key in keys:
        name_key, _, year = key.rpartition("\t")
        pairs.append((name_key, int(year)))
    return total, sorted(pairs)


def units_with_data(campaign: Campaign, ward_id: int) -> set[int]:
    """The ids of the ward's units with at least one counted assist."""
    settle(campaign, ward_id)
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


def _empty(campaign: Campaign) -> counts.Counts:
    return counts.Counts(steps=dict.fromkeys(campaign.step_keys, 0))


def _load(
    campaign: Campaign, ward_id: int, scopes: list[str], unit_id: int | None = None
) -> dict[Group, counts.Counts]:
    """Counts per (scope, unit_id, key); groups without a counted assist are left out."""
    f = TallyFigure
    query = sa.select(f.scope, f.unit_id, f.key, f.step, f.residents, f.assists, f.attempts).where(
        f.campaign_id == campaign.id, f.ward_id == ward_id, f.scope.in_(scopes)
    )
    if unit_id is not None:
        query = query.where(f.unit_id == unit_id)
    groups: dict[Group, counts.Counts] = {}
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
    campaign: Campaign, groups: dict[Group, counts.Counts], scope: str
) -> dict[str, counts.Counts]:
    found = {key: c for (s, _, key), c in groups.items() if s == scope}
    return counts.in_category_order(campaign, found)


def _days(
    campaign: Campaign, groups: dict[Group, counts.Counts], scope: str
) -> list[tuple[date, counts.Counts]]:
    found = {date.fromisoformat(key): c for (s, _, key), c in groups.items() if s == scope}
    return counts.every_day(campaign, found)


# --- catching up -----------------------------------------------------------------------------


def settle(campaign: Campaign, ward_id: int) -> datetime | None:
    """Before a read: catch the ward up if this process can; the time its figures stand at.

    None when nothing received is left out. A ward never counted is counted first, waiting for
    another process that is counting it; a ward being folded by another process is not waited
    for (its figures are seconds behind at most, and say so).
    """
    state = db.session.get(TallyState, (campaign.id, ward_id), populate_existing=True)
    built = state is not None and state.built_at is not None
    if built and _oldest_pending(campaign.id, ward_id) is None:
        return None
    campaign_id = campaign.id
    catch_up(campaign, ward_id, wait=not built, rounds=READ_ROUNDS)
    return _oldest_pending(campaign_id, ward_id)


CAUGHT_UP, HELD, BEHIND = "caught up", "held", "behind"


def catch_up(
    campaign: Campaign, ward_id: int, wait: bool = False, rounds: int | None = None
) -> str:
    """Fold the ward's pending residents into its figures (commits each round).

    CAUGHT_UP once a round took all that was pending (what commits meanwhile is left to the
    next look: settle() and catch_up_everywhere() look again); HELD when another process is
    folding the ward (it looks again after each commit, so it takes what is left); BEHIND
    after `rounds` rounds.
    """
    campaign_id = campaign.id  # (the object is expired by each commit)
    done = 0
    while rounds is None or done < rounds:
        if _is_postgres():
            # The figures are derived: a crash may lose the last fold's commit, never part of
            # it, and then its pending rows are back too, to be folded again. No need to wait
            # for the disk (what writes the records still does).
            db.session.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
        state = _lock(campaign_id, ward_id, wait)
        if state is None:
            db.session.commit()
            return HELD
        keys = [] if state.built_at is None else _take_pending(campaign_id, ward_id, FOLD_RESIDENTS)
        full = len(keys) == FOLD_RESIDENTS
        # Counted afresh: never counted yet, asked for by forget(), or a bulk load's backlog.
        afresh = state.built_at is None or None in keys
        afresh |= full and _pending_count(campaign_id, ward_id) > RECOUNT_AT
        if afresh:
            _take_all_pending(campaign_id, ward_id)
            rebuild(campaign, ward_id)
            state.built_at = utcnow()
        elif keys:
            fold(campaign, ward_id, set(keys))
        state.folded_at = utcnow()
        db.session.commit()
        done += 1
        if not full:
            return CAUGHT_UP
    return BEHIND


def catch_up_everywhere() -> None:
    """Fold every ward with pending changes: run by one thread per process after sync batches
    have been answered (tally/folder.py), so the figures trail the records by about one fold.

    It goes on until a look finds nothing pending (or only wards other processes are folding):
    the last batch of the night is folded in with no batch after it to start a fold. (A
    time limit here left 13,513 changes unfolded for minutes after the last batch of
    bench/city_bench.py: the limit ran out, and only the next reader folded them.)
    A thread that finds another of this process at it leaves the work to it: that one looks
    again after letting go, so a change committed before the other tried is never left behind.
    Wards another process is folding are left to it in the same way (catch_up()).
    """
    while _FOLDER.acquire(blocking=False):
        try:
            pairs = _pending_wards()
            outcomes = {_catch_up_ids(campaign_id, ward_id) for campaign_id, ward_id in pairs}
        finally:
            _FOLDER.release()
        if not pairs or outcomes == {HELD}:
            return


def _catch_up_ids(campaign_id: int, ward_id: int) -> str:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:  # a campaign deleted by hand: nothing left to count
        _take_all_pending(campaign_id, ward_id)
        db.session.commit()
        return CAUGHT_UP
    return catch_up(campaign, ward_id, rounds=READ_ROUNDS)


def _pending_wards() -> list[tuple[int, int]]:
    query = sa.select(TallyPending.campaign_id, TallyPending.ward_id).distinct()
    pairs = [(c, w) for c, w in db.session.execute(query)]
    db.session.commit()  # end the read: the next look must see what commits meanwhile
    return sorted(pairs)


def forget(pairs: Iterable[tuple[int, int]]) -> None:
    """Ask for the figures of these (campaign, ward) to be counted afresh at the next fold.

    For what no trigger sees: a unit's kind changed, a counting rule changed, `flask recount`.
    """
    rows = [
        {"campaign_id": c, "ward_id": w, "resident_key": None, "created_at": utcnow()}
        for c, w in sorted(set(pairs))
    ]
    if rows:
        db.session.execute(sa.insert(TallyPending), rows)


def _lock(campaign_id: int, ward_id: int, wait: bool) -> TallyState | None:
    """The ward's state row, created if missing and locked until commit; None if taken.

    PostgreSQL: SELECT ... FOR UPDATE, SKIP LOCKED unless `wait` (the row is inserted the
    first time). SQLite: the first write of a transaction takes the database's write lock, so
    the INSERT ... ON CONFLICT alone serialises folders (and waits for any other writer).
    """
    where = (TallyState.campaign_id == campaign_id, TallyState.ward_id == ward_id)
    query = sa.select(TallyState).where(*where).execution_options(populate_existing=True)
    insert = dialect_insert(TallyState.__table__)
    create = insert.values(campaign_id=campaign_id, ward_id=ward_id).on_conflict_do_nothing()
    if not _is_postgres():
        db.session.execute(create)
        return db.session.scalar(query)
    query = query.with_for_update(skip_locked=not wait)
    state = db.session.scalar(query)
    if state is None and db.session.scalar(sa.select(TallyState.ward_id).where(*where)) is None:
        db.session.execute(create)  # the ward's first fold
        state = db.session.scalar(query)
    return state


def _pending(campaign_id: int, ward_id: int) -> list[Any]:
    return [TallyPending.campaign_id == campaign_id, TallyPending.ward_id == ward_id]


def _oldest_pending(campaign_id: int, ward_id: int) -> datetime | None:
    """When the oldest change not yet folded in was written (None: none)."""
    return db.session.scalar(
        sa.select(TallyPending.created_at)
        .where(*_pending(campaign_id, ward_id))
        .order_by(TallyPending.id)
        .limit(1)
    )


def _pending_count(campaign_id: int, ward_id: int) -> int:
    """Pending rows of the ward, counted up to RECOUNT_AT + 1."""
    some = sa.select(TallyPending.id).where(*_pending(campaign_id, ward_id)).limit(RECOUNT_AT + 1)
    return db.session.scalar(sa.select(sa.func.count()).select_from(some.subquery())) or 0


def _take_pending(campaign_id: int, ward_id: int, limit: int) -> list[str | None]:
    """Delete the oldest pending rows and return their residents.

    Only committed rows are seen and deleted, and their changes are committed: read after
    this, the assists hold them. A row committed meanwhile stays for the next round.
    """
    pending = TallyPending.__table__  # (the table: no ORM objects to keep in step)
    where = _pending(campaign_id, ward_id)
    postgres = _is_postgres()
    # PostgreSQL: the rows found are deleted by their place in the table (ctid: a TID scan, no index
    # to choose). With `id IN (the oldest ids)` the planner, misled by the statistics of a
    # queue that swings from empty to tens of thousands of rows, walked the whole ward
    # index once per id: 157 ms a fold on average in bench/city_bench.py, more time than
    # every INSERT of assists. Rows here are only ever inserted and deleted (never
    # updated), and the ward's folder holds its lock, so a row keeps its place meanwhile.
    row = sa.literal_column("ctid") if postgres else pending.c.id
    oldest = sa.select(row).where(*where).order_by(pending.c.id).limit(limit).scalar_subquery()
    chosen = row == sa.func.any(sa.func.array(oldest)) if postgres else row.in_(oldest)
    taken = sa.delete(pending).where(chosen)
    return list(db.session.scalars(taken.returning(pending.c.resident_key)))


def _take_all_pending(campaign_id: int, ward_id: int) -> None:
    db.session.execute(sa.delete(TallyPending).where(*_pending(campaign_id, ward_id)))


# --- folding ---------------------------------------------------------------------------------


def fold(campaign: Campaign, ward_id: int, keys: set[str]) -> None:
    """Take these residents' atoms out of the figures and put their current assists back in."""
    ordered = sorted(keys)
    old: dict[str, list[Atom]] = defaultdict(list)
    new: dict[str, list[Atom]] = defaultdict(list)
    atoms = TallyAtom.__table__
    for chunk in _chunks(ordered):
        taken = sa.delete(atoms).where(
            atoms.c.campaign_id == campaign.id,
            atoms.c.ward_id == ward_id,
            one_of(atoms.c.resident_key, chunk),
        )
        for row in db.session.execute(taken.returning(*[atoms.c[c] for c in _ATOM_COLUMNS])):
            old[row[0]].append(_atom(row))
        for atom in _counted(campaign, ward_id, one_of(Assist.resident_key, chunk)):
            new[atom[0]].append(atom)
    _insert(TallyAtom, [_atom_row(campaign.id, ward_id, x) for k in ordered for x in new[k]])
    changed = [k for k in ordered if _changed(old.get(k), new.get(k))]
    # Residents who move the same way (most often: none before, one assist of the same unit,
    # category, day and steps after) move the figures alike: each move is worked out once.
    moves = Counter((_shape(old.get(k)), _shape(new.get(k))) for k in changed)
    kinds, steps = _unit_kinds(ward_id), set(campaign.step_keys)
    deltas: dict[tuple[str, int, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for (before, after), residents in moves.items():
        _move(deltas, _marks(before, kinds, steps), _marks(after, kinds, steps), residents)
    _add_figures(campaign.id, ward_id, deltas)
    pairs = {(x[6], x[7]) for k in changed for x in old[k] + new[k] if _named(x)}
    _recount_names(campaign.id, ward_id, pairs)


def rebuild(campaign: Campaign, ward_id: int) -> None:
    """Count the ward's atoms and figures afresh from its assists (inside the caller's lock)."""
    for model in (TallyAtom, TallyFigure):
        db.session.execute(
            sa.delete(model).where(model.campaign_id == campaign.id, model.ward_id == ward_id)
        )
    residents: dict[str, list[Atom]] = defaultdict(list)
    for atom in _counted(campaign, ward_id):
        residents[atom[0]].append(atom)
    kinds, steps = _unit_kinds(ward_id), set(campaign.step_keys)
    deltas: dict[tuple[str, int, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    names: dict[tuple[str, int], set[str]] = defaultdict(set)
    moves = Counter(_shape(atoms) for atoms in residents.values())
    for after, count in moves.items():
        _move(deltas, {}, _marks(after, kinds, steps), count)
    for key, atoms in residents.items():
        for atom in atoms:
            if _named(atom):
                names[(atom[6], atom[7])].add(key)
    atom_rows = [_atom_row(campaign.id, ward_id, x) for atoms in residents.values() for x in atoms]
    _insert(TallyAtom, atom_rows)
    _insert(TallyFigure, [_figure_row(campaign.id, ward_id, k, d) for k, d in deltas.items()])
    found = [(n, y, len(keys)) for (n, y), keys in names.items() if len(keys) > 1]
    _insert(TallyFigure, [_name_row(campaign.id, ward_id, n, y, r) for n, y, r in sorted(found)])
    if len(atom_rows) >= ANALYSE_AT and db.session.get_bind().dialect.name == "postgresql":
        # A recount can fill these tables from nothing; until autovacuum samples them the
        # planner takes them for empty and every later fold scans them whole (measured at
        # 200,000 assists: a batch of 50 folded in 1.2-2.8 s instead of 0.14-0.22 s).
        db.session.execute(sa.text("ANALYZE tally_atoms, tally_figures"))


def _counted(campaign: Campaign, ward_id: int, *where: Any) -> Iterator[Atom]:
    """The ward's counted assists (counts.current_assists) as atoms."""
    query = sa.select(
        Assist.resident_key,
        Assist.unit_id,
        Assist.category,
        Assist.received_at,
        Assist.steps,
        Assist.attempts,
        Assist.name_key,
        Assist.birth_year,
    ).where(*counts.current_assists(campaign.id), Assist.ward_id == ward_id, *where)
    for row in db.session.execute(query):
        day = (row.received_at + counts.LOCAL_OFFSET).date()
        yield (row[0], row[1], row[2], day, row[4], row[5], row[6], row[7])


def _atom(row: Any) -> Atom:
    day = row[3] if isinstance(row[3], date) else date.fromisoformat(str(row[3]))
    return (row[0], row[1], row[2], day, row[4], row[5], row[6], row[7])


def _atom_row(campaign_id: int, ward_id: int, atom: Atom) -> dict[str, Any]:
    values = dict(zip(_ATOM_COLUMNS, atom, strict=True))
    return {"campaign_id": campaign_id, "ward_id": ward_id, **values}


def _named(atom: Atom) -> bool:
    """Counted in the duplicate review (counts.duplicate_groups_query): a name and a year."""
    return bool(atom[6]) and atom[7] is not None


def _unit_kinds(ward_id: int) -> dict[int, str]:
    query = sa.select(Unit.id, Unit.kind).where(Unit.ward_id == ward_id)
    return {unit_id: kind for unit_id, kind in db.session.execute(query)}


def _changed(old: list[Atom] | None, new: list[Atom] | None) -> bool:
    if not old or not new:  # (the common case: a new resident)
        return bool(old) != bool(new)
    return Counter(old) != Counter(new)


Shape = tuple[tuple[int, str, date, str, int], ...]  # what of a resident's atoms the groups see


def _shape(atoms: list[Atom] | None) -> Shape:
    """The part of a resident's atoms that decides their groups (not who they are)."""
    if not atoms:
        return ()
    return tuple(sorted(atom[1:6] for atom in atoms))


def _marks(shape: Shape, kinds: dict[int, str], steps: set[str]) -> Marks:
    """The groups a resident's counted assists put them in: [assists, attempts, steps]."""
    marks: Marks = {}
    for unit, category, day, step_text, attempts in shape:
        reached = [s for s in step_text.split(",") if s in steps]
        iso = day.isoformat()
        for group in (
            (WARD, 0, ""),
            (UNIT, unit, ""),
            (CATEGORY, 0, category),
            (DAY, 0, iso),
            (UNIT_CATEGORY, unit, category),
            (UNIT_DAY, unit, iso),
            (KIND, 0, kinds.get(unit, "")),
        ):
            mark = marks.get(group)
            if mark is None:
                mark = marks[group] = [0, 0, set()]
            mark[0] += 1
            mark[1] += attempts
            mark[2].update(reached)
    return marks


def _move(
    deltas: dict[tuple[str, int, str, str], list[int]], old: Marks, new: Marks, n: int = 1
) -> None:
    """Add to `deltas` ([residents, assists, attempts] per group and step) the move of `n`
    residents from the groups `old` to the groups `new`."""
    for group, after in new.items():
        before = old.get(group)
        if before == after:
            continue
        delta = deltas[(*group, "")]
        if before is None:  # joins the group (the common case: a new resident)
            delta[0] += n
            delta[1] += n * after[0]
            delta[2] += n * after[1]
            for step in after[2]:
                deltas[(*group, step)][0] += n
            continue
        delta[1] += n * (after[0] - before[0])
        delta[2] += n * (after[1] - before[1])
        for step in before[2] ^ after[2]:
            deltas[(*group, step)][0] += n if step in after[2] else -n
    for group, before in old.items():
        if group in new:
            continue
        delta = deltas[(*group, "")]  # leaves the group
        delta[0] -= n
        delta[1] -= n * before[0]
        delta[2] -= n * before[1]
        for step in before[2]:
            deltas[(*group, step)][0] -= n


def _figure_row(
    campaign_id: int, ward_id: int, key: tuple[str, int, str, str], delta: list[int]
) -> dict[str, Any]:
    scope, unit_id, group_key, step = key
    return {
        "campaign_id": campaign_id,
        "ward_id": ward_id,
        "scope": scope,
        "unit_id": unit_id,
        "key": group_key,
        "step": step,
        "residents": delta[0],
        "assists": delta[1],
        "attempts": delta[2],
    }


def _add_figures(
    campaign_id: int, ward_id: int, deltas: dict[tuple[str, int, str, str], list[int]]
) -> None:
    """Add the deltas to the stored figures: multi-row upserts, in key order."""
    rows = [
        _figure_row(campaign_id, ward_id, key, delta)
        for key, delta in sorted(deltas.items())
        if any(delta)
    ]
    insert_many(TallyFigure.__table__, rows, _ADD)


_ADD = (  # the figures' upsert: a delta adds to the stored row
    "ON CONFLICT (campaign_id, ward_id, scope, unit_id, key, step) DO UPDATE SET "
    + ", ".join(
        f"{c} = tally_figures.{c} + excluded.{c}" for c in ("residents", "assists", "attempts")
    )
)


def _recount_names(campaign_id: int, ward_id: int, pairs: set[tuple[str, int]]) -> None:
    """Count the touched (name, birth year) groups again from the atoms; keep those > 1."""
    if not pairs:
        return
    a, f = TallyAtom, TallyFigure.__table__  # (the table: no ORM objects to keep in step)
    names = sorted({name for name, _ in pairs})
    found: list[tuple[str, int, int]] = []
    for chunk in _chunks(names):
        residents = sa.func.count(sa.distinct(a.resident_key))
        query = (
            sa.select(a.name_key, a.birth_year, residents)
            .where(a.campaign_id == campaign_id, a.ward_id == ward_id, one_of(a.name_key, chunk))
            .group_by(a.name_key, a.birth_year)
        )
        found += [(n, y, r) for n, y, r in db.session.execute(query) if (n, y) in pairs and r > 1]
    stored = [_name_key(name, year) for name, year in sorted(pairs)]
    for chunk in _chunks(stored):
        db.session.execute(
            sa.delete(f).where(
                f.c.campaign_id == campaign_id,
                f.c.ward_id == ward_id,
                f.c.scope == NAMES,
                one_of(f.c.key, chunk),
            )
        )
    _insert(TallyFigure, [_name_row(campaign_id, ward_id, n, y, r) for n, y, r in sorted(found)])


def _name_key(name_key: str, birth_year: int) -> str:
    # A tab sorts before any character of a name: keys sort as (name, year) pairs do.
    return f"{name_key}\t{birth_year}"


def _name_row(
    campaign_id: int, ward_id: int, name_key: str, birth_year: int, residents: int
) -> dict[str, Any]:
    return _figure_row(
        campaign_id, ward_id, (NAMES, 0, _name_key(name_key, birth_year), ""), [residents, 0, 0]
    )


# --- the definitions, for checking -----------------------------------------------------------


def counted_afresh(campaign: Campaign, ward_id: int) -> list[tuple[Any, ...]]:
    """The figure rows tally/counts.py's own SQL gives for the ward, sorted, without zero rows.

    Independent of the folding code above: tests compare the stored figures with it.
    """
    unit_ids = ward_unit_ids(ward_id)
    kinds = _unit_kinds(ward_id)
    day = counts.local_date(Assist.received_at)
    kind = sa.case(kinds, value=Assist.unit_id, else_="") if kinds else sa.literal("")
    dims: dict[str, list[Any]] = {
        WARD: [],
        UNIT: [Assist.unit_id],
        CATEGORY: [Assist.category],
        DAY: [day],
        UNIT_CATEGORY: [Assist.unit_id, Assist.category],
        UNIT_DAY: [Assist.unit_id, day],
        KIND: [kind],
    }
    rows = []
    for scope, columns in dims.items():
        for values, c in counts._grouped(campaign, unit_ids, columns):
            unit_id = values[0] if scope in (UNIT, UNIT_CATEGORY, UNIT_DAY) else 0
            key = values[-1] if scope in (CATEGORY, DAY, UNIT_CATEGORY, UNIT_DAY, KIND) else ""
            key = key.isoformat() if isinstance(key, date) else str(key)

            rows.append((scope, unit_id, key, "", c.residents, c.assists, c.attempts))
            rows += [(scope, unit_id, key, s, r, 0, 0) for s, r in c.steps.items() if r]
    for name_key, birth_year, residents in counts.duplicate_counts(campaign, unit_ids):
        rows.append((NAMES, 0, _name_key(name_key, birth_year), "", residents, 0, 0))
    return sorted(rows)


def stored_rows(campaign_id: int, ward_id: int) -> list[tuple[Any, ...]]:
    """The ward's stored figure rows in counted_afresh()'s shape (zero rows left out)."""
    f = TallyFigure
    rows = db.session.execute(
        sa.select(f.scope, f.unit_id, f.key, f.step, f.residents, f.assists, f.attempts).where(
            f.campaign_id == campaign_id, f.ward_id == ward_id
        )
    )
    return sorted(tuple(r) for r in rows if (r.residents, r.assists, r.attempts) != (0, 0, 0))


# --- plumbing ----------------------------------------------------------------------------------


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _insert(model: Any, rows: list[dict[str, Any]]) -> None:
    insert_many(model.__table__, rows)


def _is_postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"
