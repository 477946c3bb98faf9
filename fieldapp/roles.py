"""Roles in one place: the decorator that guards a view, the helper that scopes a query."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import abort, jsonify, redirect, request, url_for
from flask_login import current_user

from . import audit, sessions
from .extensions import db, login_manager
from .models import (
    Assist,
    AuditEvent,
    Device,
    Difficulty,
    EnrolmentCode,
    Participant,
    PrivacyRequest,
    Unit,
    UnitReport,
    User,
)

F = TypeVar("F", bound=Callable[..., Any])


def wants_json() -> bool:
    """API calls and fetches get JSON errors; pages get pages."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


@login_manager.unauthorized_handler
def unauthorized() -> Any:
    """A fetch must see 401 JSON, never a redirect to a 200 login page."""
    if wants_json():
        return jsonify(error="unauthorized", message="Vui lòng đăng nhập."), 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The cookie's session id opens only a live server-side session (sessions.py)."""
    return sessions.user_for(session_id)


def role_required(*roles: str) -> Callable[[F], F]:
    """Let signed-in users with one of `roles` in; others get 401/403, which is audited."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                deny()
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def deny(status: int = 403) -> None:
    """Refuse the request and record the refusal in the audit trail."""
    audit.record("denied", path=request.path, method=request.method, status=status)
    db.session.commit()
    abort(status)


def _where(model: type, user: User) -> Any:
    """The condition a row of `model` must meet to be visible to `user`."""
    role = user.role
    in_ward = user.ward_id
    if role == "city_admin":
        # The city sees wards and their officer accounts, never a ward's records or residents.
        if model is User:
            return sa.or_(User.role == "officer", User.id == user.id)
        return sa.false()
    if model in (Assist, Difficulty):
        return {
            "officer": model.ward_id == in_ward,
            "group_head": model.unit_id == user.unit_id,
            "member": model.user_id == user.id,
        }.get(role, sa.false())
    if model is Unit:
        if role == "officer":
            return Unit.ward_id == in_ward
        return Unit.id == user.unit_id
    if model is User:
        return {
            "officer": User.ward_id == in_ward,
            "group_head": User.unit_id == user.unit_id,
        }.get(role, User.id == user.id)
    if model in (Device, EnrolmentCode):
        owners = sa.select(User.id).where(_where(User, user))
        if role != "officer":
            owners = sa.select(sa.literal(user.id))
        return model.user_id.in_(owners)
    if model is UnitReport:
        if role == "officer":
            return UnitReport.unit_id.in_(sa.select(Unit.id).where(Unit.ward_id == in_ward))
        if role in ("reporter", "group_head"):
            return UnitReport.unit_id == user.unit_id
        return sa.false()
    if model is Participant:
        return Participant.report_id.in_(sa.select(UnitReport.id).where(_where(UnitReport, user)))
    if model in (AuditEvent, PrivacyRequest):
        return model.ward_id == in_ward if role == "officer" else sa.false()
    raise LookupError(f"no visibility rule for {model.__name__}")


def visible(model: type, user: User | None = None) -> sa.Select:
    """select(model) limited to the rows the user's role may see."""
    user = user or current_user
    return sa.select(model).where(_where(model, user))


def get_visible_or_404(model: type, ident: Any, user: User | None = None) -> Any:
    """One row by primary key, or 404 (audited) if it does not exist or is not visible."""
    user = user or current_user
    row = db.session.scalar(visible(model, user).where(model.id == ident))
    if row is None:
        deny(404)
    return row
