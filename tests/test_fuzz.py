"""Bad input at volume: generated records at /api/v1/sync, fuzzed unit and participant imports,
and the OpenAPI document checked against the running app with schemathesis."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from fieldapp import tables
from fieldapp.admin import roster, unit_import
from fieldapp.admin.forms import USERNAME
from fieldapp.extensions import db
from fieldapp.models import Assist, AuditEvent, Difficulty, Participant, Target, Unit
from fieldapp.reports import participants
from fieldapp.sync import contract
from fieldapp.text import local_today
from fieldapp.vocab import UNIT_KINDS
from tests.sync.test_api import API, bearer, enrol_phone
from tests.sync.test_contract import assist, difficulty

STATUSES = {"stored", "unchanged", "stale", "invalid"}
FUZZ = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- generated values ------------------------------------------------------------------------

# Characters that break naive code: NUL and other controls, RTL/LTR marks and overrides,
# zero-width joiners, a BOM, combining marks, astral emoji and CJK (no lone surrogates:
# JSON from a real phone cannot carry them as UTF-8).
NASTY = "\x00\x01\x07\x08\x0b\x1b\x7f\u0085\u200b\u200d\u200e\u200f\u202e\u2066\ufeff\u0301\ufffd"
nasty_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(NASTY + "ắệỗươđĐ\n\r\t 😀𠜎𝔘"),
        st.characters(exclude_categories=("Cs",)),
    ),
    max_size=40,
)
long_text = st.integers(min_value=100, max_value=3000).map(lambda n: "Ạ" * n)
any_text = st.one_of(nasty_text, long_text)
odd_number = st.one_of(
    st.integers(),
    st.integers(min_value=2**53, max_value=2**80),
    st.integers(max_value=-1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.sampled_from(["1", "1954", "", "1e3", "٣"]),
    st.none(),
)
any_json = st.recursive(
    st.none() | st.booleans() | odd_number | nasty_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(nasty_text, inner, max_size=3),
    max_leaves=6,
)
recorded_at = st.one_of(
    st.sampled_from(
        [
            "2025-10-20T09:14:03+07:00",
            "2025-10-20T09:14:03Z",
            "2025-10-20T09:14:03",  # no offset: invalid
            "2025-13-45T99:99:99+07:00",
            "9999-12-31T23:59:59-23:59",
            "0001-01-01T00:00:00+14:00",
            "20/10/2025 09:14",
        ]
    ),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
        lambda d: d.isoformat() + "+07:00"
    ),
    any_text,
)
rev = st.one_of(st.just(1), st.integers(min_value=1, max_value=5), odd_number)
record_id = st.one_of(
    st.uuids().map(str),
    st.uuids().map(lambda u: str(u).upper()),
    any_text,
    odd_number,
)


def _mutations(unit_ids: list[int]) -> st.SearchStrategy:
    """One change to a valid record: (where, key, value); where is 'top' or 'data'."""
    value = st.one_of(any_text, odd_number, any_json)
    data_values = {
        "full_name": any_text,
        "note": any_text,
        "text": any_text,
        "birth_year": odd_number,
        "attempts": odd_number,
        "unit_id": st.one_of(st.sampled_from(unit_ids), odd_number),
        "phone": st.one_of(any_text, st.sampled_from(["+84912345678", "0912345678", "091"])),
        "category": st.one_of(st.sampled_from(["elderly", "student", "ELDERLY"]), any_text),
        "gender": st.one_of(st.sampled_from(["female", "male", "other"]), any_text),
        "kind": st.one_of(st.sampled_from(["other", "no_internet"]), any_text),
        "steps": st.one_of(
            st.lists(st.sampled_from(["installed", "registered", "tested", "x"]), max_size=4),
            any_json,
        ),
        "consent": st.one_of(st.booleans(), value),
    }
    set_data = st.one_of(
        *[st.tuples(st.just("data"), st.just(k), v) for k, v in data_values.items()]
    )
    return st.one_of(
        set_data,
        st.tuples(st.just("data"), st.sampled_from(list(data_values)), st.just(...)),  # missing
        st.tuples(st.just("data"), nasty_text, value),  # an extra key in data
        st.tuples(st.just("top"), st.just("id"), record_id),
        st.tuples(st.just("top"), st.just("rev"), rev),
        st.tuples(st.just("top"), st.just("type"), st.sampled_from(["assist", "x", 1, None])),
        st.tuples(st.just("top"), st.just("recorded_at"), recorded_at),
        st.tuples(st.just("top"), st.just("voided"), st.one_of(st.booleans(), value)),
        st.tuples(st.just("top"), st.just("data"), any_json),
        st.tuples(st.just("top"), st.sampled_from(["id", "rev", "type", "data"]), st.just(...)),
        st.tuples(st.just("top"), nasty_text, value),  # extra top-level keys are ignored
    )


@st.composite
def almost_valid_record(draw, world) -> object:
    """A valid assist or difficulty with zero to three changes (about a third stay valid)."""
    if draw(st.integers(0, 19)) == 0:
        return draw(any_json)  # now and then not even an object
    unit_ids = [u.id for u in world.units.values()]
    record = draw(st.sampled_from([assist, assist, difficulty]))(world)
    for where, key, value in draw(st.lists(_mutations(unit_ids), max_size=3)):
        target = record if where == "top" else record.get("data")
        if not isinstance(target, dict):
            continue
        if value is ...:
            target.pop(key, None)
        else:
            target[key] = value
    return record


@st.composite
def batch(draw, world, seen: list[dict]) -> list:
    """1-8 records, some repeating an id from this batch or an earlier one with another rev.

    Every draw happens whatever `seen` holds, so that Hypothesis sees the same strategy on
    every run; only the choice of what to copy depends on earlier batches.
    """
    records = draw(st.lists(almost_valid_record(world), min_size=1, max_size=8))
    for _ in range(draw(st.integers(0, 3))):
        pick, earlier, new_rev, note = draw(
            st.tuples(st.integers(0, 10**6), st.booleans(), st.one_of(st.none(), rev), nasty_text)
        )
        pool = [r for r in (seen if earlier and seen else records) if isinstance(r, dict)]
        if not pool:
            continue
        copy = json.loads(json.dumps(pool[pick % len(pool)]))
        if new_rev is not None:
            copy["rev"] = new_rev
        elif isinstance(copy.get("data"), dict):
            copy["data"]["note"] = note
        records.insert(pick % (len(records) + 1), copy)
    return records


def stored_pairs() -> list[tuple[str, int]]:
    pairs = []
    for model in (Assist, Difficulty):
        pairs += [tuple(row) for row in db.session.execute(sa.select(model.record_id, model.rev))]
    return pairs


def well_formed(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 64


def check_answers(records: list, results: list, accepted: set, counts: Counter) -> None:
    """One contract answer per record, in order; remember what the server says it stored."""
    assert len(results) == len(records)
    for raw, result in zip(records, results, strict=True):
        counts[result["status"]] += 1
        assert result["status"] in STATUSES
        assert set(result) <= {"id", "rev", "status", "errors", "server_rev"}
        if isinstance(raw, dict):
            if well_formed(raw.get("id")):
                assert result["id"] == raw["id"]
            rev_value = raw.get("rev")
            if type(rev_value) is int and abs(rev_value) < 2**53:
                assert result["rev"] == rev_value
        if result["status"] == "invalid":
            errors = result["errors"]
            assert errors and all(isinstance(m, str) and m for m in errors.values())
        else:
            assert "errors" not in result
        if result["status"] == "stored":
            pair = (raw["id"].lower(), raw["rev"])
            assert pair not in accepted, "the same (id, rev) answered stored twice"
            accepted.add(pair)
        if result["status"] == "unchanged":
            assert (raw["id"].lower(), raw["rev"]) in accepted
        if result["status"] == "stale":
            assert isinstance(result["server_rev"], int) and result["server_rev"] > raw["rev"]


def check_database(accepted: set) -> None:
    """The database holds exactly the (id, rev) answered stored, each once, all sound."""
    pairs = stored_pairs()
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == accepted
    for row in db.session.scalars(sa.select(Assist).where(Assist.voided.is_(False))):
        assert 2 <= len(row.full_name) <= 120 and row.consent is True
        assert not any(ord(ch) < 32 and ch != "\t" for ch in row.full_name)
        assert row.steps and 0 <= row.attempts <= 20


# --- sync at volume --------------------------------------------------------------------------


def test_generated_batches_over_http_get_contract_answers(client, world):
    token = enrol_phone(client, world)
    accepted = set(stored_pairs())
    seen: list[dict] = []
    counts: Counter = Counter()

    @FUZZ
    @given(data=st.data())
    def run(data):
        records = data.draw(batch(world, seen))
        body = json.dumps({"records": records})
        response = client.post(
            f"{API}/sync", data=body, headers=bearer(token), content_type="application/json"
        )
        counts["batches"] += 1
        counts["records"] += len(records)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        check_answers(records, response.get_json()["results"], accepted, counts)
        check_database(accepted)
        seen.extend(r for r in records if isinstance(r, dict))

    run()
    assert counts["stored"] > 0 and counts["invalid"] > 0  # the strategy reaches both sides
    print(f"\nsync over HTTP: {dict(counts)}")


def test_generated_batches_through_sync_records(world):
    accepted = set(stored_pairs())
    seen: list[dict] = []
    counts: Counter = Counter()

    @FUZZ
    @given(data=st.data())
    def run(data):
        records = data.draw(batch(world, seen))
        counts["batches"] += 1
        counts["records"] += len(records)
        answer = contract.sync_records(records, world.users["member"])
        check_answers(records, answer["results"], accepted, counts)
        check_database(accepted)
        seen.extend(r for r in records if isinstance(r, dict))

    run()
    assert counts["stored"] > 0 and counts["invalid"] > 0
    print(f"\nsync_records: {dict(counts)}")


# --- imports ---------------------------------------------------------------------------------

PER_LINE = re.compile(r"^Dòng \d+: \S")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # never stored: PostgreSQL refuses NUL
UNIT_FILE_ERRORS = {
    unit_import.MSG_NOT_UTF8,
    "Tệp trống.",
    "Tệp không có dòng dữ liệu nào.",
    tables.rows_message(unit_import.MAX_LINES),
}
PEOPLE_FILE_ERRORS = {
    "Tệp không có dòng nào.",
    "Không đọc được tệp. Hãy lưu lại dạng CSV (UTF-8) hoặc Excel .xlsx.",
    "Tệp có quá nhiều dòng (tối đa 20.000 dòng).",
}
ROSTER_FILE_ERRORS = {"Tệp trống.", roster.MSG_NO_LINES, roster.MSG_TOO_LONG}

cell_text = st.one_of(
    nasty_text,
    st.sampled_from(
        ["Khu dân cư số 9", "Khu dân cư", "Cơ quan", "Trường học", "Đoàn thể", "tdp", "1.200"]
        + ["Khu dân cư số 1", "Trạm Y tế phường", "Tổ trưởng", "Người báo cáo", "0912345678"]
    ),
    st.sampled_from(["120", "-5", "1e3", "99999999999", "12,5", "chín", " 45 ", "=1+1", ""]),
    long_text,
)


def csv_text(rows: list[list[str]], sep: str, quote: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, quotechar=quote, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue()


@st.composite
def csv_bytes(draw, header: list[str]) -> bytes:
    """Random bytes, random text, or a header plus rows of random cells with random framing."""
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=300))
    if kind == 1:
        return draw(st.text(max_size=300)).encode("utf-8", "surrogatepass")
    rows = [header if draw(st.booleans()) else draw(st.lists(cell_text, max_size=4))]
    rows += draw(st.lists(st.lists(cell_text, max_size=5), max_size=8))
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    quote = draw(st.sampled_from(['"', "'"]))
    text = csv_text(rows, sep, quote)
    if kind == 3 and text:  # cut it anywhere: an unclosed quote, half a line
        text = text[: draw(st.integers(0, len(text)))] + draw(st.sampled_from(['"', "\x00", "\r"]))
    bom = b"\xef\xbb\xbf" if draw(st.booleans()) else b""
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-16", "cp1258"]))
    return bom + text.encode(encoding, "replace")


def assert_vietnamese_messages(errors: list[str], file_errors: set[str]) -> None:
    for message in errors:
        assert isinstance(message, str)
        assert PER_LINE.match(message) or message in file_errors or message.startswith("Dòng 1:")


@FUZZ
@given(data=csv_bytes(["ten", "loai", "chi_tieu"]))
def test_unit_csv_parse_never_raises_and_reports_per_line(data):
    existing = {"khu dân cư số 9": "residential"}
    result = unit_import.parse_units_csv(data, existing)
    assert_vietnamese_messages(result.errors, UNIT_FILE_ERRORS)
    assert result.ok or result.errors
    for row in result.rows:
        assert 1 <= len(row.name) <= unit_import.NAME_MAX and row.kind in UNIT_KINDS
        assert not CONTROL.search(row.name)
        assert row.target is None or 0 <= row.target <= unit_import.TARGET_MAX


@settings(
    FUZZ, suppress_health_check=[*FUZZ.suppress_health_check, HealthCheck.function_scoped_fixture]
)
@given(data=csv_bytes(["Họ và tên", "Số điện thoại", "Đơn vị", "Vai trò"]))
def test_roster_csv_parse_never_raises_and_is_all_or_nothing(world, data):
    result = roster.parse("danh-sach.csv", data, world.ward)
    assert_vietnamese_messages(result.errors, PEOPLE_FILE_ERRORS | ROSTER_FILE_ERRORS)
    assert result.ok or result.errors
    assert not (result.errors and result.rows)  # all or nothing
    for row in result.rows:
        assert 1 <= len(row.full_name) <= roster.NAME_MAX and not CONTROL.search(row.full_name)
        assert row.unit.ward_id == world.ward.id and row.role in (
            "member",
            "group_head",
            "reporter",
        )
        assert USERNAME.match(row.username)


@FUZZ
@given(data=csv_bytes(["Họ và tên", "Lớp", "Đối tượng"]))
def test_participant_csv_parse_never_raises_and_is_all_or_nothing(data):
    result = participants.parse("danh-sach.csv", data)
    assert_vietnamese_messages(result.errors, PEOPLE_FILE_ERRORS)
    assert not (result.errors and result.people)  # all or nothing
    for name, group, kind in result.people:
        assert 1 <= len(name) <= participants.MAX_NAME and len(group) <= participants.MAX_GROUP
        assert not CONTROL.search(name + group)
        assert kind in participants.KIND_LABELS


xlsx_value = st.one_of(
    cell_text.map(lambda s: ILLEGAL_CHARACTERS_RE.sub("", s)),  # openpyxl refuses these
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(min_value=date(1900, 3, 1)),
    st.none(),
)


@FUZZ
@given(
    header=st.booleans(),
    rows=st.lists(st.lists(xlsx_value, max_size=5), max_size=8),
    title=st.sampled_from(["Sheet", "Danh sách", "Lớp 6A"]),
)
def test_participant_xlsx_parse_never_raises(header, rows, title):
    book = Workbook()
    sheet = book.active
    sheet.title = title
    if header:
        sheet.append(["STT", "Họ và tên", "Lớp", "Đối tượng"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    result = participants.parse("ds.xlsx", out.getvalue())
    assert_vietnamese_messages(result.errors, PEOPLE_FILE_ERRORS)
    assert not (result.errors and result.people)
    for name, _, kind in result.people:
        assert name and kind in participants.KIND_LABELS


@FUZZ
@given(data=st.binary(max_size=400))
def test_participant_xlsx_of_random_bytes_is_refused_politely(data):
    for blob in (data, b"PK\x03\x04" + data):
        result = participants.parse("ds.xlsx", blob)
        assert result.errors and not result.people
        assert_vietnamese_messages(result.errors, PEOPLE_FILE_ERRORS)


def test_control_characters_in_imported_names_are_refused_per_line():
    # Found by the fuzzing below: a NUL in a name reached PostgreSQL and answered 500.
    units = unit_import.parse_units_csv("ten,loai\nKhu\x00 số 1,Khu dân cư\n".encode())
    assert units.errors == ["Dòng 2: Tên đơn vị có ký tự lạ (ký tự điều khiển)"]
    people = participants.parse("ds.csv", "Họ và tên,Lớp\nVũ\x00 An,6\x07A\n".encode())
    assert people.errors == [
        "Dòng 2: họ và tên có ký tự lạ (ký tự điều khiển); "
        "tên lớp hoặc phòng ban có ký tự lạ (ký tự điều khiển)."
    ]
    assert not people.people


def snapshot():
    units = db.session.execute(sa.select(Unit.id, Unit.name, Unit.kind, Unit.active)).all()
    targets = db.session.execute(sa.select(Target.unit_id, Target.value)).all()
    audits = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    return sorted(units), sorted(targets), audits


unit_line = st.tuples(
    st.one_of(
        st.integers(1, 10**6).map(lambda n: f"Khu dân cư số {n}"),
        st.integers(1, 10**6).map(lambda n: f"Trường Tiểu học số {n}"),
        nasty_text,  # control characters, RTL marks, emoji ... in a unit's name
    ),
    st.sampled_from(["Khu dân cư", "khu dan cu", "TDP", "Khu dân cư", "??"]),
    st.sampled_from(["", "120", "1.200", " 45 ", "-1"]),
)
valid_ish_units = st.lists(unit_line, min_size=1, max_size=5).map(
    lambda rows: csv_text([["ten", "loai", "chi_tieu"], *map(list, rows)], ",", '"').encode()
)


def test_a_unit_import_with_any_error_changes_nothing(client, world, auth):
    auth.login("canbo")
    counts: Counter = Counter()

    @settings(FUZZ, max_examples=30)
    @given(data=st.one_of(csv_bytes(["ten", "loai"]), valid_ish_units), spoil=st.booleans())
    def run(data, spoil):
        text = unit_import.decode(data)
        if spoil and text and text.strip():  # a last line that is surely bad (no kind)
            data += b"\r\nKhu d\xc3\xa2n c\xc6\xb0 m\xe1\xbb\x9bi,\r\n"
        before = snapshot()
        parsed = unit_import.parse_units_csv(data, unit_import.existing_kinds(world.ward))
        response = client.post(
            "/admin/units/import",
            data={"file": (io.BytesIO(data), "don-vi.csv")},
            content_type="multipart/form-data",
        )
        counts["files"] += 1
        assert response.status_code == 200
        if parsed.errors:
            counts["refused"] += 1
            assert snapshot() == before
        else:
            counts["imported"] += 1
            names = set(db.session.scalars(sa.select(Unit.name)))
            assert {row.name for row in parsed.rows} <= names

    run()
    assert counts["refused"] and counts["imported"]
    print(f"\nunit import over HTTP: {dict(counts)}")


def participant_rows():
    rows = db.session.execute(
        sa.select(Participant.report_id, Participant.full_name, Participant.group_name)
    ).all()
    return sorted(rows)


def test_a_refused_participant_list_keeps_the_old_one(client, world, auth):
    world.campaign.report_due = local_today() + timedelta(days=5)
    db.session.commit()
    auth.login("truongthcs")
    good = "Họ và tên,Lớp,Đối tượng\nVũ Minh An,6A,Học sinh\nMai Văn Đức,Tổ Toán,Giáo viên\n"
    response = client.post(
        "/unit-report/participants",
        data={"file": (io.BytesIO(good.encode()), "ds.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200  # a preview
    token = re.search(r'name="list" value="([^"]+)"', response.text).group(1)
    assert client.post("/unit-report/participants/confirm", data={"list": token}).status_code == 302
    assert len(participant_rows()) == 2
    counts: Counter = Counter()

    @settings(FUZZ, max_examples=25)
    @given(
        data=csv_bytes(["Họ và tên", "Lớp", "Đối tượng"]), name=st.sampled_from(["a.csv", "b.xlsx"])
    )
    def run(data, name):
        parsed = participants.parse(name, data, kind_required=True)  # a school's list
        before = participant_rows()
        response = client.post(
            "/unit-report/participants",
            data={"file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )
        counts["files"] += 1
        if parsed.ok:  # a file that happens to be valid is previewed: nothing changes yet
            assert response.status_code == 200
            assert f"Tệp có <strong>{len(parsed.people)}</strong> người" in response.text
            assert participant_rows() == before
            return
        counts["refused"] += 1
        assert response.status_code == 400
        assert participant_rows() == before

    run()
    assert counts["refused"] > 0
    print(f"\nparticipant upload over HTTP: {dict(counts)}")


# --- OpenAPI against the running app ---------------------------------------------------------


@pytest.fixture
def api_token(client, world):
    return enrol_phone(client, world)


def test_openapi_document_matches_the_running_app(app, world, api_token):
    """schemathesis generates requests for every documented operation and checks the answers:
    no 5xx, documented status codes, content types, headers and response schemas."""
    schemathesis = pytest.importorskip("schemathesis")
    checks = schemathesis.checks
    schema = schemathesis.openapi.from_wsgi(f"{API}/openapi.json", app)
    counts: Counter = Counter()

    def exercise(operation, mode) -> None:
        auth = {"Authorization": f"Bearer {api_token}"}

        @settings(FUZZ, max_examples=25)
        @given(case=operation.as_strategy(generation_mode=mode, headers=auth))
        def run(case):
            counts[f"{mode.value} {operation.method.upper()} {operation.path}"] += 1
            # A schema-valid but unknown enrolment code or cursor is refused with a documented
            # 400: business rules, not a document mismatch. And /sync answers a batch of
            # rule-breaking records 200 with "invalid" per record, by contract (no whole 4xx).
            excluded = [checks.positive_data_acceptance]
            if operation.path == "/sync":
                excluded.append(checks.negative_data_rejection)
            case.call_and_validate(app=app, excluded_checks=excluded)

        try:
            run()
        except Unsatisfiable:
            # GET /me has no parameters or body: there is nothing to make invalid.
            assert mode is schemathesis.GenerationMode.NEGATIVE

    for result in schema.get_all_operations():
        for mode in schemathesis.GenerationMode:
            exercise(result.ok(), mode)
    assert len(counts) >= 7  # GET /me has no negative variant
    print(f"\nschemathesis: {dict(counts)}")


# --- NUL anywhere in a request ---------------------------------------------------------------


def test_a_nul_in_any_query_or_form_is_refused_not_a_500(app, client, world, auth):
    # Found by this file's fuzzing on PostgreSQL: a NUL in the login name or a search box
    # reached a query, and PostgreSQL refuses NUL in text (500).
    login = client.post("/login", data={"username": "canbo\x00", "password": "x"})
    assert login.status_code == 400 and "Yêu cầu không hợp lệ." in login.text
    auth.login("canbo")
    pages = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith("/static")
    ]
    for page in pages:
        assert client.get(page + "?q=a%00b").status_code == 400, page
    form = client.post("/admin/units/new", data={"name": "Khu\x00 A", "kind": "residential"})
    assert form.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(Unit.id)).where(Unit.name.like("Khu%A"))) == 0
    api = client.get(f"{API}/records?since=%00", headers=bearer(enrol_phone(client, world)))
    assert api.status_code == 400 and api.get_json()["error"] == "bad_request"


def test_random_text_in_the_login_form_and_queries_never_500(client, world):
    counts: Counter = Counter()

    @settings(FUZZ, max_examples=40)
    @given(username=st.one_of(nasty_text, st.just("canbo")), password=nasty_text, query=nasty_text)
    def run(username, password, query):
        counts["requests"] += 2
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code in (200, 400)
        assert client.get("/login", query_string={"next": query}).status_code in (200, 400)

    run()
    print(f"\nlogin form: {dict(counts)}")
