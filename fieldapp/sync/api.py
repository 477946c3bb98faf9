"""The sync API (/api/v1): enrolment, sync, restore. Contract: shared/design/sync-protocol.md."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, g, jsonify, request
from flask_limiter.errors import RateLimitExceeded

from .. import audit
from ..extensions import csrf, db, limiter
from ..field import enrol
from ..models import Device
from ..tally.folder import folder_of
from ..text import utcnow
from . import contract, gate, openapi, outbox, progress

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # Bearer-token authenticated; no cookie session, so no CSRF exposure

ENROL_RATE = "20 per minute"
ENROL_MAX_BYTES = 4096
SEEN_EVERY = timedelta(minutes=1)
RETRY_AFTER_BUSY = 2  # seconds; the phone adds its own jitter above it (static/js/backoff.js)
log = logging.getLogger(__name__)

MESSAGES = {
    "unauthorized": "Điện thoại này chưa được đăng ký hoặc đã bị thu hồi. "
    "Vui lòng xin cán bộ phường mã đăng ký mới.",
    "unsupported_media_type": "Dữ liệu phải gửi dạng JSON (Content-Type: application/json).",
    "unsupported_encoding": "Chỉ hỗ trợ nén gzip.",
    "too_large": "Dữ liệu gửi lên quá lớn. Vui lòng gửi ít bản ghi hơn mỗi lần.",
    "too_many_records": "Mỗi lần gửi tối đa {max} bản ghi.",
    "bad_gzip": "Dữ liệu nén gzip bị hỏng.",
    "bad_json": "Dữ liệu không phải JSON hợp lệ.",
    "no_records": 'Dữ liệu phải là một đối tượng JSON có danh sách "records".',
    "bad_request": "Yêu cầu không hợp lệ.",
    "bad_cursor": "Con trỏ trang (since) không hợp lệ.",
    "bad_erased_cursor": "Con trỏ xóa dữ liệu (since) không hợp lệ: hãy gửi lại giá trị next"
    " của lần trước, hoặc để trống để hỏi từ đầu.",
    "rate_limited": "Điện thoại gửi quá nhanh. Vui lòng thử lại sau ít phút.",
    "busy": "Hệ thống đang bận. Các lượt vẫn được giữ trên máy và sẽ tự gửi lại sau ít phút.",
    "no_outbox": 'Dữ liệu phải là một đối tượng JSON có "outbox".',
}
OUTBOX_MAX_BYTES = 4096


class ApiError(Exception):
    """A whole-request refusal: status, error key, Vietnamese message."""

    def __init__(self, status: int, error: str, message: str | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.message = message or MESSAGES[error]


def error_response(status: int, error: str, message: str | None = None) -> Any:
    """The one shape of every API error: {"error": key, "message": Vietnamese}."""
    response = jsonify(error=error, message=message or MESSAGES[error])
    response.status_code = status
    return response


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> Any:
    db.session.rollback()
    response = error_response(error.status, error.error, error.message)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    if error.status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_BUSY)
    return response


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(_error: RateLimitExceeded) -> Any:
    """429 with Retry-After in seconds until the limit's window resets."""
    response = error_response(429, "rate_limited")
    retry = 60
    current = limiter.current_limit
    if current is not None:
        retry = max(1, math.ceil(current.reset_at - time.time()))
    response.headers["Retry-After"] = str(retry)
    return response


# --- authentication --------------------------------------------------------------------------


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _device_key() -> str:
    """Rate-limit key: the device token's hash (or the address when there is no token)."""
    token = _bearer()
    if token is None:
        return "sync-addr:" + (request.remote_addr or "")
    return "sync-dev:" + hashlib.sha256(token[:200].encode()).hexdigest()


def _sync_rate() -> str:
    return current_app.config["FIELDAPP_SYNC_RATE"]


def authenticated_device() -> Device:
    """The enrolled, unrevoked device of the Bearer token, or a 401."""
    device = enrol.find_device(_bearer())
    if device is None or device.revoked or not device.user.active:
        if device is not None:
            # A known phone that lost its right to send leaves a trace; random tokens do not
            # (they would let anyone fill the audit trail).
            audit.record(
                "denied",
                device,
                ward_id=device.user.ward_id,
                actor_id=device.user_id,
                path=request.path,
                status=401,
                reason="revoked" if device.revoked else "account_disabled",
            )
            db.session.commit()
        raise ApiError(401, "unauthorized")
    g.device = device
    now = utcnow()
    if device.last_seen_at is None or now - device.last_seen_at >= SEEN_EVERY:
        device.last_seen_at = now  # committed with the request's work, at most once a minute
    return device


# --- reading a body with limits --------------------------------------------------------------


def read_json_body(max_bytes: int) -> Any:
    """The request's JSON, read with a hard cap before and after gzip; ApiError otherwise."""
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type")
    encoding = (request.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise ApiError(415, "unsupported_encoding")
    # A gzip stream of incompressible data is a little larger than the data itself.
    wire_cap = max_bytes + 64 * 1024 if encoding == "gzip" else max_bytes
    if request.content_length is not None and request.content_length > wire_cap:
        raise ApiError(413, "too_large")
    raw = request.stream.read(wire_cap + 1)
    if len(raw) > wire_cap:
        raise ApiError(413, "too_large")
    if encoding == "gzip":
        raw = gunzip_capped(raw, max_bytes)
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # bad UTF-8, bad JSON, absurd nesting
        raise ApiError(400, "bad_json") from None


def gunzip_capped(raw: bytes, max_bytes: int) -> bytes:
    """Decompress at most max_bytes; a bomb is refused after max_bytes + 1, not inflated."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, max_bytes + 1)
    except zlib.error:
        raise ApiError(400, "bad_gzip") from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise ApiError(413, "too_large")
    if not inflater.eof:
        raise ApiError(400, "bad_gzip")
    return out


# --- routes ---------------------------------------------------------------------------------


@bp.post("/devices")
@limiter.limit(ENROL_RATE)
def enrol_device() -> Any:
    """Enrol a phone with a one-time code: 201 with its token and what it needs to know."""
    if request.content_length is not None and request.content_length > ENROL_MAX_BYTES:
        raise ApiError(413, "too_large")
    body = read_json_body(ENROL_MAX_BYTES)
    if not isinstance(body, dict) or not isinstance(body.get("code"), str):
        error = enrol.EnrolError("unknown")
        raise ApiError(400, error.kind, error.reason)
    label = body.get("label")
    try:
        token, device = enrol.enrol_device(body["code"], label if isinstance(label, str) else "")
    except enrol.EnrolError as error:
        raise ApiError(400, error.kind, error.reason) from None
    answer = {"token": token, "device_id": device.public_id, **enrol.member_payload(device.user)}
    db.session.commit()
    return jsonify(answer), 201


@bp.get("/me")
def me() -> Any:
    """What an enrolled phone knows about its member, refreshed (no token)."""
    device = authenticated_device()
    answer = {"device_id": device.public_id, **enrol.member_payload(device.user)}
    standing = progress.group_standing(device.user, utcnow())
    answer["group"] = standing.as_json() if standing else None  # optional (sync/progress.py)
    db.session.commit()
    return jsonify(answer)


@bp.post("/sync")
@limiter.limit(_sync_rate, key_func=_device_key)
def sync_batch() -> Any:
    """Receive a batch of records; one answer per record (see the contract)."""
    device = authenticated_device()
    config = current_app.config
    body = read_json_body(int(config["FIELDAPP_SYNC_MAX_BYTES"]))
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise ApiError(400, "no_records")
    records = body["records"]
    limit = int(config["FIELDAPP_SYNC_MAX_RECORDS"])
    if len(records) > limit:
        raise ApiError(413, "too_many_records", MESSAGES["too_many_records"].format(max=limit))
    report = _outbox_report(body) if "outbox" in body else None  # optional (sync/outbox.py)
    with sync_slot():
        try:
            # Commits, with the device's last_seen_at.
            outcome = contract.sync_batch(records, device.user, device)
        except (sa.exc.OperationalError, sa.exc.TimeoutError):
            # A lock or the connection pool not free in time (contract.LOCK_TIMEOUT_MS, SQLite's
            # busy timeout, the pool's timeout): nothing was stored; the phone sends again.
            db.session.rollback()
            log.warning("sync batch answered 503: database busy", exc_info=True)
            raise ApiError(503, "busy") from None
    if report is not None:
        outbox.store(device, outbox.after_answer(report, outcome.results), utcnow(), batch=True)
    response = jsonify(outcome.as_json())
    if outcome.touched:
        fold_after(response, current_app._get_current_object())
    return response


def _outbox_report(body: dict[str, Any]) -> outbox.Report:
    """The body's outbox report, checked; a bad one refuses the whole request (400)."""
    try:
        return outbox.parse_report(body.get("outbox"))
    except outbox.BadReport as error:
        raise ApiError(400, "bad_outbox", error.message) from None


@bp.post("/outbox")
@limiter.limit(_sync_rate, key_func=_device_key)
def outbox_report() -> Any:
    """A phone's outbox report alone: when it has nothing to send, or its send failed."""
    device = authenticated_device()
    body = read_json_body(OUTBOX_MAX_BYTES)
    if not isinstance(body, dict) or "outbox" not in body:
        raise ApiError(400, "no_outbox")
    now = utcnow()
    outbox.store(device, _outbox_report(body), now)  # commits, with the device's last_seen_at
    return jsonify(server_time=contract.iso_local(now))


@contextmanager
def sync_slot() -> Iterator[None]:
    """A slot of the process's sync gate (sync/gate.py), or 503 + Retry-After when none comes.

    At most FIELDAPP_SYNC_SLOTS batches are written at once and FIELDAPP_SYNC_QUEUE more wait
    up to FIELDAPP_SYNC_WAIT seconds: sign-in, pages and /healthz keep their threads, and no
    phone's request waits past the proxy's timeout (the phone backs off and sends again).
    """
    process_gate = sync_gate()
    if not process_gate.enter(current_app.config["FIELDAPP_SYNC_WAIT"]):
        raise ApiError(503, "busy")
    try:
        yield
    finally:
        process_gate.leave()


def sync_gate() -> gate.Gate:
    """This process's sync gate, made on first use from the app's settings."""
    found = current_app.extensions.get("fieldapp.sync_gate")
    if found is None:
        config = current_app.config
        made = gate.Gate(config["FIELDAPP_SYNC_SLOTS"], config["FIELDAPP_SYNC_QUEUE"])
        found = current_app.extensions.setdefault("fieldapp.sync_gate", made)
    return found


def fold_after(response: Any, app: Flask) -> None:
    """Fold the batch into the tally's figures once the phone has its answer: at once, or
    with the other batches of a moment (tally/folder.py)."""
    response.call_on_close(folder_of(app).after_batch)


@bp.get("/records")
@limiter.limit(_sync_rate, key_func=_device_key)
def records() -> Any:
    """A page of the member's own records, to restore a phone."""
    device = authenticated_device()
    try:
        page = contract.records_page(device.user, request.args.get("since"))
    except contract.BadCursor:
        raise ApiError(400, "bad_cursor") from None
    db.session.commit()
    return jsonify(page)


@bp.get("/erased")
@limiter.limit(_sync_rate, key_func=_device_key)
def erased() -> Any:
    """Which of the member's records were erased since the phone's cursor (contract.erased_page)."""
    device = authenticated_device()
    try:
        page = contract.erased_page(device.user, request.args.get("since"))
    except contract.BadCursor:
        raise ApiError(400, "bad_erased_cursor") from None
    db.session.commit()  # the device's last_seen_at
    return jsonify(page)


@bp.get("/openapi.json")
def openapi_document() -> Any:
    """The contract as OpenAPI 3.1."""
    return jsonify(openapi.document())
