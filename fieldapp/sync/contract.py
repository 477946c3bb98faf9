"""The sync rules of shared/design/sync-protocol.md, as plain functions (no request inside).

`sync_records(records, user, device)` answers one status per record and commits. It reads the
stored revisions of every id in the batch with one narrow query per table (and the full current
row only of the ids it will revise), decides every record in order in memory (so duplicate ids
in one batch are answered one after another), and writes the batch with one UPDATE and one
multi-row INSERT per table. It writes records only: the tally's figures are folded in after
the answer (tally/store.py), so batches of one ward never wait for each other.

The database's constraints (unique (record_id, rev), at most one current row per record_id)
are the last line of defence against a concurrent writer: on an IntegrityError the batch is
rolled back and decided again against what is now committed, so a race ends in contract
answers, never a 500.

Voided records (`voided: true`) need a valid id, rev, type and recorded_at. Their `data` is only
lightly checked: every field that passes its rule is kept, every other one is taken from the
server's current revision (or a neutral default), and unknown keys are ignored — so a void is
never refused because, say, the campaign's category list changed since the entry was made.
Only when the unit cannot be known at all (a void of an entry the server never saw, with no
valid unit_id, by a member without a unit) is a void invalid.

Device clocks are not trusted for anything but `recorded_at`: the server keeps `received_at`
beside it, and the screens flag a device time in the future or far outside the campaign.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..bulk import insert_many, one_of
from ..extensions import db
from ..models import Assist, Campaign, ConsentText, Device, Difficulty, Unit, User
from ..params import MAX_ID
from ..retention import AFTER_END_COUNT_ONLY, AFTER_END_REFUSE, after_end, refused_message
from ..text import (
    LOCAL_TZ,
    fold,
    mask_numbers,
    nfc,
    normalise_phone,
    resident_key_for,
    to_local,
    utcnow,
)
from ..vocab import DIFFICULTY_KINDS, GENDERS, TEST_STEP

MAX_REV = 1_000_000  # far above any real edit count, far below the INTEGER column's limit
MAX_NAME = 120
MAX_NOTE = 1000
MAX_TEXT = 2000
MAX_ATTEMPTS = 20
PAGE_SIZE = 200
RETRIES = 5
LOCK_TIMEOUT_MS = 5000

ASSIST_KEYS = frozenset(
    {
        "full_name",
        "birth_year",
        "gender",
        "phone",
        "unit_id",
        "category",
        "steps",
        "attempts",
        "consent",
        "consent_version",
        "note",
    }
)
# The personal fields an erasure clears (and keeps cleared in later revisions).
ERASED_COLUMNS = ("full_name", "name_key", "birth_year", "gender", "phone", "note")
# The same fields as the contract's keys of an assist's data (what a phone drops from its copy).
ERASED_KEYS = tuple(column for column in ERASED_COLUMNS if column in ASSIST_KEYS)
ERASED_PAGE = 500  # record ids per erasure notice (GET /api/v1/erased)
# An erasure's erased_at is its transaction's start; it is seen once committed. A notice's
# cursor never passes a row erased less than this long ago (a longer purge still committing
# could otherwise be skipped): such rows are listed again at the next call, harmlessly.
ERASED_SETTLE = timedelta(minutes=5)
DIFFICULTY_KEYS = frozenset({"unit_id", "kind", "text"})
MODELS: dict[str, type[Assist] | type[Difficulty]] = {"assist": Assist, "difficulty": Difficulty}

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_CURSOR = re.compile(r"^v1\.([0-9]{1,15})\.([0-9]{1,15})$")  # as sync/openapi.py declares it
# An erasure notice's cursor: e1.<erased_at in microseconds since 1970 UTC>.<row id>.
ERASED_CURSOR = r"e1\.([0-9]{1,16})\.([0-9]{1,15})"  # as sync/openapi.py declares it (or empty)
_EPOCH = datetime(1970, 1, 1)

MSG = {
    "record": "Bản ghi phải là một đối tượng JSON.",
    "id": "Mã bản ghi (id) phải là một UUID.",
    "rev": "Số phiên bản (rev) phải là số nguyên từ 1 trở lên.",
    "type": "Loại bản ghi (type) phải là assist hoặc difficulty.",
    "recorded_at": "Thời điểm ghi (recorded_at) phải theo ISO 8601 và có múi giờ.",
    "voided": "Trường voided phải là true hoặc false.",
    "data": "Dữ liệu (data) phải là một đối tượng JSON.",
    "owner": "Mã bản ghi này thuộc về thành viên khác.",
    "other_type": "Mã bản ghi này đã được dùng cho loại bản ghi khác.",
    "campaign": "Phường chưa có đợt nào đang diễn ra. Vui lòng liên hệ cán bộ phường.",
    "unknown_key": "Trường không được hỗ trợ: {key}.",
    "bad_chars": "Có ký tự không hợp lệ.",
    "full_name": "Vui lòng nhập họ và tên.",
    "full_name_length": "Họ và tên phải có từ 2 đến 120 ký tự.",
    "birth_year": "Năm sinh phải là số từ 1900 đến {year}.",
    "gender": "Giới tính không hợp lệ.",
    "phone": "Số điện thoại không đúng (10 chữ số bắt đầu bằng 0, hoặc dạng +84).",
    "unit_missing": "Vui lòng chọn {label}.",
    "unit": "{label} này không thuộc phường hoặc đã ngừng hoạt động.",
    "category_missing": "Vui lòng chọn đối tượng.",
    "category": "Đối tượng này không có trong đợt.",
    "steps": "Vui lòng chọn ít nhất một việc đã hỗ trợ.",
    "step": "Việc hỗ trợ không có trong đợt: {key}.",
    "step_twice": "Một việc hỗ trợ được chọn hai lần.",
    "attempts": "Số lần thi phải là số từ 0 đến 20.",
    "attempts_tested": "Đã thi trực tuyến thì số lần thi ít nhất là 1.",
    "consent": "Cần có sự đồng ý của người dân.",
    "consent_version": "Nội dung đồng ý này không có trong Cuộc thi. Vui lòng mở ứng dụng khi"
    " có mạng để nhận nội dung mới, đọc lại cho người dân rồi lưu.",
    "note": "Ghi chú tối đa 1000 ký tự.",
    "kind_missing": "Vui lòng chọn loại khó khăn.",
    "kind": "Loại khó khăn không hợp lệ.",
    "text": "Nội dung tối đa 2000 ký tự.",
}


class BadCursor(ValueError):
    """A `since` cursor this server did not give out."""


@dataclass
class Context:
    """What every record of one batch is checked against."""

    user: User
    device_id: int | None
    ward_id: int
    unit_label: str
    unit_ids: frozenset[int]
    campaign: Campaign | None
    now: datetime
    year: int
    campaigns: dict[int, Campaign] = field(default_factory=dict)
    # Per campaign: its step keys in order and its category keys, read once per batch.
    items: dict[int, tuple[list[str], frozenset[str]]] = field(default_factory=dict)
    consents: dict[int, frozenset[int]] = field(default_factory=dict)  # its wordings' versions

    def campaign_by_id(self, campaign_id: int) -> Campaign:
        if campaign_id not in self.campaigns:
            self.campaigns[campaign_id] = db.session.get(Campaign, campaign_id)
        return self.campaigns[campaign_id]

    def consent_versions(self, campaign: Campaign) -> frozenset[int]:
        if campaign.id not in self.consents:
            self.consents[campaign.id] = frozenset(
                db.session.scalars(
                    sa.select(ConsentText.version).where(ConsentText.campaign_id == campaign.id)
                )
            )
        return self.consents[campaign.id]

    def keys_of(self, campaign: Campaign) -> tuple[list[str], frozenset[str]]:
        if campaign.id not in self.items:
            self.items[campaign.id] = (campaign.step_keys, frozenset(campaign.category_keys))
        return self.items[campaign.id]


@dataclass
class Envelope:
    """A record's top level, checked: what identifies it, and what it carries."""

    echo_id: Any
    echo_rev: Any
    id: str | None = None
    rev: int | None = None
    type: str | None = None
    recorded_at: datetime | None = None
    voided: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class Known:
    """What the server holds for one record id (updated as the batch is decided)."""

    type: str
    user_id: int
    revs: set[int]
    current_rev: int
    # The current row's columns (a committed row or a pending insert); None until needed.
    current: dict[str, Any] | None = None
    pending: bool = False


@dataclass
class Outcome:
    """A batch's answers, and the (campaign, ward) pairs whose assists it changed."""

    server_time: str | None
    results: list[dict[str, Any]]
    touched: set[tuple[int, int]] = field(default_factory=set)

    def as_json(self) -> dict[str, Any]:
        return {"server_time": self.server_time, "results": self.results}


def make_context(user: User, device: Device | None = None, now: datetime | None = None) -> Context:
    """The ward, its current campaign and its active residential units, read once per batch."""
    ward = user.ward
    unit_ids = frozenset(
        db.session.scalars(
            sa.select(Unit.id).where(
                Unit.ward_id == user.ward_id, Unit.kind == "residential", Unit.active
            )
        )
    )
    now = now or utcnow()
    campaign = ward.current_campaign() if ward else None
    ctx = Context(
        user=user,
        device_id=device.id if device else None,
        ward_id=user.ward_id,
        unit_label=ward.unit_label if ward else "Tổ dân phố",
        unit_ids=unit_ids,
        campaign=campaign,
        now=now,
        year=now.replace(tzinfo=UTC).astimezone(LOCAL_TZ).year,
    )
    if campaign is not None:
        ctx.campaigns[campaign.id] = campaign
    return ctx


# --- checking one record -------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# Unicode's control characters (category Cc: U+0000-U+001F, U+007F-U+009F) and lone
# surrogates (Cs), but the tab, and in multi-line text the line breaks.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _clean(value: str, multiline: bool = False) -> str | None:
    """NFC text without control characters or lone surrogates (None if it has any)."""
    if (_CONTROL_MULTILINE if multiline else _CONTROL).search(value):
        return None
    if multiline:
        return unicodedata.normalize("NFC", value).strip()
    return nfc(value)


def _echo(value: Any) -> Any:
    """What to repeat back as a record's id or rev: only small scalars, never a huge blob."""
    if isinstance(value, str):
        return value[:64]
    if _is_int(value) and abs(value) < 2**53:
        return value
    return None


def _echo_id(value: Any) -> str | None:
    """A record's id as the answer repeats it: a string (a number as its digits) or null."""
    echoed = _echo(value)
    return None if echoed is None else str(echoed)


def parse_recorded_at(value: Any) -> datetime | None:
    """ISO 8601 with an offset, as naive UTC; None if it is not that."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None or moment.utcoffset() is None:
            return None
        return moment.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        return None


def check_envelope(raw: Any) -> Envelope:
    """Check id, rev, type, recorded_at, voided and the shape of data (top-level rules)."""
    if not isinstance(raw, dict):
        return Envelope(None, None, errors={"record": MSG["record"]})
    env = Envelope(_echo_id(raw.get("id")), _echo(raw.get("rev")))
    errors = env.errors
    rid = raw.get("id")
    if isinstance(rid, str) and _UUID.match(rid):
        env.id = rid.lower()
    else:
        errors["id"] = MSG["id"]
    rev = raw.get("rev")
    if _is_int(rev) and 1 <= rev <= MAX_REV:
        env.rev = rev
    else:
        errors["rev"] = MSG["rev"]
    kind = raw.get("type")
    if isinstance(kind, str) and kind in MODELS:  # a list or dict here is not hashable
        env.type = kind
    else:
        errors["type"] = MSG["type"]
    env.recorded_at = parse_recorded_at(raw.get("recorded_at"))
    if env.recorded_at is None:
        errors["recorded_at"] = MSG["recorded_at"]
    voided = raw.get("voided", False)
    if isinstance(voided, bool):
        env.voided = voided
    else:
        errors["voided"] = MSG["voided"]
    data = raw.get("data", {} if env.voided else None)
    if isinstance(data, dict):
        env.data = data
    else:
        errors["data"] = MSG["data"]
    return env


def _unknown_keys(data: dict[str, Any], known: frozenset[str]) -> dict[str, str]:
    errors = {}
    for key in data:
        if key not in known:
            shown = str(key)[:40]
            errors[f"data.{shown}"] = MSG["unknown_key"].format(key=shown)
            if len(errors) >= 5:  # enough to find the bug; the answer stays small
                break
    return errors


def _check_unit(data: dict[str, Any], ctx: Context, values: dict, errors: dict) -> None:
    unit_id = data.get("unit_id")
    if unit_id is None:
        errors["data.unit_id"] = MSG["unit_missing"].format(label=ctx.unit_label.lower())
    elif _is_int(unit_id) and unit_id in ctx.unit_ids:
        values["unit_id"] = unit_id
    else:
        errors["data.unit_id"] = MSG["unit"].format(label=ctx.unit_label)


def _check_text(
    data: dict[str, Any], key: str, limit: int, message: str, values: dict, errors: dict
) -> None:
    value = data.get(key)
    if value is None:
        return
    if not isinstance(value, str):
        errors[f"data.{key}"] = message
        return
    if len(value) > limit * 4:
        errors[f"data.{key}"] = message
        return
    cleaned = _clean(value, multiline=True)
    if cleaned is None:
        errors[f"data.{key}"] = MSG["bad_chars"]
    elif len(cleaned) > limit:
        errors[f"data.{key}"] = message
    else:
        values[key] = mask_numbers(cleaned)  # no CCCD or phone number kept in free text


def check_assist(
    data: dict[str, Any], campaign: Campaign, ctx: Context
) -> tuple[dict[str, Any], dict[str, str]]:
    """An assist's data: (column values that passed, errors by "data.<key>")."""
    values: dict[str, Any] = {}
    errors = _unknown_keys(data, ASSIST_KEYS)

    name = data.get("full_name")
    if not isinstance(name, str) or not name.strip():
        errors["data.full_name"] = MSG["full_name"]
    elif len(name) > MAX_NAME * 4:
        errors["data.full_name"] = MSG["full_name_length"]
    else:
        cleaned = _clean(name)
        if cleaned is None:
            errors["data.full_name"] = MSG["bad_chars"]
        elif not 2 <= len(cleaned) <= MAX_NAME:
            errors["data.full_name"] = MSG["full_name_length"]
        else:
            values["full_name"] = cleaned
            values["name_key"] = fold(cleaned)

    year = data.get("birth_year")
    if year is not None:
        if _is_int(year) and 1900 <= year <= ctx.year:
            values["birth_year"] = year
        else:
            errors["data.birth_year"] = MSG["birth_year"].format(year=ctx.year)

    gender = data.get("gender")
    if gender not in (None, ""):
        if isinstance(gender, str) and gender in GENDERS:
            values["gender"] = gender
        else:
            errors["data.gender"] = MSG["gender"]

    phone = data.get("phone")
    if phone not in (None, ""):
        normalised = normalise_phone(phone) if isinstance(phone, str) and len(phone) < 40 else None
        if normalised:
            values["phone"] = normalised
        else:
            errors["data.phone"] = MSG["phone"]

    _check_unit(data, ctx, values, errors)

    keys, categories = ctx.keys_of(campaign)
    category = data.get("category")
    if category is None or category == "":
        errors["data.category"] = MSG["category_missing"]
    elif isinstance(category, str) and category in categories:
        values["category"] = category
    else:
        errors["data.category"] = MSG["category"]

    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        errors["data.steps"] = MSG["steps"]
    else:
        wrong = [s for s in steps if not isinstance(s, str) or s not in keys]
        if wrong:  # (a list, not next(): a wrong step may itself be None)
            errors["data.steps"] = MSG["step"].format(key=str(wrong[0])[:40])
        elif len(set(steps)) != len(steps):
            errors["data.steps"] = MSG["step_twice"]
        else:
            values["steps"] = Assist.join_steps([k for k in keys if k in steps])
            values["_tested"] = TEST_STEP in steps

    attempts = data.get("attempts")
    tested = values.pop("_tested", False)
    if attempts is None:
        values["attempts"] = 1 if tested else 0
    elif not _is_int(attempts) or not 0 <= attempts <= MAX_ATTEMPTS:
        errors["data.attempts"] = MSG["attempts"]
    elif tested and attempts < 1:
        errors["data.attempts"] = MSG["attempts_tested"]
    else:
        values["attempts"] = attempts

    consent = data.get("consent")
    if consent is True:
        values["consent"] = True
    else:
        errors["data.consent"] = MSG["consent"]
    # The wording's version the phone showed (phones before this field send none: the
    # server then records the campaign's current version, as before).
    version = data.get("consent_version")
    if version is not None:
        if _is_int(version) and version in ctx.consent_versions(campaign):
            values["consent_version"] = version
        else:
            errors["data.consent_version"] = MSG["consent_version"]

    _check_text(data, "note", MAX_NOTE, MSG["note"], values, errors)
    return values, errors


def check_difficulty(data: dict[str, Any], ctx: Context) -> tuple[dict[str, Any], dict[str, str]]:
    """A difficulty's data: (column values that passed, errors by "data.<key>")."""
    values: dict[str, Any] = {}
    errors = _unknown_keys(data, DIFFICULTY_KEYS)
    _check_unit(data, ctx, values, errors)
    kind = data.get("kind")
    if kind is None or kind == "":
        errors["data.kind"] = MSG["kind_missing"]
    elif isinstance(kind, str) and kind in DIFFICULTY_KINDS:
        values["kind"] = kind
    else:
        errors["data.kind"] = MSG["kind"]
    _check_text(data, "text", MAX_TEXT, MSG["text"], values, errors)
    values.setdefault("text", "")
    return values, errors


# Values a void takes for a field it cannot otherwise fill (a void counts for nothing).
_VOID_DEFAULTS = {
    "assist": {
        "full_name": None,
        "name_key": None,
        "birth_year": None,
        "gender": None,
        "phone": None,
        "category": "",
        "steps": ",",
        "attempts": 0,
        "consent": False,
        "note": None,
    },
    "difficulty": {"kind": "other", "text": ""},
}
_DATA_COLUMNS = {kind: (*defaults, "unit_id") for kind, defaults in _VOID_DEFAULTS.items()}


# --- deciding a batch ----------------------------------------------------------------------


def _result(env: Envelope, status: str, **extra: Any) -> dict[str, Any]:
    return {"id": env.echo_id, "rev": env.echo_rev, "status": status, **extra}


def _load_known(envelopes: list[Envelope]) -> dict[str, Known]:
    """The stored revisions of the batch's ids: one narrow query per table, then the full
    current row of only those ids the batch may revise (a fresh batch reads no more)."""
    known: dict[str, Known] = {}
    ids = sorted({e.id for e in envelopes if e.id})
    if not ids:
        return known
    for kind, model in MODELS.items():
        table = model.__table__
        c = table.c
        narrow = sa.select(c.record_id, c.user_id, c.rev, c.is_current)
        for rid, user_id, rev, is_current in db.session.execute(
            narrow.where(one_of(c.record_id, ids))
        ):
            entry = known.get(rid)
            if entry is None:
                entry = known[rid] = Known(kind, user_id, set(), 0)
            if entry.type != kind:
                # The same id in both tables (never written by this module): refuse both.
                entry.user_id = -1
            entry.revs.add(rev)
            if is_current:
                entry.current_rev = rev
    wanted = {
        e.id
        for e in envelopes
        if e.id in known and e.rev is not None and e.rev not in known[e.id].revs
    }
    for kind, model in MODELS.items():
        table = model.__table__
        mine = sorted(rid for rid in wanted if known[rid].type == kind)
        if not mine:
            continue
        rows = db.session.execute(
            sa.select(table).where(one_of(table.c.record_id, mine), table.c.is_current)
        ).mappings()
        for row in rows:
            known[row["record_id"]].current = dict(row)
    return known


def _decide(
    env: Envelope, ctx: Context, known: dict[str, Known], writes: dict[str, Any]
) -> dict[str, Any]:
    """One record's answer; a stored record is added to `writes` and to `known`."""
    if env.errors:
        return _result(env, "invalid", errors=env.errors)
    entry = known.get(env.id)
    if entry is not None:
        if entry.user_id != ctx.user.id:
            return _result(env, "invalid", errors={"id": MSG["owner"]})
        if entry.type != env.type:
            return _result(env, "invalid", errors={"type": MSG["other_type"]})
        if env.rev in entry.revs:
            return _result(env, "unchanged")
        if env.rev < entry.current_rev:
            return _result(env, "stale", server_rev=entry.current_rev)

    previous = entry.current if entry else None
    if entry is not None and previous is None:
        # Revisions but none marked current (never written by this module): refuse it.
        return _result(env, "invalid", errors={"id": MSG["owner"]})
    if previous is not None:
        campaign = ctx.campaign_by_id(previous["campaign_id"])
    elif ctx.campaign is not None:
        campaign = ctx.campaign
    else:
        return _result(env, "invalid", errors={"campaign": MSG["campaign"]})
    # A new entry made after the campaign's last day follows its rule (retention.py); edits
    # and voids of entries the server has are always taken.
    late = None
    if env.type == "assist" and entry is None and not env.voided:
        late = after_end(campaign.after_end, campaign.ends_on, to_local(env.recorded_at).date())
        if late == AFTER_END_REFUSE:
            return _result(env, "invalid", errors={"campaign": refused_message(campaign.ends_on)})

    if env.type == "assist":
        values, errors = check_assist(env.data, campaign, ctx)
        if (
            previous is not None
            and previous["erased_at"] is not None
            and not env.data.get("full_name")
        ):
            # An erased record's phone copy has no name any more; its edits still count.
            errors.pop("data.full_name", None)
    else:
        values, errors = check_difficulty(env.data, ctx)
    if env.voided:
        values = _void_values(env.type, values, previous, ctx)
        if values["unit_id"] is None:
            return _result(env, "invalid", errors={"data.unit_id": errors["data.unit_id"]})
    elif errors:
        return _result(env, "invalid", errors=errors)

    row = {
        "record_id": env.id,
        "rev": env.rev,
        "is_current": True,
        "ward_id": previous["ward_id"] if previous else ctx.ward_id,
        "campaign_id": campaign.id,
        "user_id": ctx.user.id,
        "device_id": ctx.device_id,
        "recorded_at": env.recorded_at,
        "received_at": ctx.now,
        "voided": env.voided,
        # Every row of a multi-row INSERT needs the same keys: absent optional fields are None.
        **_VOID_DEFAULTS[env.type],
        **values,
    }
    if env.type == "assist":
        row["erased_at"] = None
        if late == AFTER_END_COUNT_ONLY or to_local(ctx.now).date() > campaign.retention_until:
            # Made after the campaign's end (its rule: count only), or arriving past its
            # retention date (purged or about to be): counted, never stored with the
            # person's fields (issue 17).
            row.update(dict.fromkeys(ERASED_COLUMNS), erased_at=ctx.now)
        row["resident_key"] = resident_key_for(
            row["phone"], row["name_key"], row["birth_year"], row["unit_id"], env.id
        )
        # The consent read out is the one of the entry's first revision: the version its
        # phone showed, else (an older phone) the campaign's current one when it arrived.
        row["consent_version"] = (
            previous["consent_version"]
            if previous
            else values.get("consent_version", campaign.consent_version)
        )
        if previous is not None and previous["erased_at"] is not None:
            # The resident asked for erasure: a later edit from a phone must not undo it.
            # erased_at is this row's own time, so the phone that sent it hears of it at its
            # next erasure notice (erased_page) even if its cursor passed the erasure itself.
            row.update(dict.fromkeys(ERASED_COLUMNS), erased_at=ctx.now)
            # ... and the resident is still counted as the same one.
            row["resident_key"] = previous["resident_key"]
    else:
        row["resolved_at"] = previous["resolved_at"] if previous else None
        row["resolved_by_id"] = previous["resolved_by_id"] if previous else None

    table_writes = writes[env.type]
    if entry is None:
        known[env.id] = Known(env.type, ctx.user.id, {env.rev}, env.rev, row, pending=True)
    else:
        if entry.pending and entry.current is not None:
            entry.current["is_current"] = False  # an earlier revision in this same batch
        else:
            table_writes["unmark"].add(env.id)
        entry.revs.add(env.rev)
        entry.current_rev = env.rev
        entry.current = row
        entry.pending = True
    table_writes["insert"].append(row)
    return _result(env, "stored")


def _void_values(
    kind: str, values: dict[str, Any], previous: dict[str, Any] | None, ctx: Context
) -> dict[str, Any]:
    """A void keeps what passed its rule, else the previous revision's value, else a default."""
    merged = {}
    for column in _DATA_COLUMNS[kind]:
        if column in values:
            merged[column] = values[column]
        elif previous is not None:
            merged[column] = previous[column]
        else:
            merged[column] = _VOID_DEFAULTS[kind].get(column)
    if merged["unit_id"] is None and ctx.user.unit_id in ctx.unit_ids:
        merged["unit_id"] = ctx.user.unit_id
    return merged


def _write(writes: dict[str, Any]) -> None:
    for kind, model in MODELS.items():
        table = model.__table__
        unmark = writes[kind]["unmark"]
        if unmark:
            db.session.execute(
                sa.update(table)
                .where(one_of(table.c.record_id, sorted(unmark)), table.c.is_current)
                .values(is_current=False)
            )
        # One order for every writer, so two batches lock the same ids in the same order.
        rows = sorted(writes[kind]["insert"], key=lambda row: (row["record_id"], row["rev"]))
        if rows:
            insert_many(table, rows)


def _touched(writes: dict[str, Any]) -> set[tuple[int, int]]:
    return {(row["campaign_id"], row["ward_id"]) for row in writes["assist"]["insert"]}


def sync_batch(
    records: list[Any], user: User, device: Device | None = None, now: datetime | None = None
) -> Outcome:
    """Apply one batch from a member's phone: one answer per record. Commits."""
    now = now or utcnow()
    envelopes = [check_envelope(raw) for raw in records]
    attempts = 0
    while True:
        try:
            outcome = write_batch(envelopes, user, device, now)
            db.session.commit()
            return outcome
        except sa.exc.DBAPIError as error:
            # Another request wrote one of these ids meanwhile (or PostgreSQL chose this
            # transaction as a deadlock victim): decide again against what is committed now.
            db.session.rollback()
            attempts += 1
            if not _is_conflict(error) or attempts == RETRIES:
                raise


def write_batch(
    envelopes: list[Envelope], user: User, device: Device | None, now: datetime
) -> Outcome:
    """Decide and write a batch inside the caller's transaction (sync_batch commits it)."""
    if db.session.get_bind().dialect.name == "postgresql":
        # Never wait long for another transaction's lock: a contract answer (503, resend) beats
        # a phone's request hanging past the proxy's timeout.
        db.session.execute(sa.text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'"))
    ctx = make_context(user, device, now)
    known = _load_known(envelopes)
    writes = {kind: {"unmark": set(), "insert": []} for kind in MODELS}
    results = [_decide(env, ctx, known, writes) for env in envelopes]
    _write(writes)
    return Outcome(iso_local(now), results, _touched(writes))


def sync_records(
    records: list[Any], user: User, device: Device | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Apply one batch from a member's phone; returns {"server_time", "results"}. Commits."""
    return sync_batch(records, user, device, now).as_json()


def _is_conflict(error: sa.exc.DBAPIError) -> bool:
    if isinstance(error, sa.exc.IntegrityError):
        return True
    return getattr(error.orig, "sqlstate", None) in ("40P01", "40001")


# --- restoring a phone ---------------------------------------------------------------------


def iso_local(moment: datetime | None) -> str | None:
    """A stored naive-UTC time as ISO 8601 in Asia/Ho_Chi_Minh (+07:00), to the second."""
    if moment is None:
        return None
    return to_local(moment).replace(microsecond=0).isoformat()


def record_json(kind: str, row: Assist | Difficulty) -> dict[str, Any]:
    """One stored revision in the contract's shape."""
    if kind == "assist":
        data: dict[str, Any] = {
            "full_name": row.full_name,
            "birth_year": row.birth_year,
            "gender": row.gender,
            "phone": row.phone,
            "unit_id": row.unit_id,
            "category": row.category,
            "steps": row.step_list,
            "attempts": row.attempts,
            "consent": row.consent,
            "note": row.note,
        }
    else:
        data = {"unit_id": row.unit_id, "kind": row.kind, "text": row.text}
    return {
        "id": row.record_id,
        "rev": row.rev,
        "type": kind,
        "recorded_at": iso_local(row.recorded_at),
        "received_at": iso_local(row.received_at),
        "voided": row.voided,
        "data": data,
    }


def parse_cursor(cursor: str | None) -> tuple[int, int]:
    """(last assist row id, last difficulty row id) of a cursor; (0, 0) for none."""
    if cursor in (None, ""):
        return 0, 0
    match = _CURSOR.match(cursor)
    if not match:
        raise BadCursor(cursor)
    # A row id past any an integer column holds means "after everything": an empty page,
    # never PostgreSQL's "integer out of range".
    return min(int(match.group(1)), MAX_ID), min(int(match.group(2)), MAX_ID)


def records_page(user: User, cursor: str | None, limit: int = PAGE_SIZE) -> dict[str, Any]:
    """A page of the member's own current records (assists, then difficulties), oldest row first.

    The cursor holds the last row id seen of each table. A record edited while a phone pages
    gets a new row id, so it comes again later in the walk: seen twice, never missed.
    """
    after = list(parse_cursor(cursor))
    out: list[dict[str, Any]] = []
    for index, (kind, model) in enumerate(MODELS.items()):
        room = limit - len(out)
        if room <= 0:
            break
        # A member's own records only (not the group a group head may see on screens).
        rows = db.session.scalars(
            sa.select(model)
            .where(model.user_id == user.id, model.is_current, model.id > after[index])
            .order_by(model.id)
            .limit(room)
        ).all()
        for row in rows:
            out.append(record_json(kind, row))
            after[index] = row.id
        if len(rows) == room:
            break
    more = len(out) == limit and _has_more(user, after)
    return {"records": out, "next": f"v1.{after[0]}.{after[1]}" if more else None}


def _has_more(user: User, after: list[int]) -> bool:
    for index, model in enumerate(MODELS.values()):
        found = db.session.scalar(
            sa.select(model.id)
            .where(model.user_id == user.id, model.is_current, model.id > after[index])
            .limit(1)
        )
        if found is not None:
            return True
    return False


# --- erasure notices to phones ---------------------------------------------------------------


def parse_erased_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """(erased_at, row id) of an erasure cursor; None for none (from the start)."""
    if cursor in (None, ""):
        return None
    match = re.fullmatch(ERASED_CURSOR, cursor) if isinstance(cursor, str) else None
    if not match:
        raise BadCursor(cursor)
    return _EPOCH + timedelta(microseconds=int(match.group(1))), min(int(match.group(2)), MAX_ID)


def erased_cursor(moment: datetime, row_id: int) -> str:
    return f"e1.{(moment - _EPOCH) // timedelta(microseconds=1)}.{row_id}"


def erased_page(
    user: User, cursor: str | None, now: datetime | None = None, limit: int = ERASED_PAGE
) -> dict[str, Any]:
    """Which of the member's own assists were erased (or purged, or stored without personal
    fields) since `cursor`: their ids, the fields a phone drops from its copy, and the next
    cursor. One range read of ix_assists_user_erased, at most `limit` ids.

    The cursor passes only rows erased at least ERASED_SETTLE ago, so nothing committed late
    is skipped; the newer ones come again next time. `more`: ask again with `next` at once.
    """
    now = now or utcnow()
    after = parse_erased_cursor(cursor)
    query = sa.select(Assist.id, Assist.record_id, Assist.erased_at).where(
        Assist.user_id == user.id, Assist.erased_at.is_not(None), Assist.is_current
    )
    if after is not None:
        moment, row_id = after
        query = query.where(
            sa.or_(
                Assist.erased_at > moment,
                sa.and_(Assist.erased_at == moment, Assist.id > row_id),
            )
        )
    rows = db.session.execute(query.order_by(Assist.erased_at, Assist.id).limit(limit)).all()
    following = cursor or ""
    for row_id, _, erased_at in rows:
        if erased_at > now - ERASED_SETTLE:
            break
        following = erased_cursor(erased_at, row_id)
    return {
        "ids": [record_id for _, record_id, _ in rows],
        "fields": list(ERASED_KEYS),
        "next": following,
        "more": len(rows) == limit and following != (cursor or ""),
    }
