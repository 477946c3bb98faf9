"""The audit trail: one call records who did what to which row."""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context, request
from flask_login import current_user

from .extensions import db
from .models import AuditEvent


def record(
    action: str,
    target: Any = None,
    *,
    ward_id: int | None = None,
    actor_id: int | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add an audit event to the session (committed with the change it describes).

    `detail` must never carry personal values (names, phones): name fields, not values.
    """
    event = AuditEvent(action=action, detail=detail)
    if target is not None:
        event.target_type = type(target).__tablename__
        event.target_id = str(getattr(target, "id", target))
    if has_request_context():
        event.ip = request.remote_addr
        device = g.get("device")
        if device is not None:
            event.device_id = device.id
            actor_id = actor_id or device.user_id
            ward_id = ward_id or device.user.ward_id
        elif current_user and current_user.is_authenticated:
            actor_id = actor_id or current_user.id
            ward_id = ward_id or current_user.ward_id
    if ward_id is None and target is not None:
        ward_id = getattr(target, "ward_id", None)
    event.actor_id = actor_id
    event.ward_id = ward_id
    db.session.add(event)
    return event
