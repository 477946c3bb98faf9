"""Each phone's outbox report: the rules without HTTP, then through the API."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from fieldapp.extensions import db
from fieldapp.field import enrol
from fieldapp.models import Assist, Device, OutboxReport
from fieldapp.sync import outbox
from fieldapp.text import utcnow
from tests.builder import add_campaign
from tests.sync.test_api import API, assert_error, bearer, enrol_phone, post_sync, stored_count
from tests.sync.test_contract import assist


def iso(moment):
    """A naive UTC time as the phone sends it (ISO 8601 with an offset)."""
    return moment.replace(microsecond=0).isoformat() + "+00:00"


def good(**changes):
    now = utcnow()
    body = {
        "v": 1,
        "waiting": 3,
        "oldest_waiting_at": iso(now - timedelta(hours=30)),
        "needs_fix": 1,
        "app_version": "3f9a0c1b2d4e5f60",
        "storage_persisted": True,
        "last_sent_at": iso(now - timedelta(days=2)),
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


# --- the rules, without HTTP -------------------------------------------------------------------


def test_a_full_report_is_read_as_utc():
    report = outbox.parse_report(good(oldest_waiting_at="2026-11-30T09:00:00+07:00"))
    assert report.waiting == 3 and report.needs_fix == 1
    assert report.oldest_waiting_at.isoformat() == "2026-11-30T02:00:00"
    assert report.app_version == "3f9a0c1b2d4e5f60" and report.storage_persisted is True


def test_nothing_waiting_has_no_oldest_entry():
    """A phone's leftover time beside `waiting: 0` is dropped, not refused (the document
    cannot tie one field to the other, so a client keeping to it must be answered)."""
    report = outbox.parse_report(good(waiting=0))
    assert report.waiting == 0 and report.oldest_waiting_at is None


def test_a_count_written_as_a_whole_float_is_a_count():
    report = outbox.parse_report(good(waiting=449.0, needs_fix=0.0))
    assert (report.waiting, report.needs_fix) == (449, 0)
    with pytest.raises(outbox.BadReport):
        outbox.parse_report(good(waiting=4.5))


def test_only_the_version_is_required():
    report = outbox.parse_report({"v": 1})
    assert (report.waiting, report.needs_fix, report.oldest_waiting_at) == (0, 0, None)
    assert report.app_version == "" and report.storage_persisted is None


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (None, "outbox"),
        ([], "outbox"),
        ("v1", "outbox"),
        ({}, "v"),
        (good(v=2), "v"),
        (good(v="1"), "v"),
        (good(v=True), "v"),
        (good(waiting=-1), "waiting"),
        (good(waiting=1.5), "waiting"),
        (good(waiting="3"), "waiting"),
        (good(waiting=True), "waiting"),
        (good(waiting=100_001), "waiting"),
        (good(needs_fix=None), "needs_fix"),
        (good(oldest_waiting_at="2026-11-30 09:00"), "oldest_waiting_at"),
        (good(oldest_waiting_at=1764468000), "oldest_waiting_at"),
        (good(last_sent_at="hôm qua"), "last_sent_at"),
        (good(app_version="x" * 41), "app_version"),
        (good(app_version="<script>"), "app_version"),
        (good(app_version=7), "app_version"),
        (good(storage_persisted="yes"), "storage_persisted"),
        (good(storage_persisted=1), "storage_persisted"),
        (good(battery=80), "battery"),
    ],
)
def test_a_bad_report_names_its_field_in_vietnamese(raw, key):
    with pytest.raises(outbox.BadReport) as caught:
        outbox.parse_report(raw)
    assert caught.value.key == key
    assert not caught.value.message.isascii()


def test_refused_entries_of_the_batch_need_a_fix_after_the_answer():
    report = outbox.parse_report(good(waiting=2, needs_fix=1))
    results = [{"status": "stored"}, {"status": "invalid"}, {"status": "invalid"}]
    after = outbox.after_answer(report, results)
    assert (after.waiting, after.needs_fix) == (2, 3)


class _Device:
    def __init__(self, user_id, ident, revoked_at=None, name="a"):
        self.user_id = user_id
        self.id = ident
        self.revoked_at = revoked_at
        self.user = type("U", (), {"name_key": name, "ward_id": 1})()

    @property
    def revoked(self):
        return self.revoked_at is not None


def _phone(now, waiting=0, needs_fix=0, waited=None, revoked_at=None, user_id=1, ident=1, **kw):
    report = OutboxReport(
        device_id=ident,
        reported_at=kw.get("reported_at", now - timedelta(minutes=5)),
        waiting=waiting,
        needs_fix=needs_fix,
        oldest_waiting_at=now - waited if waited is not None else None,
        last_batch_at=kw.get("last_batch_at"),
        last_sent_at=kw.get("last_sent_at"),
    )
    device = _Device(user_id, ident, revoked_at, kw.get("name", "a"))
    return outbox.Phone(device, None if kw.get("silent") else report, now)


def test_entries_waiting_over_a_day_or_needing_a_fix_call_for_attention():
    now = utcnow()
    assert not _phone(now, waiting=5, waited=timedelta(hours=23)).needs_attention
    assert _phone(now, waiting=5, waited=timedelta(hours=25)).needs_attention
    assert _phone(now, needs_fix=1).needs_attention
    assert not _phone(now).needs_attention
    # An app too old to report holds nothing the office knows of.
    silent = _phone(now, silent=True)
    assert (silent.held, silent.needs_attention, silent.last_sent) == (0, False, None)
    # A report with entries waiting but no time: they have waited since the report at least.
    aged = _phone(now, waiting=2, reported_at=now - timedelta(hours=26))
    assert aged.waiting_for >= timedelta(hours=26) and aged.late


def test_last_sent_is_the_servers_word_before_the_phones():
    now = utcnow()
    server, phone = now - timedelta(hours=1), now - timedelta(hours=3)
    assert _phone(now, last_batch_at=server, last_sent_at=phone).last_sent == server
    assert _phone(now, last_sent_at=phone).last_sent == phone


def test_phones_needing_attention_come_first_oldest_first():
    now = utcnow()
    fine = _phone(now, waiting=1, waited=timedelta(hours=1), ident=1, name="an")
    fix = _phone(now, needs_fix=2, ident=2, name="binh")
    old = _phone(now, waiting=4, waited=timedelta(days=3), ident=3, name="cuong")
    empty = _phone(now, ident=4, name="dung")
    revoked = _phone(now, waiting=2, waited=timedelta(hours=2), revoked_at=now, ident=5)
    ordered = outbox.order([empty, fine, revoked, fix, old])
    assert [p.device.id for p in ordered] == [3, 2, 5, 1, 4]


def test_the_ward_figure_counts_entries_and_phones_holding_them():
    now = utcnow()
    phones = [
        _phone(now, waiting=40, waited=timedelta(days=2), ident=1, user_id=1),
        _phone(now, waiting=3, needs_fix=1, waited=timedelta(hours=1), ident=2, user_id=2),
        _phone(now, ident=3, user_id=3),
        _phone(now, silent=True, ident=4, user_id=4),
    ]
    found = outbox.figure(phones)
    assert (found.entries, found.phones, found.attention) == (44, 2, 2)
    assert found.text == "44 lượt còn nằm trên 2 điện thoại"
    assert outbox.figure([]).text == "Không còn lượt nào nằm trên điện thoại"
    many = [_phone(now, waiting=1200, waited=timedelta(hours=1), ident=i) for i in range(2)]
    assert outbox.figure(many).text == "2.400 lượt còn nằm trên 2 điện thoại"


def test_a_revoked_phone_holding_entries_is_flagged_until_its_member_reports_again():
    now = utcnow()
    revoked_at = now - timedelta(hours=2)
    revoked = _phone(now, waiting=6, waited=timedelta(days=1), revoked_at=revoked_at, ident=1)
    phones = [revoked]
    outbox.mark_superseded(phones)
    assert revoked.revoked_holding and outbox.figure(phones).entries == 6
    # The member enrolled (often the same phone) again and it reported since: not twice.
    again = _phone(now, waiting=6, waited=timedelta(days=1), ident=2, reported_at=now)
    phones = [revoked, again]
    outbox.mark_superseded(phones)
    assert not revoked.revoked_holding and revoked.superseded
    assert outbox.figure(phones).entries == 6
    # A report from before the revocation does not count as a new phone.
    before = _phone(now, ident=3, reported_at=revoked_at - timedelta(minutes=1))
    revoked.superseded = False
    phones = [revoked, before]
    outbox.mark_superseded(phones)
    assert revoked.revoked_holding


# --- through the API ----------------------------------------------------------------------------


@pytest.fixture
def token(client, world):
    return enrol_phone(client, world)


def report_row(world, who="member"):
    return db.session.scalar(
        sa.select(OutboxReport)
        .join(Device, Device.id == OutboxReport.device_id)
        .where(Device.user_id == world.users[who].id)
    )


def test_a_sync_with_a_report_stores_it_after_the_answer(client, world, token):
    records = [assist(world), assist(world, unit_id=999_999)]
    body = {"records": records, "outbox": good(waiting=5, needs_fix=1)}
    response = post_sync(client, token, body)
    assert response.status_code == 200
    assert [r["status"] for r in response.get_json()["results"]] == ["stored", "invalid"]
    row = report_row(world)
    # The refused record of this batch now needs a fix on the phone.
    assert (row.waiting, row.needs_fix, row.storage_persisted) == (5, 2, True)
    assert row.app_version == "3f9a0c1b2d4e5f60"
    assert row.last_batch_at is not None and row.reported_at is not None


def test_a_phone_without_a_report_keeps_working(client, world, token):
    response = post_sync(client, token, {"records": [assist(world)]})
    assert response.status_code == 200
    assert response.get_json()["results"][0]["status"] == "stored"
    assert report_row(world) is None


@pytest.mark.parametrize(
    "bad",
    [good(v=2), good(waiting=-3), good(needs_fix="1"), good(oldest_waiting_at="x"), [1], None],
)
def test_a_bad_report_refuses_the_batch_and_stores_nothing(client, world, token, bad):
    response = post_sync(client, token, {"records": [assist(world)], "outbox": bad})
    body = assert_error(response, 400, "bad_outbox")
    assert "outbox" in body["message"]
    assert stored_count() == 0
    assert report_row(world) is None


def test_the_light_call_stores_the_report_and_replaces_the_last(client, world, token):
    response = client.post(f"{API}/outbox", json={"outbox": good()}, headers=bearer(token))
    assert response.status_code == 200 and response.get_json()["server_time"]
    assert report_row(world).waiting == 3
    light = {"v": 1, "waiting": 0, "needs_fix": 0, "storage_persisted": False}
    response = client.post(f"{API}/outbox", json={"outbox": light}, headers=bearer(token))
    assert response.status_code == 200
    row = report_row(world)
    assert (row.waiting, row.oldest_waiting_at, row.storage_persisted) == (0, None, False)
    assert row.last_batch_at is None  # a light call is no batch
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxReport)) == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"outbox": good(waiting=10**9)}, "bad_outbox"),
        ({"outbox": {"v": 1, "extra": 1}}, "bad_outbox"),
        ({"records": []}, "no_outbox"),
        ([good()], "no_outbox"),
    ],
)
def test_the_light_call_refuses_bad_input_and_stores_nothing(client, world, token, body, error):
    response = client.post(f"{API}/outbox", json=body, headers=bearer(token))
    assert_error(response, 400, error)
    assert report_row(world) is None


def test_the_light_call_needs_an_enrolled_phone_not_revoked(client, world, token):
    response = client.post(f"{API}/outbox", json={"outbox": good()})
    assert_error(response, 401, "unauthorized")
    device = db.session.scalar(sa.select(Device).where(Device.user_id == world.users["member"].id))
    enrol.revoke_device(device, world.users["officer"])
    db.session.commit()
    response = client.post(f"{API}/outbox", json={"outbox": good()}, headers=bearer(token))
    assert_error(response, 401, "unauthorized")
    assert report_row(world) is None
    assert db.session.scalar(sa.select(sa.func.count(Assist.id))) == 0


def test_the_light_call_refuses_other_media_and_big_bodies(client, world, token):
    response = client.post(
        f"{API}/outbox", data="outbox", content_type="text/plain", headers=bearer(token)
    )
    assert_error(response, 415)
    big = {"outbox": good(app_version="a" * 5000)}
    response = client.post(f"{API}/outbox", json=big, headers=bearer(token))
    assert_error(response, 413, "too_large")


def test_the_openapi_document_describes_the_report(client):
    doc = client.get(f"{API}/openapi.json").get_json()
    schema = doc["components"]["schemas"]["OutboxReport"]
    assert schema["additionalProperties"] is False and schema["required"] == ["v"]
    assert set(schema["properties"]) == set(outbox.KEYS)
    sync_request = doc["components"]["schemas"]["SyncRequest"]
    assert sync_request["properties"]["outbox"] == {"$ref": "#/components/schemas/OutboxReport"}
    assert "outbox" not in sync_request["required"]  # optional: old phones keep working
    assert doc["paths"]["/outbox"]["post"]["operationId"] == "outbox"


def test_two_phones_of_one_member_report_apart(client, world):
    first = enrol_phone(client, world)
    second = enrol_phone(client, world)
    for token, waiting in ((first, 1), (second, 7)):
        light = {"outbox": {"v": 1, "waiting": waiting}}
        assert client.post(f"{API}/outbox", json=light, headers=bearer(token)).status_code == 200
    rows = db.session.scalars(sa.select(OutboxReport.waiting).order_by(OutboxReport.waiting))
    assert list(rows) == [1, 7]


# --- what the office sees ---------------------------------------------------------------------


def phone_of(world, who, label, waiting=0, needs_fix=0, waited=None, revoked=False, persisted=True):
    """An enrolled phone of `who` with a report (waited: age of its oldest waiting entry)."""
    code, _ = enrol.issue_code(world.users[who], world.users["officer"])
    _token, device = enrol.enrol_device(code, label)
    db.session.flush()
    now = utcnow()
    report = outbox.Report(
        waiting=waiting,
        needs_fix=needs_fix,
        oldest_waiting_at=now - waited if waited else None,
        app_version="0123456789abcdef",
        storage_persisted=persisted,
        last_sent_at=now - timedelta(days=3),
    )
    outbox.store(device, report, now - timedelta(minutes=10))
    if revoked:
        enrol.revoke_device(device, world.users["officer"])
        db.session.commit()
    return device


@pytest.fixture
def phones(world):
    return {
        "fresh": phone_of(world, "member", "Máy Mai", waiting=2, waited=timedelta(hours=2)),
        "late": phone_of(world, "member2", "Máy Nam", waiting=40, waited=timedelta(days=2)),
        "fix": phone_of(world, "member3", "Máy Lan", needs_fix=1, persisted=False),
        "gone": phone_of(
            world, "head", "Máy cũ", waiting=5, waited=timedelta(hours=3), revoked=True
        ),
        "other": phone_of(world, "other_member", "Máy Tâm", waiting=9, waited=timedelta(days=5)),
    }


def rows_of(page):
    """(device public id, waiting, needs fix) of each phone row, in the page's order."""
    found = re.findall(r'data-device="([^"]+)" data-waiting="(\d+)" data-needs-fix="(\d+)"', page)
    return [(d, int(w), int(f)) for d, w, f in found]


def test_the_devices_page_lists_phones_needing_attention_first(client, auth, world, phones):
    auth.login("canbo")
    page = client.get("/admin/devices").get_data(as_text=True)
    ids = [row[0] for row in rows_of(page)]
    # Waiting two days, then a fix needed, then the revoked phone holding entries, then the rest.
    assert ids == [phones[k].public_id for k in ("late", "fix", "gone", "fresh")]
    assert rows_of(page)[0][1:] == (40, 0)
    assert "48 lượt còn nằm trên 4 điện thoại" in page
    assert "2 điện thoại cần nhắc" in page
    assert "đã chờ 2 ngày" in page
    assert "Máy Tâm" not in page  # another ward's phone
    # The revoked phone's entries are not lost: how the member gets them sent.
    assert "Máy bị thu hồi khi còn 5 lượt chưa gửi" in page
    assert "quét mã bằng chính máy đó" in page
    revoked_only = client.get("/admin/devices?state=revoked").get_data(as_text=True)
    assert [row[0] for row in rows_of(revoked_only)] == [phones["gone"].public_id]


def test_the_ward_dashboard_and_the_printed_report_give_the_figure(client, auth, world, phones):
    auth.login("canbo")
    page = client.get("/reports/").get_data(as_text=True)
    assert 'data-entries="48" data-phones="4"' in page
    assert "48 lượt còn nằm trên 4 điện thoại" in page
    assert len(rows_of(page)) == 4
    printed = client.get("/reports/print").get_data(as_text=True)
    assert "Lúc in báo cáo, 48 lượt còn nằm trên 4 điện thoại của thành viên" in printed


def test_the_group_head_sees_only_their_groups_phones(client, auth, world, phones):
    auth.login("totruong1")
    page = client.get("/unit").get_data(as_text=True)
    ids = {row[0] for row in rows_of(page)}
    # kdc1: the two members and the head's own (revoked) phone; not kdc2's, not another ward's.
    assert ids == {phones[k].public_id for k in ("late", "fresh", "gone")}
    assert "47 lượt còn nằm trên 3 điện thoại" in page
    assert "Máy Lan" not in page and "Máy Tâm" not in page
    assert "nhờ cán bộ phường cấp mã QR mới" in page
    # The devices page stays the officer's.
    assert client.get("/admin/devices").status_code == 403
    phones_seen = outbox.visible_phones(world.users["head"], utcnow())
    assert {p.device.id for p in phones_seen} == {phones[k].id for k in ("late", "fresh", "gone")}
    for who in ("member", "reporter", "city_admin"):
        assert outbox.visible_phones(world.users[who], utcnow()) == []


def test_the_city_roll_up_shows_each_wards_figure_and_no_names(client, auth, world, phones):
    city = add_campaign(None)
    db.session.commit()
    auth.login("so_khcn")
    page = client.get(f"/city/reports/?campaign_id={city.id}").get_data(as_text=True)
    cells = dict(re.findall(r'data-ward="(\d+)" title="([^"]+)"', page))
    assert cells[str(world.ward.id)] == "48 lượt còn nằm trên 4 điện thoại"
    assert cells[str(world.other_ward.id)] == "9 lượt còn nằm trên 1 điện thoại"
    assert "Máy Nam" not in page and "Lê Thị Mai" not in page


# --- the member's group against its target (GET /api/v1/me) ----------------------------------


def test_me_gives_the_groups_standing_with_its_time(client, world, token):
    from fieldapp.sync import contract

    contract.sync_records([assist(world)], world.users["member2"])  # a tested resident of kdc1
    body = client.get(f"{API}/me", headers=bearer(token)).get_json()
    group = body["group"]
    assert group["line"] == "Khu dân cư số 1: 1/100"
    assert (group["unit_id"], group["residents"], group["completed"], group["target"]) == (
        world.units["kdc1"].id,
        1,
        1,
        100,
    )
    assert group["as_of"].endswith("+07:00")


def test_a_member_without_a_residential_group_gets_no_standing(world):
    from fieldapp.sync import progress

    assert progress.group_standing(world.users["reporter"], utcnow()) is None  # a school
    assert progress.group_standing(world.users["officer"], utcnow()) is None  # no unit
    standing = progress.group_standing(world.users["member3"], utcnow())
    assert standing.line == "Khu dân cư số 2: 0/80" and standing.percent == 0


def test_the_outbox_benchmark_still_runs(capsys):
    from bench import outbox_bench

    figures = outbox_bench.main(["--wards", "2", "--phones", "3"])
    assert set(figures) == {"ward list ms", "city figures ms", "card ms"}
    assert "2 wards × 3 phones" in capsys.readouterr().out
