"""Input that reaches the database or a redirect is bounded here, in one place.

- Integer ids: `<int:…>` in every route is IDConverter (0 … 2³¹−1, PostgreSQL's integer);
  `int_arg("unit")` reads a query parameter the same way. A number no id can have is a 404,
  never PostgreSQL's "integer out of range" (a 500).
- `safe_next()`: where to go after signing in: a local path only, no control characters.
- A database connection lost mid-request (or the pool empty past its timeout) is answered
  503 with Retry-After: JSON in the API's error shape, a Vietnamese page otherwise.
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, abort, jsonify, render_template, request
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # PostgreSQL's integer, the type of every id column
RETRY_AFTER_DB = 5  # seconds
MSG_DB_LOST = "Hệ thống tạm thời không kết nối được cơ sở dữ liệu. Vui lòng thử lại sau ít phút."

log = logging.getLogger(__name__)


class IDConverter(IntegerConverter):
    """`<int:x>`: a whole number 0 … MAX_ID (a larger one matches no route: 404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def parse_id(raw: str | None) -> int | None:
    """An id typed in a URL: ASCII digits, 0 … MAX_ID; None for anything else."""
    if not raw or len(raw) > 10 or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value <= MAX_ID else None


def int_arg(name: str) -> int | None:
    """The query parameter `name` as an id; None when absent or empty.

    Anything else that is not an id (too large, signs, other digits than 0-9, letters) is a
    404: no such thing can exist.
    """
    raw = request.args.get(name, "")
    if raw == "":
        return None
    value = parse_id(raw)
    if value is None:
        abort(404)
    return value


def safe_next(target: str | None) -> str | None:
    """Where to go after signing in: a path on this site, else None (never an open redirect,
    never a header split by a CR/LF)."""
    if not target or len(target) > 2000 or not target.startswith("/"):
        return None
    if target.startswith("//") or "\\" in target:  # browsers read "/\host" as "//host"
        return None
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def connection_lost(error: BaseException) -> bool:
    """True for the database being away (not for a bad statement): try again later."""
    if isinstance(error, sa.exc.TimeoutError):  # the pool had no connection in time
        return True
    if isinstance(error, sa.exc.DBAPIError):
        return error.connection_invalidated or isinstance(
            error, (sa.exc.OperationalError, sa.exc.InterfaceError)
        )
    return False


def init_app(app: Flask) -> None:
    """Install the id converter (before any blueprint) and the database-lost answer."""
    app.url_map.converters["int"] = IDConverter

    @app.errorhandler(sa.exc.DBAPIError)
    @app.errorhandler(sa.exc.TimeoutError)
    def database_lost(error: Exception) -> Any:
        if not connection_lost(error):
            raise error
        from .extensions import db
        from .roles import wants_json

        log.warning("answered 503: database unreachable", exc_info=error)
        try:
            db.session.rollback()
        except sa.exc.SQLAlchemyError:
            db.session.close()
        if wants_json():
            response = jsonify(error="unavailable", message=MSG_DB_LOST)
            response.status_code = 503
        else:
            # A page of its own: base.html would ask the database who is signed in.
            response = app.make_response(
                (render_template("unavailable.html", message=MSG_DB_LOST), 503)
            )
        response.headers["Retry-After"] = str(RETRY_AFTER_DB)
        return response
