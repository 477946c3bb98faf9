"""Device enrolment: one-time codes, device tokens, revocation.

Codes and tokens are random and only their SHA-256 hashes are stored. None of these
functions commits: they add and flush, and the caller (a view, a command) commits, so the
audit event and the change it describes land in one transaction.
"""

from __future__ import annotations

import hmac
import re
import secrets
import unicodedata
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from sqlalchemy.orm import joinedload

from .. import audit
from ..extensions import db
from ..models import Device, EnrolmentCode, Unit, User
from ..tally import counts
from ..text import hash_secret, nfc, utcnow

CODE_BYTES = 16  # 128 bits: 22 URL-safe characters, short enough for a small QR code
TOKEN_BYTES = 32
# What token_urlsafe can produce; anything else is refused before touching the database.
_URLSAFE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")

MESSAGES = {
    "unknown": "Mã đăng ký không đúng. Vui lòng kiểm tra lại hoặc xin cán bộ phường mã mới.",
    "used": "Mã đăng ký này đã được dùng. Vui lòng xin cán bộ phường mã mới.",
    "expired": "Mã đăng ký này đã hết hạn. Vui lòng xin cán bộ phường mã mới.",
    "disabled": "Tài khoản này đã bị khóa. Vui lòng liên hệ cán bộ phường.",
}


class EnrolError(Exception):
    """A code that cannot enrol a device; `reason` is the Vietnamese message to show."""

    def __init__(self, kind: str) -> None:
        self.kind = kind  # unknown, used, expired or disabled
        self.reason = MESSAGES[kind]
        super().__init__(self.reason)


def _well_formed(value: str | None) -> bool:
    return isinstance(value, str) and bool(_URLSAFE.match(value))


def issue_code(
    user: User, created_by: User | None, hours: int | None = None
) -> tuple[str, EnrolmentCode]:
    """A new one-time enrolment code for `user`; returns (the code, its row). Flushes only."""
    if hours is None:
        hours = int(current_app.config["FIELDAPP_ENROL_CODE_HOURS"])
    code = secrets.token_urlsafe(CODE_BYTES)
    now = utcnow()
    row = EnrolmentCode(
        user_id=user.id,
        code_hash=hash_secret(code),
        created_by_id=created_by.id if created_by else None,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "enrol_code_issued",
        row,
        ward_id=user.ward_id,
        actor_id=created_by.id if created_by else None,
        user_id=user.id,
        hours=hours,
    )
    db.session.flush()
    return code, row


def cancel_code(row: EnrolmentCode, by: User) -> bool:
    """Cancel an issued code nobody has used: from now on it enrols nothing. Flushes only.

    The code's expiry is set back to the moment it was issued, in one UPDATE that matches only
    an unused, unexpired code, so of a cancel and an enrolment racing on one code the database
    lets exactly one win (the claim in enrol_device needs `expires_at > now`, and no enrolment
    is older than its code; expiring it "now" would not do: a racing enrolment may have read
    its clock a moment earlier). `expires_at == created_at` is what marks a cancelled code.
    False, and nothing changed, when the code was already used or had expired.
    """
    now = utcnow()
    cancelled = db.session.execute(
        sa.update(EnrolmentCode)
        .where(
            EnrolmentCode.id == row.id,
            EnrolmentCode.used_at.is_(None),
            EnrolmentCode.expires_at > now,
        )
        .values(expires_at=EnrolmentCode.created_at)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(row)
    if cancelled.rowcount != 1:
        return False
    audit.record(
        "enrol_code_cancelled",
        row,
        ward_id=row.user.ward_id,
        actor_id=by.id,
        user_id=row.user_id,
    )
    db.session.flush()
    return True


def _find_code(code: str) -> EnrolmentCode | None:
    if not _well_formed(code):
        return None
    wanted = hash_secret(code)
    row = db.session.scalar(sa.select(EnrolmentCode).where(EnrolmentCode.code_hash == wanted))
    if row is None or not hmac.compare_digest(row.code_hash, wanted):
        return None
    return row


def _status(row: EnrolmentCode | None) -> str:
    if row is None:
        return "unknown"
    if not row.user.active:
        return "disabled"
    if row.used_at is not None:
        return "used"
    if row.expires_at <= utcnow():
        return "expired"
    return "ok"


def code_status(code: str) -> str:
    """ "ok", "used", "expired" or "unknown" (also for a disabled account); changes nothing."""
    status = _status(_find_code(code))
    return "unknown" if status == "disabled" else status


def code_member_id(code: str) -> int | None:
    """Whose phone a live code would enrol (an id, no personal data); None if not "ok"."""
    row = _find_code(code)
    return row.user_id if _status(row) == "ok" else None


def enrol_device(code: str, label: str = "") -> tuple[str, Device]:
    """Consume `code` (exactly once, even under a race) and enrol a device; returns (token, device).

    Raises EnrolError for an unknown, used or expired code or a disabled account. Flushes only:
    the caller commits.
    """
    row = _find_code(code)
    status = _status(row)
    if status != "ok":
        raise EnrolError(status)
    now = utcnow()
    # The atomic claim: of two phones racing on one code, the database lets one UPDATE match.
    claimed = db.session.execute(
        sa.update(EnrolmentCode)
        .where(
            EnrolmentCode.id == row.id,
            EnrolmentCode.used_at.is_(None),
            EnrolmentCode.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        db.session.expire(row)
        raise EnrolError("used" if row.used_at is not None else "expired")
    user = row.user
    token = secrets.token_urlsafe(TOKEN_BYTES)
    device = Device(user_id=user.id, token_hash=hash_secret(token), label=_label(label))
    db.session.add(device)
    db.session.flush()
    db.session.execute(
        sa.update(EnrolmentCode)
        .where(EnrolmentCode.id == row.id)
        .values(device_id=device.id)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(row)
    audit.record(
        "device_enrolled",
        device,
        ward_id=user.ward_id,
        actor_id=user.id,
        user_id=user.id,
        code_id=row.id,
    )
    db.session.flush()
    return token, device


def _label(label: Any) -> str:
    # A label is free text from the phone: drop control characters and lone surrogates,
    # which PostgreSQL would refuse (a 500 instead of an enrolment).
    if not isinstance(label, str):
        return ""
    kept = "".join(ch for ch in label[:400] if unicodedata.category(ch) not in ("Cc", "Cs"))
    return nfc(kept)[:80]


def find_device(token: str | None) -> Device | None:
    """The device a Bearer token belongs to, live or not; None for an unknown token."""
    if not _well_formed(token):
        return None
    wanted = hash_secret(token)
    # The member and their ward come in the same query: every request of a phone reads both
    # (its rights, its ward's campaign), and each was a round trip of its own.
    query = sa.select(Device).where(Device.token_hash == wanted)
    query = query.options(joinedload(Device.user).joinedload(User.ward))
    device = db.session.scalar(query)
    if device is None or not hmac.compare_digest(device.token_hash, wanted):
        return None
    return device


def device_for_token(token: str | None) -> Device | None:
    """The live device a Bearer token belongs to, or None (unknown, revoked, disabled user)."""
    device = find_device(token)
    if device is None or device.revoked or not device.user.active:
        return None
    return device


def enrolment_url(code: str) -> str:
    """The address the QR code carries: the PWA's enrolment page with the code."""
    base = current_app.config.get("FIELDAPP_PUBLIC_URL")
    if not base and has_request_context():
        base = request.host_url
    return f"{(base or '').rstrip('/')}/e/{code}"


def revoke_device(device: Device, by: User) -> None:
    """Revoke a device: its token stops working at once. Flushes only."""
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        device.revoked_by_id = by.id
    audit.record(
        "device_revoked",
        device,
        ward_id=device.user.ward_id,
        actor_id=by.id,
        user_id=device.user_id,
    )
    db.session.flush()


def member_payload(user: User) -> dict[str, Any]:
    """What a phone needs to know about its member: member, campaign, units, ward."""
    ward = user.ward
    campaign = ward.current_campaign() if ward else None
    units = []
    if ward is not None:
        units = db.session.scalars(
            sa.select(Unit).where(Unit.ward_id == ward.id, Unit.kind == "residential", Unit.active)
        ).all()
        units = sorted(units, key=lambda u: counts.natural_key(u.name))
    return {
        "member": {
            "id": user.id,
            "name": user.full_name,
            "unit_id": user.unit_id,
            "role": user.role,
        },
        "campaign": campaign.as_json() if campaign else None,
        "units": [
            {"id": u.id, "name": u.name, "kind": u.kind, "kind_label": u.kind_label} for u in units
        ],
        "ward": (
            {"id": ward.id, "name": ward.name, "unit_label": ward.unit_label} if ward else None
        ),
    }
