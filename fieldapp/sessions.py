"""Signed-in sessions kept on the server: the cookie holds a random id, the database its hash.

Flask's session cookie is signed, so it cannot be forged, but a copy of it stays valid as long
as the browser (or whoever copied it) keeps it. So each sign-in is a row of `user_sessions`,
and a cookie opens nothing without its row: signing out deletes the row; a password reset,
disabling the account or the officer's "end every session" delete all of the account's rows;
a row idle past FIELDAPP_SESSION_IDLE_HOURS, or older than FIELDAPP_SESSION_MAX_DAYS, is
refused and deleted. Flask-Login keeps the id as the user's "id" (User.get_id), so the cookie
holds no user id at all.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask, current_app, request
from flask_login import current_user

from .extensions import db
from .models import User, UserSession
from .text import hash_secret, utcnow

# last_seen_at is written at most this often per session: one small UPDATE a minute, not one
# per request.
TOUCH_EVERY = timedelta(minutes=1)
# token_urlsafe(32) is 43 characters; anything much longer is not one of ours.
MAX_TOKEN = 100


def init_app(app: Flask) -> None:
    """Check the session before the view runs (see load_early)."""
    app.before_request(load_early)


def load_early() -> None:
    """Look the session up before the view, while the database session holds nothing else.

    Flask-Login loads the user when a view first touches current_user; the lookup may delete
    an expired row or note the session's last use and commit, which must never commit a
    view's half-done work. Static files and the API (device tokens, no cookie) skip it.
    """
    if request.endpoint == "static" or request.blueprint == "api":
        return
    current_user._get_current_object()


def start(user: User) -> str:
    """A new session for `user` (committed with the sign-in); returns its id for the cookie."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(user_id=user.id, token_hash=hash_secret(token)))
    user.session_token = token
    return token


def _cutoffs(now: datetime) -> tuple[datetime, datetime]:
    """(last use, start) before which a session has ended."""
    idle = timedelta(hours=current_app.config["FIELDAPP_SESSION_IDLE_HOURS"])
    lifetime = timedelta(days=current_app.config["FIELDAPP_SESSION_MAX_DAYS"])
    return now - idle, now - lifetime


def user_for(token: object) -> User | None:
    """The account a session id opens, or None: unknown, ended, expired or disabled.

    An expired session's row is deleted on the way.
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
        return None
    row = db.session.scalar(
        sa.select(UserSession).where(UserSession.token_hash == hash_secret(token))
    )
    if row is None:
        return None
    now = utcnow()
    seen_before, started_before = _cutoffs(now)
    if row.last_seen_at < seen_before or row.created_at < started_before:
        db.session.delete(row)
        db.session.commit()
        return None
    user_id = row.user_id
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return None
    user.session_token = token
    return user


def end(token: object) -> None:
    """End one session (sign-out); an unknown id changes nothing. The caller commits."""
    if isinstance(token, str) and token and len(token) <= MAX_TOKEN:
        db.session.execute(
            sa.delete(UserSession).where(UserSession.token_hash == hash_secret(token))
        )


def end_all(user: User) -> int:
    """End every session of `user` (password reset, disabling, the officer's button).

    Returns how many were open. The caller commits.
    """
    result = db.session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))
    return result.rowcount or 0


def open_count(user: User) -> int:
    """How many sessions of `user` would still open a page now."""
    seen_before, started_before = _cutoffs(utcnow())
    return db.session.scalar(
        sa.select(sa.func.count(UserSession.id)).where(
            UserSession.user_id == user.id,
            UserSession.last_seen_at >= seen_before,
            UserSession.created_at >= started_before,
        )
    )


def purge_expired() -> int:
    """Delete every session past its idle time or lifetime (run at each sign-in).

    Returns how many. The caller commits.
    """
    seen_before, started_before = _cutoffs(utcnow())
    result = db.session.execute(
        sa.delete(UserSession).where(
            sa.or_(UserSession.last_seen_at < seen_before, UserSession.created_at < started_before)
        )
    )
    return result.rowcount or 0
