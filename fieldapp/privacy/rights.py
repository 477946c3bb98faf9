"""Residents' requests about their personal data (to see it, to erase it): the register.

Law 91/2025/QH15 gives such a request two working days (product.md). Each request is
registered as it arrives, with who asked (as they gave it, nothing more), the day received and
its deadline; it is closed by hand or by the erasure or copy it asked for. The officer of the
ward sees the ward's own requests only (roles.visible). Audited without the requester's words.
Plain functions, no request inside (the screens are in privacy/views.py).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from .. import audit
from ..extensions import db
from ..models import PrivacyRequest, User
from ..roles import visible
from ..text import mask_numbers, utcnow

WORKING_DAYS = 2  # the law's time to answer a request
KINDS = {"access": "Xem, nhận bản sao dữ liệu", "erasure": "Xóa dữ liệu"}
OUTCOMES = {"export": "đã cấp bản sao", "erasure": "đã xóa", "manual": "đã xử lý"}
REQUESTER_MAX = 120
RECEIVED_MAX_DAYS = 366  # a request registered late is still registered, not a typo's year
RECENT = 10


def deadline(received: date, working_days: int = WORKING_DAYS) -> date:
    """The day a request received on `received` must be answered by: that many working days
    later, Saturdays and Sundays skipped (public holidays are not known here: count them by
    hand). Friday -> Tuesday; Saturday or Sunday -> Tuesday; Thursday -> Monday."""
    day, left = received, working_days
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def requester_problem(text: str) -> str | None:
    """Why a requester's description cannot be stored (Vietnamese), or None."""
    if not text.strip():
        return "Vui lòng ghi ai đã yêu cầu (ví dụ họ tên người dân)."
    if len(text) > REQUESTER_MAX:
        return f"Mô tả dài quá {REQUESTER_MAX} ký tự. Vui lòng viết ngắn hơn."
    if mask_numbers(text) != text:
        return (
            "Vui lòng không ghi số điện thoại hoặc số CCCD: chỉ cần họ tên hoặc mô tả ngắn"
            " để nhận ra người yêu cầu."
        )
    return None


def register(user: User, requester: str, kind: str, received_on: date) -> PrivacyRequest:
    """Add a request to the ward's register (no commit). The caller has checked the values."""
    item = PrivacyRequest(
        ward_id=user.ward_id,
        kind=kind,
        requester=requester,
        received_on=received_on,
        due_on=deadline(received_on),
        created_by_id=user.id,
    )
    db.session.add(item)
    db.session.flush()
    audit.record(
        "privacy_request_registered",
        item,
        ward_id=user.ward_id,
        actor_id=user.id,
        kind=kind,
        due_on=item.due_on.isoformat(),
    )
    return item


def open_requests(user: User) -> list[PrivacyRequest]:
    """The ward's requests not yet done, the nearest deadline first."""
    return list(
        db.session.scalars(
            visible(PrivacyRequest, user)
            .where(PrivacyRequest.done_at.is_(None))
            .order_by(PrivacyRequest.due_on, PrivacyRequest.id)
        )
    )


def recent_done(user: User, limit: int = RECENT) -> list[PrivacyRequest]:
    """The ward's latest requests carried out."""
    return list(
        db.session.scalars(
            visible(PrivacyRequest, user)
            .where(PrivacyRequest.done_at.is_not(None))
            .order_by(PrivacyRequest.done_at.desc(), PrivacyRequest.id.desc())
            .limit(limit)
        )
    )


def overdue(item: PrivacyRequest, today: date) -> bool:
    """Open past its deadline (the deadline's own day is still in time)."""
    return item.done_at is None and today > item.due_on


def close(
    user: User, request_id: int | None, how: str, now: datetime | None = None
) -> PrivacyRequest | None:
    """Mark one of the ward's open requests done (by whom, when, how); None when there is no
    such open request (another ward's, done already, unknown). No commit."""
    if request_id is None or how not in OUTCOMES:
        return None
    item = db.session.scalar(
        visible(PrivacyRequest, user).where(
            PrivacyRequest.id == request_id, PrivacyRequest.done_at.is_(None)
        )
    )
    if item is None:
        return None
    item.done_at = now or utcnow()
    item.done_by_id = user.id
    item.done_how = how
    audit.record(
        "privacy_request_done",
        item,
        ward_id=user.ward_id,
        actor_id=user.id,
        kind=item.kind,
        how=how,
        late=item.done_late,
    )
    return item
