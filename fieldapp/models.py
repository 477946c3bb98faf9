"""The tables. Times are naive UTC; names are NFC with an accent-folded key beside them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import db
from .retention import AFTER_END_COUNT_ONLY, default_retention
from .text import fold, nfc, resident_key_for, to_local, utcnow
from .vocab import DEFAULT_CATEGORIES, DEFAULT_STEPS, UNIT_KINDS, WARD_KINDS


class Ward(db.Model):
    """A ward, commune or special zone: the tenant every other row belongs to."""

    __tablename__ = "wards"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[str] = mapped_column(sa.String(20), default="ward", server_default="ward")
    # The word the ward uses for a residential unit: Tổ dân phố, Khu dân cư or Thôn.
    unit_label: Mapped[str] = mapped_column(sa.String(40), default="Tổ dân phố")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    campaigns: Mapped[list[Campaign]] = relationship(back_populates="ward")

    @property
    def kind_label(self) -> str:
        return WARD_KINDS.get(self.kind, self.kind)

    def current_campaign(self) -> Campaign | None:
        """The campaign field records are counted in: the latest active one of the ward's own
        and the city's (ward_id NULL), which every ward takes part in."""
        return db.session.scalar(
            sa.select(Campaign)
            .where(sa.or_(Campaign.ward_id == self.id, Campaign.ward_id.is_(None)), Campaign.active)
            .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
            .limit(1)
        )


def _default_retention(context: Any) -> date:
    """Column default: a campaign inserted without a retention date gets the default one."""
    return default_retention(context.get_current_parameters()["report_due"])


class Campaign(db.Model):
    """A campaign (Đợt / Cuộc thi): dates, contest link, the steps and categories it counts.

    A campaign without a ward is the city's: defined once by the city administrator, every
    ward takes part in it with its own units, targets and records.
    """

    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int | None] = mapped_column(sa.ForeignKey("wards.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    report_due: Mapped[date]
    contest_url: Mapped[str] = mapped_column(sa.String(500), default="")
    steps: Mapped[list[dict[str, str]]] = mapped_column(
        sa.JSON, default=lambda: [dict(s) for s in DEFAULT_STEPS]
    )
    categories: Mapped[list[dict[str, str]]] = mapped_column(
        sa.JSON, default=lambda: [dict(c) for c in DEFAULT_CATEGORIES]
    )
    consent_version: Mapped[int] = mapped_column(default=1)
    # Required (retention.py): left out, the report deadline + RETENTION_DAYS; None is refused.
    retention_until: Mapped[date] = mapped_column(default=_default_retention)
    # A new entry made after ends_on: refused, or counted without personal fields (retention.py).
    after_end: Mapped[str] = mapped_column(
        sa.String(12), default=AFTER_END_COUNT_ONLY, server_default=AFTER_END_COUNT_ONLY
    )
    # Whether assists whose device time falls outside starts_on..ends_on count in the figures
    # (counts.current_assists); the campaign's owner decides, the files and the report say it.
    count_outside: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ward: Mapped[Ward | None] = relationship(back_populates="campaigns")

    @validates("retention_until")
    def _refuse_none(self, _key: str, value: date | None) -> date:
        if value is None:
            raise ValueError("a campaign needs a retention date (retention.default_retention)")
        return value

    @property
    def is_city(self) -> bool:
        return self.ward_id is None

    @property
    def step_keys(self) -> list[str]:
        return [s["key"] for s in self.steps]

    @property
    def category_keys(self) -> list[str]:
        return [c["key"] for c in self.categories]

    def step_label(self, key: str) -> str:
        return next((s["label"] for s in self.steps if s["key"] == key), key)

    def category_label(self, key: str) -> str:
        return next((c["label"] for c in self.categories if c["key"] == key), key)

    def consent(self, version: int | None = None) -> ConsentText | None:
        """The consent wording of a version (the current one by default)."""
        return db.session.scalar(
            sa.select(ConsentText).where(
                ConsentText.campaign_id == self.id,
                ConsentText.version == (version or self.consent_version),
            )
        )

    def as_json(self) -> dict[str, Any]:
        consent = self.consent()
        return {
            "id": self.id,
            "name": self.name,
            "starts_on": self.starts_on.isoformat(),
            "ends_on": self.ends_on.isoformat(),
            "report_due": self.report_due.isoformat(),
            "contest_url": self.contest_url,
            "retention_until": self.retention_until.isoformat(),
            "after_end": self.after_end,
            "steps": self.steps,
            "categories": self.categories,
            "consent": {"version": self.consent_version, "text": consent.text if consent else ""},
        }


class ConsentText(db.Model):
    """Every wording of a campaign's consent, so each assist can show what was read out."""

    __tablename__ = "consent_texts"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    version: Mapped[int]
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Unit(db.Model):
    """A residential group, agency, school or organisation of a ward."""

    __tablename__ = "units"
    __table_args__ = (sa.UniqueConstraint("ward_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(sa.ForeignKey("wards.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # a key of vocab.UNIT_KINDS
    name: Mapped[str] = mapped_column(sa.String(120))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ward: Mapped[Ward] = relationship()

    @property
    def is_residential(self) -> bool:
        return self.kind == "residential"

    @property
    def kind_label(self) -> str:
        if self.is_residential:
            return self.ward.unit_label
        return UNIT_KINDS.get(self.kind, self.kind)

    def target_for(self, campaign: Campaign) -> int | None:
        return db.session.scalar(
            sa.select(Target.value).where(
                Target.unit_id == self.id, Target.campaign_id == campaign.id
            )
        )


class Target(db.Model):
    """A unit's target (chỉ tiêu) for one campaign."""

    __tablename__ = "targets"
    __table_args__ = (sa.UniqueConstraint("unit_id", "campaign_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    value: Mapped[int]


class User(UserMixin, db.Model):
    """A person's account, with exactly one role (vocab.ROLES)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int | None] = mapped_column(sa.ForeignKey("wards.id"), index=True)
    username: Mapped[str] = mapped_column(sa.String(60), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(120))
    name_key: Mapped[str] = mapped_column(sa.String(120), default="")
    phone: Mapped[str | None] = mapped_column(sa.String(15))
    role: Mapped[str] = mapped_column(sa.String(20))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    ward: Mapped[Ward | None] = relationship()
    unit: Mapped[Unit | None] = relationship()

    def set_name(self, full_name: str) -> None:
        self.full_name = nfc(full_name)
        self.name_key = fold(full_name)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    # The random id of the signed-in session this object was loaded for (sessions.py): what
    # Flask-Login keeps in the signed cookie instead of the user's id. Not a column.
    session_token = None

    def get_id(self) -> str:
        if not self.session_token:
            raise RuntimeError("sign in through sessions.start(), which gives the session id")
        return self.session_token

    @property
    def role_label(self) -> str:
        from .vocab import ROLES

        return ROLES.get(self.role, self.role)


class UserSession(db.Model):
    """A signed-in browser session: its random id is in the cookie, only its hash here.

    Deleting the row ends the session for good, whatever the browser kept (sessions.py).
    """

    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    user: Mapped[User] = relationship()


class Device(db.Model):
    """A member's enrolled phone. Only a hash of its token is kept."""

    __tablename__ = "devices"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(
        sa.String(36), unique=True, default=lambda: str(uuid.uuid4())
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    label: Mapped[str] = mapped_column(sa.String(80), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class OutboxReport(db.Model):
    """What a phone last said of its outbox (fieldapp/sync/outbox.py): one row per device."""

    __tablename__ = "outbox_reports"
    device_id: Mapped[int] = mapped_column(sa.ForeignKey("devices.id"), primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)  # the server's clock
    waiting: Mapped[int] = mapped_column(default=0)
    oldest_waiting_at: Mapped[datetime | None]  # the phone's clock, as UTC
    needs_fix: Mapped[int] = mapped_column(default=0)
    app_version: Mapped[str] = mapped_column(sa.String(40), default="")
    storage_persisted: Mapped[bool | None]  # None: the browser cannot tell
    last_sent_at: Mapped[datetime | None]  # the phone's last successful send, as it says
    last_batch_at: Mapped[datetime | None]  # the server's clock: last batch answered with it

    device: Mapped[Device] = relationship()


class EnrolmentCode(db.Model):
    """A one-time code that enrols one phone for one member. Only its hash is kept."""

    __tablename__ = "enrolment_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("devices.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    device: Mapped[Device | None] = relationship()


class RecordMixin:
    """Columns shared by assists and difficulties: one row per (record_id, rev)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[str] = mapped_column(sa.String(36))
    rev: Mapped[int]
    is_current: Mapped[bool] = mapped_column(default=True)
    ward_id: Mapped[int] = mapped_column(sa.ForeignKey("wards.id"))
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("devices.id"))
    recorded_at: Mapped[datetime]  # the device's clock, converted to UTC
    received_at: Mapped[datetime] = mapped_column(default=utcnow)  # the server's clock
    voided: Mapped[bool] = mapped_column(default=False)


def _record_indexes(table: str) -> tuple[Any, ...]:
    return (
        sa.UniqueConstraint("record_id", "rev", name=f"uq_{table}_record_rev"),
        # At most one current revision per record, enforced by the database so that two
        # concurrent writers of one record cannot both mark theirs current.
        sa.Index(
            f"ux_{table}_current",
            "record_id",
            unique=True,
            sqlite_where=sa.text("is_current"),
            postgresql_where=sa.text("is_current"),
        ),
        sa.Index(f"ix_{table}_tally", "campaign_id", "is_current", "unit_id"),
        sa.Index(f"ix_{table}_user", "user_id", "received_at"),
    )


def _default_resident_key(context: Any) -> str:
    """Column default: every INSERT of an assist (ORM or Core, one row or many) gets its key."""
    row = context.get_current_parameters()
    return resident_key_for(
        row.get("phone"),
        row.get("name_key"),
        row.get("birth_year"),
        row.get("unit_id"),
        row["record_id"],
    )


class Assist(RecordMixin, db.Model):
    """One revision of an assist (lượt hỗ trợ): one resident helped on one occasion."""

    __tablename__ = "assists"
    __table_args__ = (
        *_record_indexes("assists"),
        # The tally's two GROUP BYs read only these indexes (counted rows only), in key order.
        sa.Index(
            "ix_assists_residents",
            "campaign_id",
            "resident_key",
            "unit_id",
            "steps",
            "attempts",
            sqlite_where=sa.text("is_current = 1 AND voided = 0"),
            postgresql_where=sa.text("is_current AND NOT voided"),
        ),
        sa.Index(
            "ix_assists_unit_residents",
            "campaign_id",
            "unit_id",
            "resident_key",
            "steps",
            "attempts",
            sqlite_where=sa.text("is_current = 1 AND voided = 0"),
            postgresql_where=sa.text("is_current AND NOT voided"),
        ),
        # Only erased rows: erasure.sweep() finds them without a scan.
        sa.Index(
            "ix_assists_erased",
            "campaign_id",
            "ward_id",
            "erased_at",
            sqlite_where=sa.text("erased_at IS NOT NULL"),
            postgresql_where=sa.text("erased_at IS NOT NULL"),
        ),
        # A member's erased current rows in erasure order: contract.erased_page() reads a range.
        sa.Index(
            "ix_assists_user_erased",
            "user_id",
            "erased_at",
            "id",
            sqlite_where=sa.text("erased_at IS NOT NULL AND is_current = 1"),
            postgresql_where=sa.text("erased_at IS NOT NULL AND is_current"),
        ),
        # One ward's rows of a campaign (tally_store counts a ward afresh from them).
        sa.Index("ix_assists_ward", "campaign_id", "ward_id", "id"),
        # tally_store: the likely duplicates a batch touches, by folded name.
        sa.Index(
            "ix_assists_names",
            "campaign_id",
            "name_key",
            "birth_year",
            "resident_key",
            sqlite_where=sa.text("is_current = 1 AND voided = 0"),
            postgresql_where=sa.text("is_current AND NOT voided"),
        ),
        # counts.flagged_assists(): device times outside the campaign's days, and ahead of the
        # server (a small index: only such rows are in it).
        sa.Index(
            "ix_assists_recorded",
            "campaign_id",
            "recorded_at",
            sqlite_where=sa.text("is_current = 1 AND voided = 0"),
            postgresql_where=sa.text("is_current AND NOT voided"),
        ),
        sa.Index(
            "ix_assists_ahead",
            "campaign_id",
            # is_current and voided again as columns: SQLite's planner then prefers this
            # small index to ix_assists_tally (it counts the equalities an index serves).
            "is_current",
            "voided",
            "received_at",
            sqlite_where=sa.text("is_current = 1 AND voided = 0 AND recorded_at > received_at"),
            postgresql_where=sa.text("is_current AND NOT voided AND recorded_at > received_at"),
        ),
    )
    full_name: Mapped[str | None] = mapped_column(sa.String(120))
    name_key: Mapped[str | None] = mapped_column(sa.String(120))
    birth_year: Mapped[int | None]
    gender: Mapped[str | None] = mapped_column(sa.String(10))
    phone: Mapped[str | None] = mapped_column(sa.String(15))
    category: Mapped[str] = mapped_column(sa.String(30))
    # Steps in campaign order, comma-delimited with commas at both ends (",installed,tested,")
    # so a tally can count a step with a portable LIKE '%,tested,%'.
    steps: Mapped[str] = mapped_column(sa.String(200))
    attempts: Mapped[int] = mapped_column(default=0)
    consent: Mapped[bool] = mapped_column(default=False)
    consent_version: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(sa.Text)
    erased_at: Mapped[datetime | None]
    # text.resident_key_for(): filled on insert, kept on erasure (pseudonymous personal data).
    resident_key: Mapped[str] = mapped_column(sa.String(32), default=_default_resident_key)

    @property
    def step_list(self) -> list[str]:
        return [s for s in self.steps.split(",") if s]

    @staticmethod
    def join_steps(steps: list[str]) -> str:
        return "," + ",".join(steps) + ","


class Difficulty(RecordMixin, db.Model):
    """One revision of a difficulty (khó khăn, vướng mắc) reported from the field."""

    __tablename__ = "difficulties"
    __table_args__ = _record_indexes("difficulties")
    kind: Mapped[str] = mapped_column(sa.String(30))
    text: Mapped[str] = mapped_column(sa.Text, default="")
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class UnitReport(db.Model):
    """An agency's or school's own figures for a campaign."""

    __tablename__ = "unit_reports"
    __table_args__ = (sa.UniqueConstraint("unit_id", "campaign_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), index=True)
    completed: Mapped[int] = mapped_column(default=0)  # people who completed the test
    attempts: Mapped[int] = mapped_column(default=0)
    pupils: Mapped[int | None]  # schools: pupils and teachers separately
    teachers: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class Participant(db.Model):
    """One line of a unit's uploaded participant list (erasable personal data)."""

    __tablename__ = "participants"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(sa.ForeignKey("unit_reports.id"), index=True)
    full_name: Mapped[str | None] = mapped_column(sa.String(120))
    group_name: Mapped[str] = mapped_column(sa.String(120), default="")  # class or department
    kind: Mapped[str] = mapped_column(sa.String(20), default="other")  # pupil, teacher, other


class TallyState(db.Model):
    """Whether a ward's stored figures were ever counted, and when last caught up (tally_store).

    Only the process folding a ward's pending changes locks this row; writers never touch it.
    """

    __tablename__ = "tally_state"
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), primary_key=True)
    ward_id: Mapped[int] = mapped_column(sa.ForeignKey("wards.id"), primary_key=True)
    built_at: Mapped[datetime | None]  # None: count everything afresh at the next fold
    folded_at: Mapped[datetime | None]


class TallyPending(db.Model):
    """A resident whose assists changed and whose figures are not folded in yet (tally_store).

    Written only by the database's triggers on `assists` (models.TALLY_TRIGGERS), in the same
    transaction as the change, so no write can bypass the figures; resident_key NULL asks for
    the whole ward to be counted afresh. Insert-only for writers: nothing here is a hot row.
    """

    __tablename__ = "tally_pending"
    __table_args__ = (sa.Index("ix_tally_pending_ward", "campaign_id", "ward_id", "id"),)
    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
    )
    campaign_id: Mapped[int]
    ward_id: Mapped[int]
    resident_key: Mapped[str | None] = mapped_column(sa.String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TallyAtom(db.Model):
    """One counted assist as the stored figures count it (tally_store): the figures are the
    sum of these, resident by resident, so a fold can take a resident out and put them back."""

    __tablename__ = "tally_atoms"
    __table_args__ = (
        sa.Index("ix_tally_atoms_resident", "campaign_id", "ward_id", "resident_key"),
        # With resident_key, the duplicate review's recount (store._recount_names) reads the
        # index alone: at 100,000 atoms in a ward 2.2 ms a fold's 200 names, not 7.9 ms.
        sa.Index(
            "ix_tally_atoms_name",
            "campaign_id",
            "ward_id",
            "name_key",
            "birth_year",
            "resident_key",
        ),
    )
    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
    )
    campaign_id: Mapped[int]
    ward_id: Mapped[int]
    resident_key: Mapped[str] = mapped_column(sa.String(32))
    unit_id: Mapped[int]
    category: Mapped[str] = mapped_column(sa.String(30))
    day: Mapped[date]  # local day of receipt
    steps: Mapped[str] = mapped_column(sa.String(200))
    attempts: Mapped[int]
    name_key: Mapped[str | None] = mapped_column(sa.String(120))
    birth_year: Mapped[int | None]


class TallyFigure(db.Model):
    """One stored figure of a ward: a group (scope, unit, key) and a step (tally/store.py)."""

    __tablename__ = "tally_figures"
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id"), primary_key=True)
    ward_id: Mapped[int] = mapped_column(sa.ForeignKey("wards.id"), primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(2), primary_key=True)
    unit_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # 0: ward-wide
    key: Mapped[str] = mapped_column(sa.String(160), primary_key=True)  # category, day or name
    step: Mapped[str] = mapped_column(sa.String(30), primary_key=True)  # '': helped at all
    residents: Mapped[int] = mapped_column(default=0)
    assists: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)


# Every change to `assists` leaves its residents in tally_pending, in the same transaction
# (and a unit's change of kind its ward, below): nothing can change a figure unseen.
# PostgreSQL: one INSERT ... SELECT per statement (transition tables); SQLite: per row.
# A migration that rebuilds `assists` on SQLite (Alembic's batch mode copies the table) drops
# them: it must call create_tally_triggers() again (tests/test_migrations.py checks).
_PENDING_PG = """
CREATE OR REPLACE FUNCTION tally_pending_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tally_pending (campaign_id, ward_id, resident_key, created_at)
  SELECT DISTINCT campaign_id, ward_id, resident_key, timezone('utc', now()) FROM ({rows}) AS c;
  RETURN NULL;
END $$;
CREATE TRIGGER assists_tally_{name} AFTER {event} ON assists
  REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION tally_pending_{name}();
"""
_PENDING_SQLITE = """
CREATE TRIGGER assists_tally_{name} AFTER {event} ON assists FOR EACH ROW BEGIN
  INSERT INTO tally_pending (campaign_id, ward_id, resident_key, created_at)
  SELECT campaign_id, ward_id, resident_key, strftime('%Y-%m-%d %H:%M:%f', 'now')
  FROM ({rows});
END
"""
TALLY_TRIGGERS = {
    "postgresql": [
        _PENDING_PG.format(
            name="insert",
            event="INSERT",
            tables="NEW TABLE AS new_rows",
            rows="SELECT campaign_id, ward_id, resident_key FROM new_rows",
        ),
        _PENDING_PG.format(
            name="update",
            event="UPDATE",
            tables="OLD TABLE AS old_rows NEW TABLE AS new_rows",
            rows="SELECT campaign_id, ward_id, resident_key FROM old_rows UNION ALL "
            "SELECT campaign_id, ward_id, resident_key FROM new_rows",
        ),
        _PENDING_PG.format(
            name="delete",
            event="DELETE",
            tables="OLD TABLE AS old_rows",
            rows="SELECT campaign_id, ward_id, resident_key FROM old_rows",
        ),
    ],
    "sqlite": [
        _PENDING_SQLITE.format(
            name="insert",
            event="INSERT",
            rows="SELECT NEW.campaign_id AS campaign_id, NEW.ward_id AS ward_id, "
            "NEW.resident_key AS resident_key",
        ),
        _PENDING_SQLITE.format(
            name="update",
            event="UPDATE",
            rows="SELECT OLD.campaign_id AS campaign_id, OLD.ward_id AS ward_id, "
            "OLD.resident_key AS resident_key UNION "
            "SELECT NEW.campaign_id, NEW.ward_id, NEW.resident_key",
        ),
        _PENDING_SQLITE.format(
            name="delete",
            event="DELETE",
            rows="SELECT OLD.campaign_id AS campaign_id, OLD.ward_id AS ward_id, "
            "OLD.resident_key AS resident_key",
        ),
    ],
}


# A unit that changes kind moves its residents between the figures split by unit kind: the
# ward's figures are counted afresh (a pending row without a resident).
_KIND_PG = """
CREATE OR REPLACE FUNCTION tally_pending_unit_kind() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tally_pending (campaign_id, ward_id, resident_key, created_at)
  SELECT campaign_id, ward_id, NULL, timezone('utc', now()) FROM tally_state
  WHERE ward_id = NEW.ward_id;
  RETURN NULL;
END $$;
CREATE TRIGGER units_tally_kind AFTER UPDATE OF kind ON units FOR EACH ROW
  WHEN (OLD.kind IS DISTINCT FROM NEW.kind) EXECUTE FUNCTION tally_pending_unit_kind();
"""
_KIND_SQLITE = """
CREATE TRIGGER units_tally_kind AFTER UPDATE OF kind ON units FOR EACH ROW
WHEN OLD.kind IS NOT NEW.kind BEGIN
  INSERT INTO tally_pending (campaign_id, ward_id, resident_key, created_at)
  SELECT campaign_id, ward_id, NULL, strftime('%Y-%m-%d %H:%M:%f', 'now') FROM tally_state
  WHERE ward_id = NEW.ward_id;
END
"""
TALLY_TRIGGERS["postgresql"].append(_KIND_PG)
TALLY_TRIGGERS["sqlite"].append(_KIND_SQLITE)


def create_tally_triggers(connection: Any) -> None:
    """Create the triggers that fill tally_pending (db.create_all() and the migration)."""
    for statement in TALLY_TRIGGERS.get(connection.dialect.name, []):
        connection.exec_driver_sql(statement.strip())


@sa.event.listens_for(db.metadata, "after_create")
def _after_create(_target: Any, connection: Any, **_kw: Any) -> None:
    create_tally_triggers(connection)


class PrivacyRequest(db.Model):
    """A resident's request about their personal data (to see it, to erase it), registered
    as it arrives, with its deadline (privacy/rights.py). `requester` is who asked as they gave
    it (a name, "con gái của ..."): no phone, no CCCD, nothing more than the officer needs."""

    __tablename__ = "privacy_requests"
    __table_args__ = (sa.Index("ix_privacy_requests_open", "ward_id", "done_at", "due_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ward_id: Mapped[int] = mapped_column(sa.ForeignKey("wards.id"))
    kind: Mapped[str] = mapped_column(sa.String(10))  # a key of rights.KINDS
    requester: Mapped[str] = mapped_column(sa.String(120))
    received_on: Mapped[date]
    due_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    done_how: Mapped[str | None] = mapped_column(sa.String(10))  # a key of rights.OUTCOMES

    done_by: Mapped[User | None] = relationship(foreign_keys=[done_by_id])

    @property
    def done_late(self) -> bool:
        """Done after the end of its deadline's day (Vietnam's day)."""
        return self.done_at is not None and to_local(self.done_at).date() > self.due_on


class AuditEvent(db.Model):
    """Who changed what. Never holds the personal values it describes."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ward_id: Mapped[int | None] = mapped_column(sa.ForeignKey("wards.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("devices.id"))
    action: Mapped[str] = mapped_column(sa.String(40))
    target_type: Mapped[str | None] = mapped_column(sa.String(30))
    target_id: Mapped[str | None] = mapped_column(sa.String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(sa.String(45))

    actor: Mapped[User | None] = relationship()
