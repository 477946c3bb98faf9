"""The sync rules as plain functions: every rule, every status, revisions, voids, ownership."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.extensions import db
from fieldapp.field import enrol
from fieldapp.models import Assist, Campaign, Difficulty, Unit
from fieldapp.sync import contract
from fieldapp.text import utcnow
from tests.conftest import race_app, together


def new_id() -> str:
    return str(uuid.uuid4())


def assist(world, rid=None, rev=1, voided=False, **data):
    """A valid assist record of the contract, with `data` overriding fields."""
    body = {
        "full_name": "Nguyễn Thị Hoa",
        "birth_year": 1954,
        "gender": "female",
        "phone": "0912 345 678",
        "unit_id": world.units["kdc1"].id,
        "category": "elderly",
        "steps": ["installed", "registered", "tested"],
        "attempts": 1,
        "consent": True,
        "note": "Mắt kém, cần chữ to",
    }
    body.update(data)
    body = {k: v for k, v in body.items() if v is not ...}
    return {
        "id": rid or new_id(),
        "rev": rev,
        "type": "assist",
        "recorded_at": "2025-10-20T09:14:03+07:00",
        "voided": voided,
        "data": body,
    }


def difficulty(world, rid=None, rev=1, **data):
    body = {"unit_id": world.units["kdc1"].id, "kind": "otp_not_received", "text": "Không có mã"}
    body.update(data)
    return {
        "id": rid or new_id(),
        "rev": rev,
        "type": "difficulty",
        "recorded_at": "2025-10-20T10:00:00+07:00",
        "data": body,
    }


def run(world, records, who="member"):
    return contract.sync_records(records, world.users[who])["results"]


def rows(model=Assist, **where):
    query = sa.select(model).order_by(model.record_id, model.rev)
    for key, value in where.items():
        query = query.where(getattr(model, key) == value)
    return db.session.scalars(query).all()


# --- storing ---------------------------------------------------------------------------------


def test_a_good_assist_is_stored_with_server_side_fields(world):
    record = assist(world)
    answer = contract.sync_records([record], world.users["member"])
    assert answer["results"] == [{"id": record["id"], "rev": 1, "status": "stored"}]
    assert answer["server_time"].endswith("+07:00")
    (row,) = rows()
    assert row.record_id == record["id"] and row.rev == 1 and row.is_current
    assert row.full_name == "Nguyễn Thị Hoa" and row.name_key == "nguyen thi hoa"
    assert row.phone == "0912345678"
    assert row.steps == ",installed,registered,tested,"
    assert row.recorded_at == datetime(2025, 10, 20, 2, 14, 3)  # naive UTC
    assert row.user_id == world.users["member"].id
    assert row.ward_id == world.ward.id
    assert row.campaign_id == world.campaign.id
    assert row.consent and row.consent_version == world.campaign.consent_version
    assert abs(row.received_at - utcnow()) < timedelta(minutes=1)


def test_a_good_difficulty_is_stored(world):
    record = difficulty(world)
    assert run(world, [record])[0]["status"] == "stored"
    (row,) = rows(Difficulty)
    assert row.kind == "otp_not_received" and row.text == "Không có mã"
    assert row.campaign_id == world.campaign.id


def test_device_is_recorded(world):
    code, _ = enrol.issue_code(world.users["member"], None)
    _, device = enrol.enrol_device(code, "")
    db.session.commit()
    contract.sync_records([assist(world)], world.users["member"], device)
    assert rows()[0].device_id == device.id


def test_steps_are_stored_in_campaign_order_and_attempts_default(world):
    results = run(
        world,
        [
            assist(world, steps=["tested", "installed"], attempts=...),
            assist(world, steps=["registered"], attempts=...),
        ],
    )
    assert [r["status"] for r in results] == ["stored", "stored"]
    by_id = {r.record_id: r for r in rows()}
    tested = by_id[results[0]["id"]]
    assert tested.steps == ",installed,tested," and tested.attempts == 1
    assert by_id[results[1]["id"]].attempts == 0


def test_optional_fields_may_be_absent_or_null(world):
    record = assist(world, birth_year=None, gender=..., phone="", note=...)
    assert run(world, [record])[0]["status"] == "stored"
    row = rows()[0]
    assert (row.birth_year, row.gender, row.phone, row.note) == (None, None, None, None)


def test_name_is_stored_as_nfc_trimmed(world):
    record = assist(world, full_name="  Nguye\u0302\u0303n   Văn  An ")
    run(world, [record])
    assert rows()[0].full_name == "Nguyễn Văn An"


def test_phone_in_plus84_form_is_normalised(world):
    run(world, [assist(world, phone="+84 912 345 678")])
    assert rows()[0].phone == "0912345678"


# --- every rule ------------------------------------------------------------------------------

THIS_YEAR = datetime.now(UTC).year


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": "not-a-uuid"}, "id"),
        ({"id": 12}, "id"),
        ({"rev": 0}, "rev"),
        ({"rev": True}, "rev"),
        ({"rev": "1"}, "rev"),
        ({"rev": 1.0}, "rev"),
        ({"rev": 10**12}, "rev"),
        ({"type": "visit"}, "type"),
        ({"type": ["assist"]}, "type"),  # unhashable: must be answered, not raise
        ({"type": {"assist": 1}}, "type"),
        ({"recorded_at": "2025-10-20T09:14:03"}, "recorded_at"),  # no offset
        ({"recorded_at": "2025-10-20"}, "recorded_at"),
        ({"recorded_at": "hôm qua"}, "recorded_at"),
        ({"recorded_at": "0001-01-01T00:00:00+07:00"}, "recorded_at"),
        ({"recorded_at": 1729390443}, "recorded_at"),
        ({"voided": "no"}, "voided"),
        ({"data": "x"}, "data"),
        ({"data": None}, "data"),
    ],
)
def test_envelope_rules(world, change, field):
    record = assist(world)
    record.update(change)
    (result,) = run(world, [record])
    assert result["status"] == "invalid"
    assert field in result["errors"]
    assert rows() == []


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"full_name": "A"}, "full_name", "từ 2 đến 120"),
        ({"full_name": "   "}, "full_name", "họ và tên"),
        ({"full_name": "x" * 10_000}, "full_name", "từ 2 đến 120"),
        ({"full_name": "x" * 121}, "full_name", "từ 2 đến 120"),
        ({"full_name": "Hoa\x00"}, "full_name", "không hợp lệ"),
        ({"full_name": "Hoa\ud800"}, "full_name", "không hợp lệ"),
        ({"full_name": 12}, "full_name", "họ và tên"),
        ({"full_name": ...}, "full_name", "họ và tên"),
        ({"birth_year": 1899}, "birth_year", "1900"),
        ({"birth_year": 3000}, "birth_year", str(THIS_YEAR)),
        ({"birth_year": "1954"}, "birth_year", "1900"),
        ({"birth_year": True}, "birth_year", "1900"),
        ({"gender": "nu"}, "gender", "Giới tính"),
        ({"phone": "abcdefghij"}, "phone", "Số điện thoại"),
        ({"phone": "091234567"}, "phone", "Số điện thoại"),
        ({"phone": 912345678}, "phone", "Số điện thoại"),
        ({"unit_id": 999_999}, "unit_id", "Khu dân cư"),
        ({"unit_id": "1"}, "unit_id", "Khu dân cư"),
        ({"unit_id": ...}, "unit_id", "khu dân cư"),
        ({"category": "tourist"}, "category", "Đối tượng"),
        ({"category": ...}, "category", "Đối tượng"),
        ({"steps": []}, "steps", "ít nhất một"),
        ({"steps": "installed"}, "steps", "ít nhất một"),
        ({"steps": ["installed", "flew"]}, "steps", "flew"),
        ({"steps": ["installed", "installed"]}, "steps", "hai lần"),
        ({"steps": [None, []]}, "steps", "None"),
        ({"attempts": 21}, "attempts", "0 đến 20"),
        ({"attempts": -1}, "attempts", "0 đến 20"),
        ({"attempts": 0}, "attempts", "ít nhất là 1"),
        ({"attempts": 1.5}, "attempts", "0 đến 20"),
        ({"consent": False}, "consent", "đồng ý"),
        ({"consent": "true"}, "consent", "đồng ý"),
        ({"consent": ...}, "consent", "đồng ý"),
        ({"note": "x" * 1001}, "note", "1000"),
        ({"note": ["x"]}, "note", "1000"),
        ({"age": 70}, "age", "age"),
    ],
)
def test_assist_rules(world, data, field, words):
    (result,) = run(world, [assist(world, **data)])
    assert result["status"] == "invalid"
    assert words.lower() in result["errors"][f"data.{field}"].lower()
    assert rows() == []


def test_units_outside_the_ward_or_inactive_or_not_residential_are_refused(world):
    closed = Unit(ward=world.ward, kind="residential", name="Khu dân cư cũ", active=False)
    db.session.add(closed)
    db.session.commit()
    for unit in (world.units["other1"], world.units["agency"], closed):
        (result,) = run(world, [assist(world, unit_id=unit.id)])
        assert result["status"] == "invalid" and "data.unit_id" in result["errors"]
    assert run(world, [assist(world, unit_id=world.units["kdc2"].id)])[0]["status"] == "stored"


def test_a_note_may_have_several_lines(world):
    run(world, [assist(world, note="Dòng 1\nDòng 2")])
    assert rows()[0].note == "Dòng 1\nDòng 2"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "aliens"}, "kind"),
        ({"kind": ...}, "kind"),
        ({"text": "x" * 2001}, "text"),
        ({"unit_id": ...}, "unit_id"),
        ({"full_name": "Hoa"}, "full_name"),
    ],
)
def test_difficulty_rules(world, data, field):
    record = difficulty(world, **data)
    record["data"] = {k: v for k, v in record["data"].items() if v is not ...}
    (result,) = run(world, [record])
    assert result["status"] == "invalid" and f"data.{field}" in result["errors"]
    assert rows(Difficulty) == []


def test_unknown_top_level_keys_are_ignored(world):
    record = assist(world)
    record["client_version"] = "1.2"
    assert run(world, [record])[0]["status"] == "stored"


def test_a_ward_without_a_campaign_gets_a_clear_answer(world):
    world.campaign.active = False
    db.session.commit()
    (result,) = run(world, [assist(world)])
    assert result["status"] == "invalid"
    assert "chưa có đợt" in result["errors"]["campaign"]


def test_one_bad_record_does_not_block_the_others(world):
    good, bad = assist(world), assist(world, full_name="")
    results = run(world, [good, bad, "nonsense", None, []])
    assert [r["status"] for r in results] == ["stored"] + ["invalid"] * 4
    assert [r.record_id for r in rows()] == [good["id"]]


def test_invalid_echoes_only_small_identifiers(world):
    record = assist(world, full_name="")
    record["id"] = {"huge": "x" * 1000}
    (result,) = run(world, [record])
    assert result["id"] is None and result["rev"] == 1


# --- repeats, revisions, stale ---------------------------------------------------------------


def test_repeating_a_whole_batch_changes_nothing_and_answers_the_same(world):
    batch = [assist(world), difficulty(world), assist(world, full_name="")]
    first = run(world, batch)
    count = len(rows()) + len(rows(Difficulty))
    second = run(world, batch)
    third = run(world, batch)
    assert [r["status"] for r in first] == ["stored", "stored", "invalid"]
    assert [r["status"] for r in second] == ["unchanged", "unchanged", "invalid"]
    assert second == third
    assert second[2] == first[2]
    assert len(rows()) + len(rows(Difficulty)) == count


def test_a_repeat_is_unchanged_even_after_the_campaign_lists_change(world):
    record = assist(world)
    run(world, [record])
    world.campaign.categories = [{"key": "other", "label": "Khác"}]
    db.session.commit()
    assert run(world, [record])[0]["status"] == "unchanged"


def test_a_higher_rev_becomes_current_and_every_revision_is_kept(world):
    rid = new_id()
    run(world, [assist(world, rid)])
    (result,) = run(world, [assist(world, rid, rev=2, full_name="Nguyễn Thị Hòa")])
    assert result == {"id": rid, "rev": 2, "status": "stored"}
    first, second = rows()
    assert (first.rev, first.is_current) == (1, False)
    assert (second.rev, second.is_current, second.full_name) == (2, True, "Nguyễn Thị Hòa")


def test_a_skipped_rev_is_fine_and_a_lower_one_is_stale(world):
    rid = new_id()
    run(world, [assist(world, rid), assist(world, rid, rev=3)])
    (result,) = run(world, [assist(world, rid, rev=2)])
    assert result == {"id": rid, "rev": 2, "status": "stale", "server_rev": 3}
    assert [(r.rev, r.is_current) for r in rows()] == [(1, False), (3, True)]


def test_duplicate_ids_in_one_batch_are_answered_in_order(world):
    rid = new_id()
    batch = [
        assist(world, rid, rev=1),
        assist(world, rid, rev=2, category="worker"),
        assist(world, rid, rev=2, category="student"),
        assist(world, rid, rev=1),
        assist(world, rid, rev=3, full_name="B"),
    ]
    results = run(world, batch)
    assert [r["status"] for r in results] == [
        "stored",
        "stored",
        "unchanged",
        "unchanged",
        "invalid",
    ]
    assert [(r.rev, r.is_current, r.category) for r in rows()] == [
        (1, False, "elderly"),
        (2, True, "worker"),
    ]


def test_a_revision_keeps_the_campaign_of_its_first_revision(world):
    rid = new_id()
    run(world, [assist(world, rid)])
    newer = Campaign(
        ward=world.ward,
        name="Đợt hai",
        starts_on=world.campaign.starts_on + timedelta(days=60),
        ends_on=world.campaign.ends_on + timedelta(days=60),
        report_due=world.campaign.report_due + timedelta(days=60),
        consent_version=3,
    )
    db.session.add(newer)
    db.session.commit()
    run(world, [assist(world, rid, rev=2), assist(world)])
    campaigns = {(r.record_id == rid, r.rev): (r.campaign_id, r.consent_version) for r in rows()}
    assert campaigns[(True, 2)] == (world.campaign.id, 1)
    assert campaigns[(False, 1)] == (newer.id, 3)


def test_a_new_difficulty_revision_keeps_its_resolution(world):
    rid = new_id()
    run(world, [difficulty(world, rid)])
    row = rows(Difficulty)[0]
    row.resolved_at = utcnow()
    row.resolved_by_id = world.users["officer"].id
    db.session.commit()
    run(world, [difficulty(world, rid, rev=2, text="Đã có mã")])
    current = rows(Difficulty, is_current=True)[0]
    assert current.rev == 2 and current.text == "Đã có mã"
    assert current.resolved_by_id == world.users["officer"].id
    assert current.resolved_at == row.resolved_at


def test_an_erased_assist_stays_erased_after_a_later_edit(world):
    rid = new_id()
    run(world, [assist(world, rid)])
    row = rows()[0]
    row.full_name = row.name_key = row.phone = None
    row.erased_at = utcnow()
    db.session.commit()
    run(world, [assist(world, rid, rev=2, category="worker")])
    current = rows(is_current=True)[0]
    assert current.category == "worker"
    assert current.full_name is None and current.phone is None and current.erased_at


# --- voids -----------------------------------------------------------------------------------


def test_a_void_is_a_new_revision_that_keeps_the_data(world):
    rid = new_id()
    run(world, [assist(world, rid)])
    void = assist(world, rid, rev=2, voided=True)
    assert run(world, [void])[0]["status"] == "stored"
    current = rows(is_current=True)[0]
    assert current.voided and current.rev == 2 and current.full_name == "Nguyễn Thị Hoa"


def test_a_void_is_not_refused_when_the_campaign_lists_changed(world):
    rid = new_id()
    run(world, [assist(world, rid)])
    world.campaign.categories = [{"key": "other", "label": "Khác"}]
    world.campaign.steps = [{"key": "installed", "label": "Cài đặt"}]
    db.session.commit()
    (result,) = run(world, [assist(world, rid, rev=2, voided=True, stray="x")])
    assert result["status"] == "stored"
    current = rows(is_current=True)[0]
    assert current.voided and current.category == "elderly"
    assert current.steps == ",installed,registered,tested,"
    # An edit that is not a void is still held to the new lists.
    (result,) = run(world, [assist(world, rid, rev=3)])
    assert result["status"] == "invalid" and "data.category" in result["errors"]


def test_a_void_of_an_entry_the_server_never_saw_is_stored(world):
    record = assist(world, rev=2, voided=True, full_name="", category="gone")
    assert run(world, [record])[0]["status"] == "stored"
    row = rows()[0]
    assert row.voided and row.full_name is None and row.category == ""
    bare = {"id": new_id(), "rev": 2, "type": "difficulty", "voided": True,
            "recorded_at": "2025-10-20T10:00:00+07:00"}  # fmt: skip
    assert run(world, [bare])[0]["status"] == "stored"
    assert rows(Difficulty)[0].unit_id == world.users["member"].unit_id


def test_a_void_still_needs_a_valid_envelope(world):
    record = assist(world, voided=True)
    record["recorded_at"] = "yesterday"
    assert run(world, [record])[0]["status"] == "invalid"


# --- ownership and types ---------------------------------------------------------------------


def test_a_record_of_another_member_is_never_overwritten(world):
    rid = new_id()
    run(world, [assist(world, rid)], who="member")
    for rev in (1, 2):
        (result,) = run(world, [assist(world, rid, rev=rev, full_name="Kẻ Gian")], who="member2")
        assert result["status"] == "invalid" and "thành viên khác" in result["errors"]["id"]
    (row,) = rows()
    assert row.user_id == world.users["member"].id and row.full_name == "Nguyễn Thị Hoa"


def test_an_id_used_with_the_other_type_is_invalid(world):
    rid = new_id()
    run(world, [assist(world, rid)])
    (result,) = run(world, [difficulty(world, rid, rev=2)])
    assert result["status"] == "invalid" and "type" in result["errors"]
    results = run(world, [difficulty(world, rid2 := new_id()), assist(world, rid2, rev=2)])
    assert [r["status"] for r in results] == ["stored", "invalid"]
    assert rows(Difficulty)[0].record_id == rid2


def test_upper_case_ids_are_the_same_record(world):
    rid = new_id()
    run(world, [assist(world, rid)])
    (result,) = run(world, [assist(world, rid.upper())])
    assert result == {"id": rid.upper(), "rev": 1, "status": "unchanged"}


# --- races -----------------------------------------------------------------------------------


def test_an_integrity_error_is_decided_again_not_a_500(world, monkeypatch):
    """Simulate a concurrent writer: its row lands between our read and our write."""
    rid = new_id()
    real = contract._write
    calls = []

    def racing_write(writes):
        # The batch is decided; the other writer commits just before this one writes.
        if not calls:
            calls.append(1)
            with db.engine.begin() as conn:
                now = utcnow()
                row = {
                    "record_id": rid,
                    "rev": 1,
                    "is_current": True,
                    "ward_id": world.ward.id,
                    "campaign_id": world.campaign.id,
                    "unit_id": world.units["kdc1"].id,
                    "user_id": world.users["member"].id,
                    "recorded_at": now,
                    "received_at": now,
                    "voided": False,
                    "category": "elderly",
                    "steps": ",installed,",
                    "attempts": 0,
                    "consent": True,
                }
                conn.execute(sa.insert(Assist.__table__), [row])
        return real(writes)

    monkeypatch.setattr(contract, "_write", racing_write)
    (result,) = run(world, [assist(world, rid)])
    assert result["status"] == "unchanged"
    assert len(rows()) == 1


@pytest.fixture
def threaded(backend, postgres_ready, tmp_path):
    def people(world):
        return {k: world.users[k].id for k in ("member", "member2")}, world.units["kdc1"].id

    with race_app(backend, tmp_path, people) as (app, (ids, unit)):
        yield app, ids, unit


@pytest.mark.parametrize("round_", range(3))
def test_two_devices_racing_on_one_record_get_contract_answers(threaded, round_):
    from fieldapp.models import User

    app, ids, unit = threaded
    shared = [new_id() for _ in range(20)]
    barrier = threading.Barrier(4)
    answers: dict[int, list] = {}
    failures: list[BaseException] = []

    class W:  # the minimum of a world that assist() needs
        units = {"kdc1": type("U", (), {"id": unit})}

    def push(slot: int, who: str, rev: int) -> None:
        try:
            with app.app_context():
                user = db.session.get(User, ids[who])
                batch = [assist(W, rid, rev=rev) for rid in shared]
                barrier.wait()
                answers[slot] = contract.sync_records(batch, user)["results"]
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    together(
        partial(push, 0, "member", 1),
        partial(push, 1, "member", 1),
        partial(push, 2, "member", 2),
        partial(push, 3, "member2", 1),
    )
    assert failures == []
    with app.app_context():
        for index, rid in enumerate(shared):
            statuses = [answers[slot][index]["status"] for slot in range(4)]
            owner_rows = db.session.scalars(sa.select(Assist).where(Assist.record_id == rid)).all()
            owners = {r.user_id for r in owner_rows}
            current = [r.rev for r in owner_rows if r.is_current]
            assert len(owners) == 1 and len(current) == 1
            assert set(statuses) <= {"stored", "unchanged", "stale", "invalid"}
            if owners == {ids["member"]}:
                assert statuses[3] == "invalid"
                assert sorted(statuses[:2]) in (["stored", "unchanged"], ["stale", "stale"])
                assert current == [2] and statuses[2] == "stored"
            else:  # member2 got there first: member's writes are all refused
                assert statuses[:3] == ["invalid"] * 3 and statuses[3] == "stored"
        db.session.remove()


# --- restoring -------------------------------------------------------------------------------


def test_records_page_returns_own_current_records_in_pages(world):
    mine = [assist(world) for _ in range(5)] + [difficulty(world) for _ in range(3)]
    run(world, mine)
    run(world, [assist(world, mine[0]["id"], rev=2, voided=True)])
    run(world, [assist(world)], who="member2")
    seen, cursor, pages = [], None, 0
    while True:
        page = contract.records_page(world.users["member"], cursor, limit=3)
        pages += 1
        seen += page["records"]
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(r["id"] for r in seen) == sorted(r["id"] for r in mine)
    first = next(r for r in seen if r["id"] == mine[0]["id"])
    assert first["rev"] == 2 and first["voided"] is True
    assert first["data"]["steps"] == ["installed", "registered", "tested"]
    assert first["recorded_at"] == "2025-10-20T09:14:03+07:00"
    kinds = [r["type"] for r in seen]
    assert kinds == ["assist"] * 5 + ["difficulty"] * 3
    assert set(seen[-1]["data"]) == {"unit_id", "kind", "text"}


def test_a_record_edited_while_paging_is_not_missed(world):
    batch = [assist(world) for _ in range(4)]
    run(world, batch)
    page = contract.records_page(world.users["member"], None, limit=2)
    run(world, [assist(world, batch[0]["id"], rev=2, category="worker")])
    rest = contract.records_page(world.users["member"], page["next"], limit=10)
    assert [r["id"] for r in rest["records"]][-1] == batch[0]["id"]
    assert rest["records"][-1]["data"]["category"] == "worker"
    assert rest["next"] is None


@pytest.mark.parametrize("cursor", ["x", "v1.1", "v1.-1.0", "v2.0.0", "v1." + "9" * 30 + ".0"])
def test_a_bad_cursor_is_refused(world, cursor):
    with pytest.raises(contract.BadCursor):
        contract.records_page(world.users["member"], cursor)


# --- property: no input makes the rules crash ------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = sorted(contract.ASSIST_KEYS) + ["id", "rev", "type", "recorded_at", "voided", "extra"]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=3), raw=JSON)
def test_any_json_gets_an_answer_never_an_exception(world, changes, raw):
    record = assist(world)
    for key, value in changes.items():
        target = record if key in ("id", "rev", "type", "recorded_at", "voided") else record["data"]
        target[key] = value
    results = run(world, [record, raw])
    assert len(results) == 2
    assert {r["status"] for r in results} <= {"stored", "unchanged", "invalid", "stale"}
    if results[0]["status"] == "invalid":
        assert results[0]["errors"] and all(
            isinstance(m, str) for m in results[0]["errors"].values()
        )
    for row in rows(record_id=str(record["id"]).lower(), voided=False):
        assert 2 <= len(row.full_name) <= 120 and row.consent is True
