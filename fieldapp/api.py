"""The sync API (/api/v1): enrolment, sync, restore. Contract: shared/design/sync-protocol.md."""

from __future__ import annotations

from flask import Blueprint

from .extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # Bearer-token authenticated; no cookie session, so no CSRF exposure
