"""A phone's outbox report (an optional addition to the sync contract) and what the office sees.

A phone sends `{"outbox": {...}}` with every sync batch, and alone (`POST /api/v1/outbox`) when
it has nothing to send or its send failed. `waiting` counts the entries waiting on the phone
that are not in the request itself: once a batch is answered, the entries it carried are sent,
stale (replaced by the server's copy) or refused — and a refused one is added to `needs_fix`
here. So the stored report is the phone's outbox after the answer. Plain functions: the HTTP
side is sync/api.py, the screens admin/views.py and reports/views.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import Device, OutboxReport, User
from ..roles import visible
from ..text import fmt_number
from .contract import parse_recorded_at

VERSION = 1
KEYS = frozenset(
    {
        "v",
        "waiting",
        "oldest_waiting_at",
        "needs_fix",
        "app_version",
        "storage_persisted",
        "last_sent_at",
    }
)
MAX_COUNT = 100_000
MAX_APP_VERSION = 40
LATE_AFTER = timedelta(hours=24)

MSG = {
    "outbox": "Báo cáo hộp thư (outbox) phải là một đối tượng JSON.",
    "v": "Phiên bản báo cáo hộp thư (outbox.v) phải là 1.",
    "unknown": "Trường không được hỗ trợ trong báo cáo hộp thư: outbox.{key}.",
    "count": "outbox.{key} phải là số nguyên từ 0 đến 100000.",
    "time": "outbox.{key} phải theo ISO 8601 và có múi giờ, hoặc null.",
    "app_version": "outbox.app_version tối đa 40 ký tự chữ, số, dấu chấm, gạch.",
    "storage_persisted": "outbox.storage_persisted phải là true, false hoặc null.",
}


class BadReport(ValueError):
    """A report that breaks the contract: the field and a Vietnamese message."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


@dataclass
class Report:
    """A checked report; times are naive UTC."""

    waiting: int
    needs_fix: int
    oldest_waiting_at: datetime | None = None
    app_version: str = ""
    storage_persisted: bool | None = None
    last_sent_at: datetime | None = None


def _count(raw: dict[str, Any], key: str) -> int:
    value = raw.get(key, 0)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 449.0 is an integer to JSON Schema, so to the contract too
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise BadReport(key, MSG["count"].format(key=key))
    return value


def _time(raw: dict[str, Any], key: str) -> datetime | None:
    value = raw.get(key)
    if value is None:
        return None
    moment = parse_recorded_at(value)
    if moment is None:
        raise BadReport(key, MSG["time"].format(key=key))
    return moment


def parse_report(raw: Any) -> Report:
    """Check a phone's report against the contract; BadReport names the first wrong field."""
    if not isinstance(raw, dict):
        raise BadReport("outbox", MSG["outbox"])
    for key in raw:
        if key not in KEYS:
            shown = str(key)[:40]
            raise BadReport(shown, MSG["unknown"].format(key=shown))
    version = raw.get("v")
    if isinstance(version, bool) or version != VERSION:
        raise BadReport("v", MSG["v"])
    report = Report(waiting=_count(raw, "waiting"), needs_fix=_count(raw, "needs_fix"))
    report.oldest_waiting_at = _time(raw, "oldest_waiting_at")
    if report.waiting == 0:
        # Nothing waits, so nothing is oldest: a phone's stale time is dropped, not refused
        # (the OpenAPI document cannot say the one depends on the other).
        report.oldest_waiting_at = None
    report.last_sent_at = _time(raw, "last_sent_at")
    app_version = raw.get("app_version", "")
    if (
        not isinstance(app_version, str)
        or len(app_version) > MAX_APP_VERSION
        or not all(ch.isascii() and (ch.isalnum() or ch in ".-_+") for ch in app_version)
    ):
        raise BadReport("app_version", MSG["app_version"])
    report.app_version = app_version
    persisted = raw.get("storage_persisted")
    if persisted is not None and not isinstance(persisted, bool):
        raise BadReport("storage_persisted", MSG["storage_persisted"])
    report.storage_persisted = persisted
    return report


def after_answer(report: Report, results: list[dict[str, Any]]) -> Report:
    """The phone's outbox once it has a batch's answers: its refused entries need a fix."""
    refused = sum(1 for result in results if result.get("status") == "invalid")
    return Report(
        waiting=report.waiting,
        needs_fix=min(MAX_COUNT, report.needs_fix + refused),
        oldest_waiting_at=report.oldest_waiting_at,
        app_version=report.app_version,
        storage_persisted=report.storage_persisted,
        last_sent_at=report.last_sent_at,
    )


def store(device: Device, report: Report, now: datetime, batch: bool = False) -> OutboxReport:
    """Keep the device's latest report (one row per device) and commit."""
    for attempt in range(2):
        row = db.session.get(OutboxReport, device.id)
        if row is None:
            row = OutboxReport(device_id=device.id)
            db.session.add(row)
        row.version = VERSION
        row.reported_at = now
        row.waiting = report.waiting
        row.needs_fix = report.needs_fix
        row.oldest_waiting_at = report.oldest_waiting_at
        row.app_version = report.app_version
        row.storage_persisted = report.storage_persisted
        row.last_sent_at = report.last_sent_at
        if batch:
            row.last_batch_at = now
        try:
            db.session.commit()
            return row
        except sa.exc.IntegrityError:
            # The same phone's other request inserted its first row meanwhile: update that one.
            db.session.rollback()
            if attempt:
                raise
    raise AssertionError("unreachable")


# --- what the office sees --------------------------------------------------------------------


@dataclass
class Phone:
    """One phone on the office's list, with its last report (None: an app too old to report)."""

    device: Device
    report: OutboxReport | None
    now: datetime
    superseded: bool = False  # revoked, and its member's phone reported since (the same entries)

    @property
    def member(self) -> User:
        return self.device.user

    @property
    def waiting(self) -> int:
        return self.report.waiting if self.report else 0

    @property
    def needs_fix(self) -> int:
        return self.report.needs_fix if self.report else 0

    @property
    def held(self) -> int:
        """Entries still on the phone: waiting to be sent or needing a fix."""
        return self.waiting + self.needs_fix

    @property
    def waiting_for(self) -> timedelta | None:
        """How long the oldest waiting entry has waited (by the phone's clock)."""
        if not self.waiting or not self.report:
            return None
        since = self.report.oldest_waiting_at or self.report.reported_at
        return max(timedelta(0), self.now - since)

    @property
    def late(self) -> bool:
        age = self.waiting_for
        return age is not None and age > LATE_AFTER

    @property
    def needs_attention(self) -> bool:
        """Entries waiting over 24 hours, or any needing a fix (listed first)."""
        return self.late or self.needs_fix > 0

    @property
    def last_sent(self) -> datetime | None:
        """The last batch the server answered, else the phone's own word."""
        if not self.report:
            return None
        return self.report.last_batch_at or self.report.last_sent_at

    @property
    def revoked_holding(self) -> bool:
        """A revoked phone whose last report still held entries (they are on the phone)."""
        return self.device.revoked and self.held > 0 and not self.superseded

    @property
    def counts(self) -> bool:
        """Whether the phone's entries count in the ward's figure."""
        return self.held > 0 and not self.superseded


def order(phones: list[Phone]) -> list[Phone]:
    """Attention first (oldest waiting first), then revoked ones holding entries, then by name."""

    def key(phone: Phone) -> tuple[Any, ...]:
        age = phone.waiting_for or timedelta(0)
        return (
            not phone.needs_attention,
            not phone.revoked_holding,
            -age.total_seconds(),
            -phone.needs_fix,
            phone.member.name_key or "",
            phone.device.id,
        )

    return sorted(phones, key=key)


def mark_superseded(phones: list[Phone]) -> None:
    """A revoked phone's entries are not counted twice once its member's phone has reported
    since the revocation (often the same phone, enrolled again, holding the same entries)."""
    latest: dict[int, datetime] = {}
    for phone in phones:
        if phone.report and not phone.device.revoked:
            uid = phone.device.user_id
            latest[uid] = max(latest.get(uid, phone.report.reported_at), phone.report.reported_at)
    for phone in phones:
        seen = latest.get(phone.device.user_id)
        phone.superseded = bool(
            phone.device.revoked and seen is not None and seen >= phone.device.revoked_at
        )


@dataclass
class Figure:
    """The ward's line: N entries still on M phones."""

    entries: int
    phones: int
    attention: int

    @property
    def text(self) -> str:
        if not self.entries:
            return "Không còn lượt nào nằm trên điện thoại"
        return f"{fmt_number(self.entries)} lượt còn nằm trên {fmt_number(self.phones)} điện thoại"


def figure(phones: list[Phone]) -> Figure:
    """How many entries are still on phones, on how many phones, and how many need attention."""
    holding = [p for p in phones if p.counts]
    return Figure(
        entries=sum(p.held for p in holding),
        phones=len(holding),
        attention=sum(1 for p in phones if p.needs_attention and not p.superseded),
    )


def phones_of(user_ids: Any, now: datetime) -> list[Phone]:
    """Every phone of these users (a select of ids or a list), with its report, in order."""
    rows = db.session.execute(
        sa.select(Device, OutboxReport)
        .outerjoin(OutboxReport, OutboxReport.device_id == Device.id)
        .where(Device.user_id.in_(user_ids))
        # The member and their unit with the phones: no query per line (the city has thousands).
        .options(sa.orm.joinedload(Device.user).joinedload(User.unit))
    ).all()
    phones = [Phone(device, report, now) for device, report in rows]
    mark_superseded(phones)
    return order(phones)


def visible_phones(viewer: User, now: datetime) -> list[Phone]:
    """The phones the viewer may watch: an officer the ward's, a group head the group's."""
    if viewer.role not in ("officer", "group_head"):
        return []
    if viewer.role == "group_head" and viewer.unit_id is None:
        return []  # a group head without a group watches no one
    members = visible(User, viewer).with_only_columns(User.id)
    return phones_of(members, now)


@dataclass
class _Seen:
    """A device as the city's figures need it: no ORM object per phone (a city has thousands)."""

    id: int
    user_id: int
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass
class _Said:
    """A report's figures, likewise."""

    reported_at: datetime
    waiting: int
    needs_fix: int
    oldest_waiting_at: datetime | None


def ward_figures(ward_ids: list[int], now: datetime) -> dict[int, Figure]:
    """Each ward's figure, for the city's roll-up (which never lists a ward's people)."""
    r = OutboxReport
    rows = db.session.execute(
        sa.select(
            User.ward_id,
            Device.id,
            Device.user_id,
            Device.revoked_at,
            r.reported_at,
            r.waiting,
            r.needs_fix,
            r.oldest_waiting_at,
        )
        .join(User, User.id == Device.user_id)
        .join(r, r.device_id == Device.id)  # a phone that never reported holds nothing known
        .where(User.ward_id.in_(ward_ids))
    )
    by_ward: dict[int, list[Phone]] = {ward_id: [] for ward_id in ward_ids}
    for ward_id, ident, user_id, revoked_at, reported_at, waiting, needs_fix, oldest in rows:
        said = _Said(reported_at, waiting, needs_fix, oldest)
        seen = _Seen(ident, user_id, revoked_at)
        by_ward.setdefault(ward_id, []).append(Phone(seen, said, now))  # type: ignore[arg-type]
    figures = {}
    for ward_id, phones in by_ward.items():
        mark_superseded(phones)
        figures[ward_id] = figure(phones)
    return figures


def waited_text(age: timedelta | None) -> str:
    """How long entries have waited, in words: "2 ngày 3 giờ", "5 giờ", "40 phút"."""
    if age is None:
        return ""
    minutes = int(age.total_seconds() // 60)
    days, hours = minutes // 1440, minutes % 1440 // 60
    if days:
        return f"{days} ngày {hours} giờ" if hours else f"{days} ngày"
    if hours:
        return f"{hours} giờ"
    return f"{max(1, minutes)} phút"


def unit_phones(viewer: User, unit_id: int, now: datetime) -> list[Phone]:
    """The phones of one residential group's people, as far as the viewer may see them."""
    if viewer.role not in ("officer", "group_head"):
        return []
    members = visible(User, viewer).with_only_columns(User.id).where(User.unit_id == unit_id)
    return phones_of(members, now)
