"""The sync API over HTTP: enrolment, /me, sync, restore, OpenAPI, and every bad input."""

from __future__ import annotations

import gzip
import io
import json
import re
import threading
import time
import tracemalloc
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from fieldapp.extensions import db, limiter
from fieldapp.field import enrol
from fieldapp.models import Assist, AuditEvent, Device, Difficulty
from fieldapp.text import utcnow
from tests.conftest import race_app
from tests.sync.test_contract import assist, difficulty

API = "/api/v1"


def issue(world, who="member"):
    code, _ = enrol.issue_code(world.users[who], world.users["officer"])
    db.session.commit()
    return code


def enrol_phone(client, world, who="member"):
    response = client.post(f"{API}/devices", json={"code": issue(world, who), "label": "Máy A"})
    assert response.status_code == 201
    return response.get_json()["token"]


@pytest.fixture
def token(client, world):
    return enrol_phone(client, world)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def stored_count():
    return db.session.scalar(sa.select(sa.func.count(Assist.id))) + db.session.scalar(
        sa.select(sa.func.count(Difficulty.id))
    )


def post_sync(client, token, body, **kwargs):
    if not isinstance(body, bytes | str):
        body = json.dumps(body)
    kwargs.setdefault("content_type", "application/json")
    return client.post(f"{API}/sync", data=body, headers=bearer(token), **kwargs)


def assert_still_works(client, token, world):
    record = assist(world)
    response = post_sync(client, token, {"records": [record]})
    assert response.status_code == 200
    assert response.get_json()["results"] == [{"id": record["id"], "rev": 1, "status": "stored"}]


def assert_error(response, status, error=None):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error", "message"}
    assert body["message"] and not body["message"].isascii()  # Vietnamese, for the member
    if error:
        assert body["error"] == error
    return body


# --- enrolment -------------------------------------------------------------------------------


def test_enrolment_answers_token_member_campaign_units_ward(client, world):
    response = client.post(f"{API}/devices", json={"code": issue(world), "label": "Máy của Mai"})
    assert response.status_code == 201
    body = response.get_json()
    device = db.session.scalar(sa.select(Device))
    assert body["device_id"] == device.public_id and device.label == "Máy của Mai"
    assert device.token_hash == enrol.hash_secret(body["token"])
    assert body["member"] == {
        "id": world.users["member"].id,
        "name": "Lê Thị Mai",
        "unit_id": world.units["kdc1"].id,
        "role": "member",
    }
    assert body["campaign"]["id"] == world.campaign.id
    assert [u["id"] for u in body["units"]] == [world.units["kdc1"].id, world.units["kdc2"].id]
    assert body["ward"]["unit_label"] == "Khu dân cư"


@pytest.mark.parametrize("state", ["used", "expired", "unknown", "disabled"])
def test_enrolment_refuses_a_bad_code_and_leaks_nothing(client, world, state):
    code = issue(world)
    if state == "used":
        client.post(f"{API}/devices", json={"code": code})
    elif state == "expired":
        row = db.session.scalar(sa.select(enrol.EnrolmentCode))
        row.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    elif state == "unknown":
        code = "A" * 22
    else:
        world.users["member"].active = False
        db.session.commit()
    before = db.session.scalar(sa.select(sa.func.count(Device.id)))
    body = assert_error(client.post(f"{API}/devices", json={"code": code}), 400, state)
    assert body["message"] == enrol.MESSAGES[state]
    assert db.session.scalar(sa.select(sa.func.count(Device.id))) == before


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("code=abc", "application/x-www-form-urlencoded", 415),
        ("{not json", "application/json", 400),
        ("[]", "application/json", 400),
        ('{"code": 5}', "application/json", 400),
        ('{"label": "x"}', "application/json", 400),
        ('{"code": "' + "x" * 5000 + '"}', "application/json", 413),
    ],
)
def test_enrolment_refuses_bad_bodies_with_json(client, world, body, content_type, status):
    response = client.post(f"{API}/devices", data=body, content_type=content_type)
    assert_error(response, status)
    assert db.session.scalar(sa.select(sa.func.count(Device.id))) == 0


def test_a_control_character_label_does_not_break_enrolment(client, world):
    response = client.post(f"{API}/devices", json={"code": issue(world), "label": "Máy\x00 A"})
    assert response.status_code == 201
    assert db.session.scalar(sa.select(Device)).label == "Máy A"


# --- /me and authentication ------------------------------------------------------------------


def test_me_refreshes_the_payload_and_last_seen(client, world, token):
    response = client.get(f"{API}/me", headers=bearer(token))
    assert response.status_code == 200
    body = response.get_json()
    assert "token" not in body and body["member"]["id"] == world.users["member"].id
    device = db.session.scalar(sa.select(Device))
    seen = device.last_seen_at
    assert seen is not None and utcnow() - seen < timedelta(minutes=1)
    client.get(f"{API}/me", headers=bearer(token))
    db.session.refresh(device)
    assert device.last_seen_at == seen  # at most one write a minute
    device.last_seen_at = seen - timedelta(minutes=2)
    db.session.commit()
    client.get(f"{API}/me", headers=bearer(token))
    db.session.refresh(device)
    assert device.last_seen_at > seen - timedelta(minutes=2)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}, bearer("x" * 43)],
)
@pytest.mark.parametrize(
    ("method", "path"), [("get", "/me"), ("post", "/sync"), ("get", "/records")]
)
def test_api_calls_without_a_valid_token_get_401_json(client, world, headers, method, path):
    response = getattr(client, method)(API + path, headers=headers, json={"records": []})
    body = assert_error(response, 401, "unauthorized")
    assert "thu hồi" in body["message"]
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_revoked_device_gets_401_and_nothing_is_stored(client, world, token):
    device = db.session.scalar(sa.select(Device))
    enrol.revoke_device(device, world.users["officer"])
    db.session.commit()
    assert_error(post_sync(client, token, {"records": [assist(world)]}), 401)
    assert stored_count() == 0
    assert_error(client.get(f"{API}/records", headers=bearer(token)), 401)
    denied = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "denied")).all()
    assert [(e.target_id, e.detail["path"], e.detail["reason"]) for e in denied] == [
        (str(device.id), f"{API}/sync", "revoked"),
        (str(device.id), f"{API}/records", "revoked"),
    ]
    assert {(e.actor_id, e.ward_id) for e in denied} == {(world.users["member"].id, world.ward.id)}
    assert_still_works(client, enrol_phone(client, world), world)


def test_an_unknown_token_is_refused_without_filling_the_audit_trail(client, world):
    assert_error(post_sync(client, "x" * 43, {"records": []}), 401)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_a_phones_device_member_and_ward_are_read_in_one_statement(world, token):
    expected = (world.users["member"].username, world.ward.name)
    db.session.expunge_all()  # nothing already loaded in the session answers for the database
    statements = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        device = enrol.find_device(token)
        assert (device.user.username, device.user.ward.name) == expected
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert len(statements) == 1, statements
    assert "users" in statements[0] and "wards" in statements[0]


# --- sync: good requests ---------------------------------------------------------------------


def test_sync_stores_and_answers_per_record(client, world, token):
    records = [assist(world), difficulty(world), assist(world, birth_year=3000)]
    response = post_sync(client, token, {"records": records, "client": "pwa 1.0"})
    assert response.status_code == 200
    body = response.get_json()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", body["server_time"])
    assert [r["status"] for r in body["results"]] == ["stored", "stored", "invalid"]
    assert "data.birth_year" in body["results"][2]["errors"]
    device = db.session.scalar(sa.select(Device))
    row = db.session.scalar(sa.select(Assist))
    assert row.device_id == device.id and row.user_id == world.users["member"].id
    again = post_sync(client, token, {"records": records}).get_json()["results"]
    assert [r["status"] for r in again] == ["unchanged", "unchanged", "invalid"]
    assert stored_count() == 2


def test_sync_accepts_gzip(client, world, token):
    records = [assist(world) for _ in range(50)]
    body = gzip.compress(json.dumps({"records": records}).encode())
    response = client.post(
        f"{API}/sync",
        data=body,
        content_type="application/json",
        headers={**bearer(token), "Content-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert {r["status"] for r in response.get_json()["results"]} == {"stored"}
    assert stored_count() == 50


def test_an_empty_batch_is_fine(client, world, token):
    response = post_sync(client, token, {"records": []})
    assert response.status_code == 200 and response.get_json()["results"] == []


def test_a_member_cannot_take_over_another_members_record(client, world, token):
    record = assist(world)
    assert post_sync(client, token, {"records": [record]}).status_code == 200
    other = enrol_phone(client, world, "member2")
    claim = dict(record, rev=2, data={**record["data"], "full_name": "Người Khác"})
    (result,) = post_sync(client, other, {"records": [claim]}).get_json()["results"]
    assert result["status"] == "invalid" and "id" in result["errors"]
    rows = db.session.scalars(sa.select(Assist)).all()
    assert [(r.rev, r.full_name) for r in rows] == [(1, "Nguyễn Thị Hoa")]


# --- sync: every bad input of the issue ------------------------------------------------------


def gzip_bomb() -> bytes:
    """50 MB of zeros, gzipped (about 50 KB on the wire)."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as packer:
        packer.write(b'{"records": [')
        chunk = b"0" * (1024 * 1024)
        for _ in range(50):
            packer.write(chunk)
    return out.getvalue()


BAD_REQUESTS = {
    "text/plain": (dict(data="records", content_type="text/plain"), 415, None),
    "form": (dict(data="records=1", content_type="application/x-www-form-urlencoded"), 415, None),
    "not json": (dict(data="{records: [}"), 400, "bad_json"),
    "bad utf-8": (dict(data=b'{"records": ["\xff"]}'), 400, "bad_json"),
    "deep nesting": (dict(data="[" * 100_000 + "]" * 100_000), 400, None),
    "a list": (dict(data="[]"), 400, "no_records"),
    "records not a list": (dict(data='{"records": {"id": 1}}'), 400, "no_records"),
    "no records": (dict(data='{"record": []}'), 400, "no_records"),
    "a string": (dict(data='"records"'), 400, "no_records"),
    "brotli": (dict(data="{}", headers={"Content-Encoding": "br"}), 415, None),
    "broken gzip": (
        dict(data=b"\x1f\x8b\x08\x00garbage", headers={"Content-Encoding": "gzip"}),
        400,
        "bad_gzip",
    ),  # fmt: skip
    "20 MB body": (dict(data=b" " * (20 * 1024 * 1024)), 413, "too_large"),
    "gzip bomb": (dict(data=gzip_bomb(), headers={"Content-Encoding": "gzip"}), 413, "too_large"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_bad_requests_get_the_contract_answer_and_store_nothing(client, world, token, case):
    kwargs, status, error = BAD_REQUESTS[case]
    kwargs = dict(kwargs)
    headers = {**bearer(token), **kwargs.pop("headers", {})}
    kwargs.setdefault("content_type", "application/json")
    tracemalloc.start()
    try:
        response = client.post(f"{API}/sync", headers=headers, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_error(response, status, error)
    if case == "gzip bomb":
        assert peak < 8 * 1024 * 1024  # never inflated beyond the cap
    assert stored_count() == 0
    assert_still_works(client, token, world)


def test_a_streamed_body_without_length_is_capped(client, world, token):
    response = client.post(
        f"{API}/sync",
        input_stream=io.BytesIO(b" " * (2 * 1024 * 1024)),
        content_type="application/json",
        headers={**bearer(token), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_error(response, 413, "too_large")


def test_201_records_are_refused_whole(client, world, token):
    response = post_sync(client, token, {"records": [assist(world) for _ in range(201)]})
    body = assert_error(response, 413, "too_many_records")
    assert "200" in body["message"]
    assert stored_count() == 0
    assert_still_works(client, token, world)


def test_200_records_are_accepted(client, world, token):
    response = post_sync(client, token, {"records": [assist(world) for _ in range(200)]})
    assert response.status_code == 200 and stored_count() == 200


@pytest.mark.parametrize(
    ("record_change", "field"),
    [
        ({"data": {"unknown_field": 1}}, "data.unknown_field"),
        ({"data": {"full_name": "x" * 10_000}}, "data.full_name"),
        ({"data": {"birth_year": 3000}}, "data.birth_year"),
        ({"data": {"phone": "không có số"}}, "data.phone"),
        ({"data": {"unit_id": "12"}}, "data.unit_id"),
        ({"data": {"steps": "installed"}}, "data.steps"),
        ({"rev": "1"}, "rev"),
        ({"id": 42}, "id"),
        ({"recorded_at": "20/10/2025 09:14"}, "recorded_at"),
    ],
)
def test_bad_records_are_invalid_with_vietnamese_messages(
    client, world, token, record_change, field
):
    record = assist(world)
    for key, value in record_change.items():
        if key == "data":
            record["data"].update(value)
        else:
            record[key] = value
    response = post_sync(client, token, {"records": [record]})
    assert response.status_code == 200
    (result,) = response.get_json()["results"]
    assert result["status"] == "invalid"
    assert not result["errors"][field].isascii()
    assert stored_count() == 0
    assert_still_works(client, token, world)


# --- rate limits -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "app_settings", [{"RATELIMIT_ENABLED": True, "FIELDAPP_SYNC_RATE": "3 per minute"}]
)
def test_sync_is_rate_limited_per_device_with_retry_after(client, world, app_settings):
    limiter.reset()
    first, second = enrol_phone(client, world), enrol_phone(client, world, "member2")
    for _ in range(3):
        assert post_sync(client, first, {"records": []}).status_code == 200
    response = post_sync(client, first, {"records": [assist(world)]})
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 61  # the window, rounded up
    assert stored_count() == 0
    assert post_sync(client, second, {"records": []}).status_code == 200
    limiter.reset()


@pytest.mark.parametrize("app_settings", [{"RATELIMIT_ENABLED": True}])
def test_enrolment_is_rate_limited_per_address(client, world, app_settings):
    limiter.reset()
    for _ in range(20):
        client.post(f"{API}/devices", json={"code": "A" * 22})
    response = client.post(f"{API}/devices", json={"code": issue(world)})
    assert_error(response, 429)
    assert int(response.headers["Retry-After"]) >= 1
    limiter.reset()


# --- restore ---------------------------------------------------------------------------------


def test_records_restore_a_phone_page_by_page(client, world, token, monkeypatch):
    from fieldapp.sync import contract

    monkeypatch.setattr(contract, "PAGE_SIZE", 4)
    monkeypatch.setattr(contract.records_page, "__defaults__", (4,))
    mine = [assist(world) for _ in range(6)] + [difficulty(world)]
    post_sync(client, token, {"records": mine})
    post_sync(client, enrol_phone(client, world, "member2"), {"records": [assist(world)]})
    seen, url = [], f"{API}/records"
    while True:
        response = client.get(url, headers=bearer(token))
        assert response.status_code == 200
        page = response.get_json()
        assert len(page["records"]) <= 4
        seen += page["records"]
        if page["next"] is None:
            break
        url = f"{API}/records?since={page['next']}"
    assert sorted(r["id"] for r in seen) == sorted(r["id"] for r in mine)
    assert seen[0]["data"]["full_name"] == "Nguyễn Thị Hoa"


def test_a_bad_cursor_gets_400(client, world, token):
    assert_error(client.get(f"{API}/records?since=abc", headers=bearer(token)), 400, "bad_cursor")


# --- errors under /api/ are JSON -------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/nowhere", 404),
        ("get", "/sync", 405),
        ("put", "/devices", 405),
        ("delete", "/records", 405),
    ],
)
def test_api_errors_are_json(client, world, method, path, status):
    assert_error(getattr(client, method)(API + path), status)


# --- OpenAPI ---------------------------------------------------------------------------------


def _resolve(doc, schema):
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def check(doc, schema, value, where="$"):
    """A small structural JSON Schema check: type, required, properties, items, enum."""
    schema = _resolve(doc, schema)
    kinds = schema.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        python = {
            "object": dict,
            "array": list,
            "string": str,
            "integer": int,
            "boolean": bool,
            "null": type(None),
        }
        ok = any(
            isinstance(value, python[k]) and not (k == "integer" and isinstance(value, bool))
            for k in kinds
        )
        assert ok, f"{where}: {value!r} is not {kinds}"
    if "enum" in schema:
        assert value in schema["enum"], where
    if "const" in schema:
        assert value == schema["const"], where
    if isinstance(value, dict):
        for key in schema.get("required", []):
            assert key in value, f"{where}: missing {key}"
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                check(doc, sub, value[key], f"{where}.{key}")
        if schema.get("additionalProperties") is False:
            assert set(value) <= set(schema.get("properties", {})), where
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            check(doc, schema["items"], item, f"{where}[{index}]")


def test_openapi_documents_every_api_route(app, client):
    doc = client.get(f"{API}/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    documented = {
        ("/api/v1" + path, method.upper()) for path, ops in doc["paths"].items() for method in ops
    }
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, (path, method)
    assert len(documented) == len(
        [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/")]
    )


def test_real_answers_match_the_openapi_document(client, world):
    doc = client.get(f"{API}/openapi.json").get_json()

    def schema_of(path, method, status):
        response = doc["paths"][path][method]["responses"][str(status)]
        return response["content"]["application/json"]["schema"]

    response = client.post(f"{API}/devices", json={"code": issue(world)})
    check(doc, schema_of("/devices", "post", 201), response.get_json())
    token = response.get_json()["token"]
    bad = client.post(f"{API}/devices", json={"code": "A" * 22})
    check(doc, schema_of("/devices", "post", 400), bad.get_json())
    check(
        doc, schema_of("/me", "get", 200), client.get(f"{API}/me", headers=bearer(token)).get_json()
    )

    rid = str(uuid.uuid4())
    records = [assist(world, rid), assist(world, rid), assist(world, full_name="")]
    records += [difficulty(world), assist(world, rid, rev=3), assist(world, rid, rev=2)]
    for record in records:
        check(doc, {"$ref": "#/components/schemas/Record"}, record)
    answer = post_sync(client, token, {"records": records}).get_json()
    assert {r["status"] for r in answer["results"]} == {"stored", "unchanged", "invalid", "stale"}
    check(doc, schema_of("/sync", "post", 200), answer)
    request_schema = doc["paths"]["/sync"]["post"]["requestBody"]["content"]
    check(doc, request_schema["application/json"]["schema"], {"records": records})
    too_many = json.dumps({"records": [{}] * 201})
    for status, headers, data, content_type in (
        (401, {}, "{}", "application/json"),
        (413, bearer(token), too_many, "application/json"),
        (415, bearer(token), "x", "text/plain"),
    ):
        response = client.post(f"{API}/sync", headers=headers, data=data, content_type=content_type)
        assert response.status_code == status
        check(doc, schema_of("/sync", "post", status), response.get_json())
    page = client.get(f"{API}/records", headers=bearer(token)).get_json()
    check(doc, schema_of("/records", "get", 200), page)
    for record in page["records"]:
        data_schema = "AssistData" if record["type"] == "assist" else "DifficultyData"
        check(doc, {"$ref": f"#/components/schemas/{data_schema}"}, record["data"])


# --- a saturated server -------------------------------------------------------------------------


def test_a_full_sync_path_answers_503_with_retry_after_at_once(app, client, world, token):
    """Every slot taken and the queue full (api.sync_slot, sync/gate.py): 503 + Retry-After
    without waiting, nothing stored, the phone resends."""
    from fieldapp.sync.gate import Gate

    full = Gate(slots=1, queue=0)
    app.extensions["fieldapp.sync_gate"] = full
    app.config["FIELDAPP_SYNC_WAIT"] = 600  # a refusal that waited would hang the test
    assert full.enter(0)
    try:
        response = post_sync(client, token, {"records": [assist(world)]})
        assert_error(response, 503, "busy")
        assert response.headers["Retry-After"] == "2"
        assert stored_count() == 0
    finally:
        full.leave()
    assert_still_works(client, token, world)


def test_a_batch_waits_in_the_queue_for_a_slot_and_is_stored_once(backend, tmp_path):
    """A batch that finds every slot taken waits (FIELDAPP_SYNC_QUEUE places, at most
    FIELDAPP_SYNC_WAIT seconds) and is stored when a slot is given back: no 503, no resend."""
    from fieldapp.sync.gate import Gate

    def prepare(world):
        phone_token, _ = enrol.enrol_device(issue(world), "Máy A")
        db.session.commit()
        return phone_token, assist(world)

    with race_app(backend, tmp_path, prepare) as (app, (phone_token, record)):
        app.config["FIELDAPP_SYNC_WAIT"] = 60
        held = Gate(slots=1, queue=1)
        app.extensions["fieldapp.sync_gate"] = held
        assert held.enter(0)  # another batch is being written
        answers: list[int] = []

        def send() -> None:
            with app.app_context():
                response = post_sync(app.test_client(), phone_token, {"records": [record]})
                answers.append(response.status_code)

        sender = threading.Thread(target=send)
        sender.start()
        deadline = time.monotonic() + 30
        while held.waiting == 0 and sender.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert held.waiting == 1 and answers == []  # in the queue, not refused
        held.leave()
        sender.join(30)
        assert answers == [200]
        with app.app_context():
            assert stored_count() == 1


def test_a_database_too_busy_to_answer_in_time_is_a_503_not_a_500(
    client, world, token, monkeypatch
):
    """A lock or a pooled connection not free in time: the batch is not stored, the phone is
    told to come back (Retry-After), and the next batch goes through."""
    from fieldapp.sync import contract

    def busy(*_args, **_kwargs):
        raise sa.exc.OperationalError(
            "SELECT 1", {}, Exception("canceling statement: lock timeout")
        )

    real = contract.sync_batch
    monkeypatch.setattr(contract, "sync_batch", busy)
    response = post_sync(client, token, {"records": [assist(world)]})
    assert_error(response, 503, "busy")
    assert response.headers["Retry-After"] == "2"
    monkeypatch.setattr(contract, "sync_batch", real)
    assert_still_works(client, token, world)


def test_the_gate_leaves_two_threads_out_of_it():
    """gunicorn.conf.py's threads: a quarter may write batches (at least one), the rest but two
    may wait for a slot (one thread may be folding, one is free for the rest); given values win."""
    from fieldapp.config import gate_sizes

    assert gate_sizes(None, None, "8") == (2, 4) and gate_sizes(None, None, "2") == (1, 0)
    assert gate_sizes(None, None, "16") == (4, 10)
    assert gate_sizes("0", None, "4") == (0, 2) and gate_sizes("6", "1", "4") == (6, 1)
    assert gate_sizes(None, None, None) == (4, 4)
