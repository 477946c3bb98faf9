"""Residents' personal data: erasure on request, purge after retention, consistent backups.

Plain functions, no request inside (the officer's screens are in privacy/views.py).

What an erasure or a purge clears, on EVERY revision of an assist (contract.ERASED_COLUMNS):
full name, its folded search key, birth year, gender, phone and the free-text note. What
stays: unit, category, steps, attempts, consent flag and version, times, and the counting key
(replaced by a random one per resident) — so every count stays as it was. No figure is split
by gender, so it goes too (with a unit and a birth year it narrowed the person down).
`erased_at` is set so a later revision sent from a phone stays erased (sync/contract.py keeps
it, with the revision's own time), and so each phone hears of it (contract.erased_page,
GET /api/v1/erased).
Participant lists of unit reports lose their names on purge; their kind and class stay.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .. import audit
from ..extensions import db
from ..models import Assist, AuditEvent, Campaign, ConsentText, Participant, Unit, UnitReport, User
from ..roles import visible
from ..sync.contract import ERASED_COLUMNS
from ..text import fold, normalise_phone, utcnow

MAX_MATCHES = 300  # assists read for one search; a name that common needs a longer query
MIN_QUERY = 2


# --- finding a resident ----------------------------------------------------------------------


@dataclass
class Resident:
    """The current assists that look like one resident (same phone, else same name+year+unit)."""

    full_name: str
    birth_year: int | None
    phone: str | None
    unit_name: str
    record_ids: list[str] = field(default_factory=list)  # their current revision is this person
    # Older revisions only (the entry was later corrected to someone else): (row id, record id).
    revisions: list[tuple[int, str]] = field(default_factory=list)
    last_at: datetime | None = None
    consent: dict[int, str] = field(default_factory=dict)  # version -> the wording read out

    @property
    def revision_ids(self) -> list[int]:
        return [row_id for row_id, _ in self.revisions]

    @property
    def older_only(self) -> int:
        """Entries where the person is only in an older revision."""
        return len({record_id for _, record_id in self.revisions})

    @property
    def records(self) -> int:
        return len(self.record_ids) + self.older_only


def search_terms(query: str) -> tuple[str | None, str | None]:
    """(phone, folded name) that a search string stands for; (None, None) if too short."""
    query = (query or "").strip()[:120]
    phone = normalise_phone(query) if len(query) < 40 else None
    if phone:
        return phone, None
    folded = fold(query)
    if len(folded) < MIN_QUERY:
        return None, None
    return None, folded


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_residents(user: User, query: str) -> list[Resident]:
    """The residents among the user's visible assists whose name or phone matches, in ANY
    revision: a person logged in revision 1 and corrected to another in revision 2 is found
    (by that older revision) and can be erased from it."""
    phone, folded = search_terms(query)
    if phone is None and folded is None:
        return []
    condition = (
        Assist.phone == phone
        if phone
        else Assist.name_key.like(f"%{_like_escape(folded)}%", escape="\\")
    )
    rows = db.session.scalars(
        visible(Assist, user)
        .where(Assist.erased_at.is_(None), condition)
        .order_by(Assist.name_key, Assist.received_at)
        .limit(MAX_MATCHES)
    ).all()
    return group_residents(rows)


def group_residents(rows: list[Assist]) -> list[Resident]:
    """Group assists by the tally's resident identity: the phone, else name + year + unit.

    A record whose current revision matches is erased whole (record_ids); a record matched
    only by older revisions is erased in those revisions only (revisions), so the person it
    was corrected to keeps their data.
    """
    current = {row.record_id for row in rows if row.is_current}
    rows = [row for row in rows if row.is_current or row.record_id not in current]
    units = {u.id: u.name for u in db.session.scalars(sa.select(Unit))} if rows else {}
    found: dict[tuple[Any, ...], Resident] = {}
    for row in rows:
        key = ("p", row.phone) if row.phone else ("n", row.name_key, row.birth_year, row.unit_id)
        resident = found.get(key)
        if resident is None:
            resident = Resident(
                row.full_name or "", row.birth_year, row.phone, units.get(row.unit_id, "")
            )
            found[key] = resident
        if row.is_current:
            resident.record_ids.append(row.record_id)
        else:
            resident.revisions.append((row.id, row.record_id))
        if resident.last_at is None or row.received_at > resident.last_at:
            resident.last_at = row.received_at
        version = row.consent_version
        if version is not None and version not in resident.consent:
            wording = consent_for(row)
            resident.consent[version] = wording.text if wording else ""
    return sorted(found.values(), key=lambda r: (fold(r.full_name), r.birth_year or 0))


def consent_for(assist: Assist) -> ConsentText | None:
    """The consent wording an assist was recorded under (its own version, not the current)."""
    if assist.consent_version is None:
        return None
    return db.session.scalar(
        sa.select(ConsentText).where(
            ConsentText.campaign_id == assist.campaign_id,
            ConsentText.version == assist.consent_version,
        )
    )


def residents_of(
    user: User, record_ids: list[str], revision_ids: list[int] | None = None
) -> list[Resident]:
    """The not-yet-erased residents behind these record ids (their current revisions) and
    older revision rows, as the user may see them."""
    revision_ids = sorted(set(revision_ids or []))[:MAX_MATCHES]
    if not record_ids and not revision_ids:
        return []
    wanted = sa.and_(
        Assist.is_current.is_(True), Assist.record_id.in_(sorted(set(record_ids))[:MAX_MATCHES])
    )
    if revision_ids:
        older = sa.and_(Assist.is_current.is_(False), Assist.id.in_(revision_ids), _has_values())
        wanted = sa.or_(wanted, older)
    rows = db.session.scalars(
        visible(Assist, user).where(Assist.erased_at.is_(None), wanted).order_by(Assist.received_at)
    ).all()
    return group_residents(rows)


def _has_values() -> sa.ColumnElement[bool]:
    return sa.or_(*(getattr(Assist, column).is_not(None) for column in ERASED_COLUMNS))


# --- a resident's copy of their data ------------------------------------------------------


def resident_rows(user: User, record_ids: list[str], revision_ids: list[int]) -> list[Assist]:
    """The rows a resident's copy holds: the current revisions of their entries and the older
    revisions that were them (as residents_of() finds them), oldest first."""
    found = residents_of(user, record_ids, revision_ids)
    ids = {rid for r in found for rid in r.record_ids}
    older = {row_id for r in found for row_id in r.revision_ids}
    if not ids and not older:
        return []
    return list(
        db.session.scalars(
            visible(Assist, user)
            .where(
                Assist.erased_at.is_(None),
                sa.or_(
                    sa.and_(Assist.is_current.is_(True), Assist.record_id.in_(sorted(ids))),
                    Assist.id.in_(sorted(older)),
                ),
            )
            .order_by(Assist.recorded_at, Assist.id)
        )
    )


def resident_sheet(user: User, rows: list[Assist]) -> Any:
    """A resident's own data as a table (their request to see it): every field kept about
    them, the unit, what was done, and the consent wording read out, word for word."""
    from ..reports import exports
    from ..vocab import GENDERS

    units = {u.id: u.name for u in db.session.scalars(sa.select(Unit))}
    campaigns: dict[int, Campaign] = {}
    columns = [
        exports.Column("Thời điểm ghi", exports.MOMENT),
        exports.Column("Thời điểm gửi lên", exports.MOMENT),
        exports.Column("Phiên bản", exports.NUMBER),
        exports.Column("Cuộc thi"),
        exports.Column("Đơn vị"),
        exports.Column("Họ và tên"),
        exports.Column("Năm sinh", exports.NUMBER),
        exports.Column("Giới tính"),
        exports.Column("Số điện thoại", exports.PHONE),
        exports.Column("Đối tượng"),
        exports.Column("Đã hỗ trợ"),
        exports.Column("Số lần thi", exports.COUNT),
        exports.Column("Ghi chú", exports.WRAP),
        exports.Column("Đã hủy"),
        exports.Column("Nội dung đồng ý đã đọc", exports.WRAP),
    ]

    def lines() -> Any:
        for row in rows:
            campaign = campaigns.get(row.campaign_id) or db.session.get(Campaign, row.campaign_id)
            campaigns[row.campaign_id] = campaign
            wording = consent_for(row)
            yield [
                exports.local(row.recorded_at),
                exports.local(row.received_at),
                row.rev,
                campaign.name,
                units.get(row.unit_id, ""),
                row.full_name,
                row.birth_year,
                GENDERS.get(row.gender or "", row.gender),
                row.phone,
                campaign.category_label(row.category),
                ", ".join(campaign.step_label(s) for s in row.step_list),
                row.attempts,
                row.note,
                "Có" if row.voided else "",
                f"Phiên bản {row.consent_version}: {wording.text}" if wording else "",
            ]

    return exports.Sheet("Dữ liệu cá nhân", "du-lieu-ca-nhan.csv", columns, lines())


# --- erasing one resident --------------------------------------------------------------------


@dataclass
class Erasure:
    records: int
    revisions: int
    at: datetime


def _blank(now: datetime) -> dict[str, Any]:
    """The UPDATE values that clear the personal fields (erased_at kept if already set)."""
    values: dict[str, Any] = dict.fromkeys(ERASED_COLUMNS)
    values["erased_at"] = sa.func.coalesce(Assist.erased_at, now)
    return values


def erase_records(
    user: User,
    record_ids: list[str],
    now: datetime | None = None,
    revision_ids: list[int] | None = None,
) -> Erasure:
    """Clear the personal fields of every revision of these records (those the user may see),
    and of these older revision rows only (a person an entry was later corrected away from).

    Audited with counts only: never the name, the phone or what was searched for.
    Does not commit (the caller commits with the audit event).
    """
    now = now or utcnow()
    wanted = sorted(set(record_ids))
    allowed = []
    if wanted:
        allowed = sorted(
            db.session.scalars(
                visible(Assist, user)
                .with_only_columns(Assist.record_id)
                .where(Assist.record_id.in_(wanted))
                .distinct()
            )
        )
    records = len(allowed)
    revisions = 0
    if allowed:
        chosen = sa.and_(Assist.record_id.in_(allowed), Assist.ward_id == user.ward_id)
        _unlink_resident_keys(chosen, Assist.ward_id == user.ward_id)
        result = db.session.execute(
            sa.update(Assist)
            .where(chosen)
            .values(**_blank(now))
            .execution_options(synchronize_session=False)
        )
        revisions = result.rowcount or 0
    older = _erase_older_revisions(user, revision_ids or [])
    if not allowed and not older:
        return Erasure(0, 0, now)
    records += len({record_id for _, record_id in older})
    revisions += len(older)
    erasure = Erasure(records, revisions, now)
    audit.record(
        "resident_erased",
        ward_id=user.ward_id,
        actor_id=user.id,
        records=erasure.records,
        revisions=erasure.revisions,
    )
    return erasure


def _erase_older_revisions(user: User, revision_ids: list[int]) -> list[tuple[int, str]]:
    """Clear older (not current) revision rows only; returns (row id, record id) cleared.

    The record is not marked erased (its current revision is another person, whose later
    edits must go on); each row's counting key becomes a random one of its own (an older
    revision is never counted, and its key was derived from this person's phone or name).
    """
    ids = sorted({i for i in revision_ids if isinstance(i, int)})[:MAX_MATCHES]
    if not ids:
        return []
    rows = db.session.execute(
        visible(Assist, user)
        .with_only_columns(Assist.id, Assist.record_id)
        .where(
            Assist.id.in_(ids),
            Assist.is_current.is_(False),
            Assist.ward_id == user.ward_id,
            _has_values(),
        )
    ).all()
    for row_id, _ in rows:
        db.session.execute(
            sa.update(Assist)
            .where(Assist.id == row_id)
            .values(**dict.fromkeys(ERASED_COLUMNS), resident_key=secrets.token_hex(16))
            .execution_options(synchronize_session=False)
        )
    return [(row_id, record_id) for row_id, record_id in rows]


def _unlink_resident_keys(chosen: Any, scope: Any) -> int:
    """Replace the resident keys of the chosen rows with random ones, one per resident.

    A resident key is a hash of the phone (or name and birth year), which anyone holding the
    database could recompute from a guess. A fresh random key per distinct old key, applied to
    every row of that resident in `scope` and in the same campaigns, keeps each count exactly
    as it was while nothing links the rows to the person any more.
    """
    pairs = db.session.execute(
        sa.select(Assist.resident_key, Assist.campaign_id).where(chosen).distinct()
    ).all()
    if not pairs:
        return 0
    fresh: dict[str, str] = {}
    params = []
    for old, campaign_id in pairs:
        new = fresh.setdefault(old, secrets.token_hex(16))
        params.append({"old": old, "new": new, "campaign": campaign_id})
    table = Assist.__table__  # Core: an executemany UPDATE with its own WHERE per row
    db.session.execute(
        table.update()
        .where(
            scope,
            table.c.campaign_id == sa.bindparam("campaign"),
            table.c.resident_key == sa.bindparam("old"),
        )
        .values(resident_key=sa.bindparam("new")),
        params,
    )
    return len(fresh)


def recent_erasures(user: User, limit: int = 20) -> list[AuditEvent]:
    """The ward's latest erasures (when, by whom, how many records): proof a request was met."""
    return list(
        db.session.scalars(
            visible(AuditEvent, user)
            .where(
                AuditEvent.action.in_(
                    ("resident_erased", "campaign_purged", "resident_data_exported")
                )
            )
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )


def sweep(campaign_ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Clear any revision of an erased record that still holds personal values; returns rows.

    A phone's edit that raced an erasure (read before, written after) is caught here.
    """
    erased = sa.select(Assist.record_id).where(Assist.erased_at.is_not(None))
    if campaign_ids is not None:
        erased = erased.where(Assist.campaign_id.in_(campaign_ids))
    result = db.session.execute(
        sa.update(Assist)
        .where(Assist.record_id.in_(erased.scalar_subquery()), _has_personal())
        .values(**_blank(now or utcnow()))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def _has_personal() -> sa.ColumnElement[bool]:
    return sa.or_(
        *(getattr(Assist, column).is_not(None) for column in ERASED_COLUMNS),
        Assist.erased_at.is_(None),
    )


# --- the database files ----------------------------------------------------------------------

# Tables whose rows an erasure or purge rewrites (tally_atoms and tally_figures hold folded
# names until the fold after it; tally_pending the old counting keys).
SCRUBBED_TABLES = ("assists", "tally_atoms", "tally_figures", "tally_pending", "participants")


def scrub() -> str:
    """After an erasure or a purge has committed: leave no copy of the old values in the files.

    The tally is folded first (its atoms and name figures held the erased names). SQLite runs
    with secure_delete (old content is zeroed where it stood), and here its WAL, which still
    holds the pages as they were, is checkpointed into the main file and truncated to 0 bytes.
    PostgreSQL: the dead row versions of the rewritten tables are vacuumed at once (VACUUM
    runs outside a transaction). Returns what was done, for the command's output and tests.
    """
    from ..tally import store

    db.session.commit()
    store.catch_up_everywhere()
    db.session.commit()
    engine = db.engine
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            busy, _, _ = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        return "checkpoint busy" if busy else "checkpoint truncated"
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM " + ", ".join(SCRUBBED_TABLES))
        return "vacuumed"
    return "nothing"


# --- purge after retention -------------------------------------------------------------------

WARN_DAYS = 14  # the dashboard warns this many days before a campaign's retention date


def retention_notice(campaign: Campaign | None, today: date) -> str | None:
    """The dashboard's warning about the retention date, from WARN_DAYS before it (or None)."""
    if campaign is None:
        return None
    left = (campaign.retention_until - today).days
    when = campaign.retention_until.strftime("%d/%m/%Y")
    if left < 0:
        return (
            f"Đã quá hạn lưu trữ dữ liệu cá nhân (lưu đến {when}): thông tin cá nhân của người"
            " dân đã được xóa tự động (số liệu vẫn giữ); lượt ghi mới không còn lưu họ tên,"
            " số điện thoại."
        )
    if left <= WARN_DAYS:
        return (
            f"Còn {left} ngày đến hạn lưu trữ dữ liệu cá nhân (lưu đến {when}): sau ngày này"
            " họ tên, năm sinh, giới tính, số điện thoại và ghi chú của người dân sẽ bị xóa;"
            " số liệu vẫn giữ."
        )
    return None


@dataclass
class Purge:
    campaign_id: int
    campaign_name: str
    retention_until: date
    records: int = 0  # assist records with at least one revision cleared
    revisions: int = 0
    participants: int = 0


def due_campaigns(today: date, campaign_id: int | None = None) -> list[Campaign]:
    """Campaigns whose retention date is before `today` (optionally just one of them)."""
    query = sa.select(Campaign).where(Campaign.retention_until < today)
    if campaign_id is not None:
        query = query.where(Campaign.id == campaign_id)
    return list(db.session.scalars(query.order_by(Campaign.id)))


def purge(today: date, campaign_id: int | None = None, dry_run: bool = False) -> list[Purge]:
    """Clear the personal fields of every campaign past its retention date. Idempotent.

    Counts, steps, attempts, categories, consent flags and participant kinds stay. Does not
    commit; a dry run changes nothing and only counts.
    """
    now = utcnow()
    done = []
    for campaign in due_campaigns(today, campaign_id):
        item = Purge(campaign.id, campaign.name, campaign.retention_until)
        in_campaign = sa.and_(Assist.campaign_id == campaign.id, _has_personal())
        item.records = (
            db.session.scalar(
                sa.select(sa.func.count(sa.distinct(Assist.record_id))).where(in_campaign)
            )
            or 0
        )
        reports = sa.select(UnitReport.id).where(UnitReport.campaign_id == campaign.id)
        in_lists = sa.and_(Participant.report_id.in_(reports), Participant.full_name.is_not(None))
        if dry_run:
            item.revisions = db.session.scalar(sa.select(sa.func.count()).where(in_campaign)) or 0
            item.participants = db.session.scalar(sa.select(sa.func.count()).where(in_lists)) or 0
        else:
            per_ward = _per_ward(in_campaign, in_lists) if campaign.is_city else {}
            _unlink_resident_keys(in_campaign, Assist.campaign_id == campaign.id)
            result = db.session.execute(
                sa.update(Assist)
                .where(in_campaign)
                .values(**_blank(now))
                .execution_options(synchronize_session=False)
            )
            item.revisions = result.rowcount or 0
            result = db.session.execute(
                sa.update(Participant)
                .where(in_lists)
                .values(full_name=None)
                .execution_options(synchronize_session=False)
            )
            item.participants = result.rowcount or 0
            if item.revisions or item.participants:
                audit.record(
                    "campaign_purged",
                    campaign,
                    ward_id=campaign.ward_id,
                    records=item.records,
                    revisions=item.revisions,
                    participants=item.participants,
                    **({"city": True} if campaign.is_city else {}),
                )
            # A city campaign's purge is also told to each ward, in the ward's own trail.
            for ward_id, (records, revisions, participants) in sorted(per_ward.items()):
                audit.record(
                    "campaign_purged",
                    campaign,
                    ward_id=ward_id,
                    records=records,
                    revisions=revisions,
                    participants=participants,
                    city=True,
                )
        done.append(item)
    return done


# --- no personal data served past retention ----------------------------------------------

CLEAN_SECONDS = 3600  # a campaign found purged is looked at again after this long
_PURGING = threading.Lock()  # one purge at a time in a process; other requests wait for it


def holds_personal(campaign_id: int) -> bool:
    """Whether any assist or participant name of the campaign still holds a personal field."""
    in_campaign = sa.and_(Assist.campaign_id == campaign_id, _has_personal())
    reports = sa.select(UnitReport.id).where(UnitReport.campaign_id == campaign_id)
    in_lists = sa.and_(Participant.report_id.in_(reports), Participant.full_name.is_not(None))
    return bool(
        db.session.scalar(
            sa.select(sa.or_(sa.exists().where(in_campaign), sa.exists().where(in_lists)))
        )
    )


def enforce_retention(
    app: Any, clean: dict[int, tuple[date, float]], today: date, clock: Any = time.monotonic
) -> list[Purge]:
    """Before a request is served: purge every campaign past its retention date that still
    holds personal data, and only then go on (the daily timer normally did it already).

    One small query per request (the campaigns past retention); a campaign found clean is
    remembered in `clean` (id -> (its retention date, when)) for CLEAN_SECONDS, and looked at
    again at once if its date changes. The purge runs in a thread of its own with its own
    app context and session, outside the request: its audit events name no visitor as the
    actor (as the `purge` command's), and the request's session is left as it was. An error
    in it is raised here, so the request is refused (503 when the database is busy or away)
    instead of served.
    """
    due = db.session.execute(
        sa.select(Campaign.id, Campaign.retention_until).where(Campaign.retention_until < today)
    ).all()
    now = clock()

    def stale() -> list[tuple[int, date]]:
        return [
            (cid, until)
            for cid, until in due
            if not (cid in clean and clean[cid][0] == until and now - clean[cid][1] < CLEAN_SECONDS)
        ]

    if not stale():
        return []
    db.session.rollback()  # no read transaction of this request held open across the purge
    with _PURGING:
        todo = stale()  # another request may have done it while this one waited
        if not todo:
            return []
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                with app.app_context():
                    done = [
                        item
                        for cid, _ in todo
                        if holds_personal(cid)
                        for item in purge(today, campaign_id=cid)
                    ]
                    if done:
                        sweep([cid for cid, _ in todo])
                        db.session.commit()
                        scrub()
                    outcome["done"] = done
            except Exception as error:  # noqa: BLE001 - re-raised in the request below
                outcome["error"] = error

        worker = threading.Thread(target=run, name="fieldapp-retention", daemon=True)
        worker.start()
        worker.join()
        if "error" in outcome:
            raise outcome["error"]
        for cid, until in todo:
            clean[cid] = (until, now)
        return outcome["done"]


def _per_ward(in_campaign: Any, in_lists: Any) -> dict[int, tuple[int, int, int]]:
    """ward id -> (records, revisions, participant lines) a purge is about to clear."""
    found: dict[int, list[int]] = {}
    rows = db.session.execute(
        sa.select(
            Assist.ward_id,
            sa.func.count(sa.distinct(Assist.record_id)),
            sa.func.count(),
        )
        .where(in_campaign)
        .group_by(Assist.ward_id)
    )
    for ward_id, records, revisions in rows:
        found.setdefault(ward_id, [0, 0, 0])[:2] = [records, revisions]
    rows = db.session.execute(
        sa.select(Unit.ward_id, sa.func.count(Participant.id))
        .join(UnitReport, UnitReport.id == Participant.report_id)
        .join(Unit, Unit.id == UnitReport.unit_id)
        .where(in_lists)
        .group_by(Unit.ward_id)
    )
    for ward_id, participants in rows:
        found.setdefault(ward_id, [0, 0, 0])[2] = participants
    return {ward_id: (r, v, p) for ward_id, (r, v, p) in found.items()}


# --- backup ------------------------------------------------------------------------------------


class BackupError(RuntimeError):
    """A backup that could not be made (the message says why, in Vietnamese)."""


def _private_file(path: Path) -> None:
    """An empty file readable by the app's user only (0600): backups hold personal data."""
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def backup_sqlite(source: str, target: Path) -> str:
    """Copy a live SQLite database with the online backup API; returns integrity_check's answer.

    The copy is one consistent snapshot: in WAL mode the app keeps writing while it is read.
    It is written beside the target and renamed, so a failed copy never looks like a backup.
    """
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    _private_file(partial)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)  # all pages in one step: one read transaction, one snapshot
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        verdict = dst.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        dst.close()
        src.close()
    if verdict != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"Bản sao bị lỗi (integrity_check: {verdict}).")
    os.replace(partial, target)
    return verdict


PG_RECIPE = """\
Sao lưu PostgreSQL (chạy trên máy chủ, có thể chạy khi ứng dụng đang phục vụ):
  pg_dump --format=custom --file=fieldapp-$(date +%F).dump "postgresql://USER@HOST:5432/DBNAME"
Khôi phục vào một cơ sở dữ liệu trống:
  createdb -h HOST -U USER fieldapp_restore
  pg_restore --no-owner --dbname="postgresql://USER@HOST:5432/fieldapp_restore" \\
    fieldapp-YYYY-MM-DD.dump
  DATABASE_URL=postgresql+psycopg://USER@HOST:5432/fieldapp_restore flask --app app init
"""


def backup_postgres(url: sa.URL, target: Path) -> None:
    """Run `pg_dump -Fc` for the app's database (the password goes by environment, not argv)."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("Không tìm thấy lệnh pg_dump trên máy này.\n" + PG_RECIPE)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    dsn = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    _private_file(partial)  # pg_dump writes into it and keeps its mode
    completed = subprocess.run(  # noqa: S603 - fixed program, arguments are not shell-parsed
        [pg_dump, "--format=custom", "--no-owner", f"--file={partial}", dsn],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump báo lỗi: {completed.stderr.strip()}\n" + PG_RECIPE)
    os.replace(partial, target)


def backup(target: Path) -> str:
    """Back up the app's database to `target`; returns a one-line summary."""
    if target.exists():
        raise BackupError(f"Tệp {target} đã có; hãy chọn tên khác để không ghi đè bản cũ.")
    if not target.parent.is_dir():
        raise BackupError(f"Thư mục {target.parent} không tồn tại.")
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        source = url.database
        if not source or source == ":memory:":
            raise BackupError("Cơ sở dữ liệu SQLite trong bộ nhớ không sao lưu được.")
        backup_sqlite(source, target)
        return f"Đã sao lưu SQLite vào {target} (integrity_check: ok)."
    if url.get_backend_name() == "postgresql":
        backup_postgres(url, target)
        return f"Đã sao lưu PostgreSQL (pg_dump -Fc) vào {target}."
    raise BackupError(f"Chưa hỗ trợ sao lưu cơ sở dữ liệu {url.get_backend_name()}.")
