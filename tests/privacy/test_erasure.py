"""Privacy: erasing one resident on request, purging after retention, backups, consent wording.

The resident's name and phone below are made up (the same as tests/sync/test_contract.py's sample).
"""

from __future__ import annotations

import io
import json
import sqlite3
import threading
import unicodedata
import uuid
import zipfile
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from fieldapp.extensions import db
from fieldapp.models import Assist, AuditEvent, Campaign, ConsentText, Participant, UnitReport, User
from fieldapp.privacy import erasure
from fieldapp.sync import contract
from fieldapp.tally import counts
from fieldapp.text import fmt_datetime, local_today, resident_key_for
from tests.sync.test_api import bearer, enrol_phone, post_sync
from tests.sync.test_contract import assist
from tests.tally_world import add_assist

NAME = "Nguyễn Thị Hoa"
PHONE = "0912345678"
NOTE = "Mắt kém, cần chữ to"
NEEDLES = (
    NAME,
    unicodedata.normalize("NFD", NAME),
    "nguyen thi hoa",
    "Nguyen Thi Hoa",
    PHONE,
    "0912 345 678",
    "+84912345678",
    NOTE,
)


def leaks(text: str) -> list[str]:
    """The needles found in a text (case-insensitive for the folded forms)."""
    low = text.lower()
    return [n for n in NEEDLES if n in text or n.lower() in low]


def others(world) -> None:
    """A few other residents of the ward (made-up names), so pages have figures."""
    now = datetime(2025, 10, 20, 3, 0)
    add_assist(
        world, "kdc1", "member2", name="Trần Văn Bình", birth_year=1950,
        phone="0987654321", steps=["installed", "registered", "tested"], attempts=2, received=now,
    )  # fmt: skip
    add_assist(
        world, "kdc2", "member3", name="Lê Thị Cúc", birth_year=1961,
        steps=["installed"], received=now + timedelta(hours=1),
    )  # fmt: skip
    db.session.commit()


@pytest.fixture
def hoa(client, world):
    """Hoa logged from the member's phone (rev 1, then an edit as rev 2), among others."""
    others(world)
    token = enrol_phone(client, world)
    rid = str(uuid.uuid4())
    first = assist(world, rid=rid, rev=1)
    edit = assist(world, rid=rid, rev=2, note=NOTE + " (đã gọi lại)")
    for record in (first, edit):
        response = post_sync(client, token, {"records": [record]})
        assert response.get_json()["results"][0]["status"] == "stored"
    world.extra.update(token=token, rid=rid)
    return world


def figures(world):
    totals = counts.totals(world.campaign)
    per_unit = counts.by_unit(world.campaign)
    return (
        (totals.assists, totals.residents, totals.attempts, dict(totals.steps)),
        {u: (c.residents, c.attempts, dict(c.steps)) for u, c in per_unit.items()},
    )


def login(client, world, who):
    client.post("/logout")
    client.post("/login", data={"username": world.users[who].username, "password": "mat-khau-123"})


def search(client, query: str) -> str:
    """The privacy screen's search, as the officer's browser sends it (a POST)."""
    response = client.post("/privacy/", data={"q": query})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def erase_via_screens(client, world) -> None:
    login(client, world, "officer")
    page = search(client, "nguyen thi hoa")
    assert NAME in page and "***678" in page and PHONE not in page
    rid = world.extra["rid"]
    # First post: a confirmation page, nothing erased yet.
    ask = client.post("/privacy/erase", data={"record": [rid]})
    assert ask.status_code == 200 and "không hoàn tác được" in ask.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).where(Assist.erased_at.is_not(None))) == 0
    done = client.post("/privacy/erase", data={"record": [rid], "confirm": "1"})
    assert done.status_code == 302


def every_answer(client, world) -> dict[str, str]:
    """Every page, download and API answer that could show a resident, as text."""
    out = {}
    login(client, world, "officer")
    for url in ("/reports/", "/reports/print", "/admin/", "/privacy/",
                "/reports/units.csv", "/reports/assists.csv",
                "/reports/difficulties.csv"):  # fmt: skip
        response = client.get(url, buffered=True)
        assert response.status_code == 200, url
        out[url] = response.get_data().decode("utf-8-sig")
    out["search hoa"] = search(client, "hoa")
    xlsx = client.get("/reports/ward.xlsx", buffered=True)
    assert xlsx.status_code == 200
    with zipfile.ZipFile(io.BytesIO(xlsx.get_data())) as book:
        out["ward.xlsx"] = "\n".join(
            book.read(n).decode("utf-8", "replace") for n in book.namelist()
        )
    login(client, world, "head")
    for url in ("/unit", "/reports/assists.csv"):
        response = client.get(url, buffered=True)
        assert response.status_code == 200, url
        out[f"head {url}"] = response.get_data().decode("utf-8-sig")
    client.post("/logout")
    api = client.get("/api/v1/records", headers=bearer(world.extra["token"]))
    assert api.status_code == 200
    out["api records"] = json.dumps(api.get_json(), ensure_ascii=False)
    rows = db.session.execute(sa.select(Assist.__table__)).all()
    out["assists rows"] = "\n".join(repr(tuple(r)) for r in rows)
    events = db.session.scalars(sa.select(AuditEvent)).all()
    out["audit"] = "\n".join(
        json.dumps(
            {c.name: getattr(e, c.name) for c in AuditEvent.__table__.columns},
            ensure_ascii=False,
            default=str,
        )
        for e in events
    )
    return out


# --- erasure ---------------------------------------------------------------------------------


def test_erased_values_appear_nowhere_and_the_figures_stay(client, hoa):
    before = every_answer(client, hoa)
    # The check can see the values where they are (else it would prove nothing).
    assert leaks(before["/reports/assists.csv"]) and leaks(before["api records"])
    assert leaks(before["assists rows"]) and leaks(before["search hoa"])
    counted = figures(hoa)

    erase_via_screens(client, hoa)

    after = every_answer(client, hoa)
    found = {where: leaks(text) for where, text in after.items() if leaks(text)}
    assert found == {}
    assert figures(hoa) == counted
    assert erasure.find_residents(hoa.users["officer"], PHONE) == []
    # Both revisions are blank, erased, and still counted as they were.
    rows = db.session.scalars(sa.select(Assist).where(Assist.record_id == hoa.extra["rid"])).all()
    assert len(rows) == 2
    for row in rows:
        assert (row.full_name, row.name_key, row.birth_year, row.phone, row.note) == (None,) * 5
        assert row.erased_at is not None
        assert row.gender is None  # cleared too (issue 17)
        assert row.attempts == 1 and row.consent_version == 1
    # The other residents are untouched.
    assert "Trần Văn Bình" in after["/reports/assists.csv"]
    # The audit event has counts only, and the screen shows when the request was met.
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "resident_erased"))
    assert event.detail == {"records": 1, "revisions": 2}
    assert event.actor_id == hoa.users["officer"].id and event.ward_id == hoa.ward.id
    assert fmt_datetime(event.at) in after["/privacy/"]


def test_a_later_edit_from_the_phone_stays_erased(client, hoa):
    erase_via_screens(client, hoa)
    rid = hoa.extra["rid"]
    again = assist(hoa, rid=rid, rev=3, attempts=3)  # the phone still holds the name and phone
    response = post_sync(client, hoa.extra["token"], {"records": [again]})
    assert response.get_json()["results"][0]["status"] == "stored"
    current = db.session.scalar(sa.select(Assist).where(Assist.record_id == rid, Assist.is_current))
    assert current.rev == 3 and current.attempts == 3
    assert (current.full_name, current.phone, current.birth_year, current.note) == (None,) * 4
    assert current.erased_at is not None
    api = client.get("/api/v1/records", headers=bearer(hoa.extra["token"]))
    assert leaks(json.dumps(api.get_json(), ensure_ascii=False)) == []


def test_search_is_accent_insensitive_and_by_phone_within_the_ward(client, hoa):
    for query in ("NGUYỄN thị hoa", "nguyen thi hoa", "hoa", "+84 912 345 678", "0912.345.678"):
        residents = erasure.find_residents(hoa.users["officer"], query)
        assert [r.full_name for r in residents] == [NAME], query
        assert residents[0].records == 1 and residents[0].phone == PHONE
    assert erasure.find_residents(hoa.users["officer"], "bình")[0].full_name == "Trần Văn Bình"
    assert erasure.find_residents(hoa.users["other_officer"], "hoa") == []
    assert erasure.find_residents(hoa.users["officer"], "h") == []
    assert erasure.find_residents(hoa.users["officer"], "%") == []
    # The other ward's officer cannot erase ward A's resident, even by posting its id.
    erased = erasure.erase_records(hoa.users["other_officer"], [hoa.extra["rid"]])
    assert erased.records == 0
    assert db.session.scalar(sa.select(sa.func.count()).where(Assist.erased_at.is_not(None))) == 0
    # A too-short search says so next to the field; nothing breaks.
    login(client, hoa, "officer")
    page = search(client, "a")
    assert "ít nhất 2 chữ cái" in page


def test_the_consent_shown_is_the_version_the_assist_was_recorded_under(client, hoa):
    campaign = hoa.campaign
    first = campaign.consent(1).text
    db.session.add(ConsentText(campaign_id=campaign.id, version=2, text="Nội dung đồng ý mới."))
    campaign.consent_version = 2
    db.session.commit()
    row = db.session.scalar(sa.select(Assist).where(Assist.record_id == hoa.extra["rid"]))
    assert row.consent is True and row.consent_version == 1
    assert erasure.consent_for(row).text == first
    # A revision sent after the wording changed keeps the version read out at the first one.
    later = assist(hoa, rid=hoa.extra["rid"], rev=3)
    post_sync(client, hoa.extra["token"], {"records": [later]})
    current = db.session.scalar(
        sa.select(Assist).where(Assist.record_id == hoa.extra["rid"], Assist.is_current)
    )
    assert current.rev == 3 and current.consent_version == 1
    login(client, hoa, "officer")
    page = search(client, "hoa")
    assert "Phiên bản 1" in page and first.split("\n")[0] in page
    assert "Nội dung đồng ý mới." not in page
    # The campaign screen lists every version's exact wording.
    screen = client.get("/admin/campaign").get_data(as_text=True)
    assert "Phiên bản 1" in screen and "Phiên bản 2" in screen and "Nội dung đồng ý mới." in screen


def test_an_erase_post_without_records_or_for_an_erased_one_changes_nothing(client, hoa):
    login(client, hoa, "officer")
    response = client.post("/privacy/erase", data={"record": ["not-an-id"], "confirm": "1"})
    assert response.status_code == 302
    erase_via_screens(client, hoa)
    again = client.post("/privacy/erase", data={"record": [hoa.extra["rid"]], "confirm": "1"})
    assert again.status_code == 302
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "resident_erased")
    ).all()
    assert len(events) == 1


def test_counts_stay_for_a_resident_with_several_records(client, world):
    """Needs the pseudonymous Assist.resident_key (tally engineer) to count erased residents."""
    if "resident_key" not in Assist.__table__.c:
        pytest.skip("Assist.resident_key is not there yet")
    from tests.tally_world import build_records

    build_records(world)
    db.session.commit()
    counted = figures(world)
    residents = erasure.find_residents(world.users["officer"], PHONE)
    ids = residents[0].record_ids
    guessable = resident_key_for(PHONE, None, None, None, "")
    keys = set(db.session.scalars(sa.select(Assist.resident_key).where(Assist.record_id.in_(ids))))
    assert keys == {guessable}  # before: anyone could recompute it from the phone number
    erasure.erase_records(world.users["officer"], ids)
    db.session.commit()
    assert figures(world) == counted
    # After: one fresh random key for the resident, shared by all their rows.
    keys = set(db.session.scalars(sa.select(Assist.resident_key).where(Assist.record_id.in_(ids))))
    assert len(keys) == 1 and guessable not in keys
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(Assist.resident_key == guessable)) == 0
    )


# --- purge -----------------------------------------------------------------------------------


def _unit_list(world) -> UnitReport:
    report = UnitReport(unit_id=world.units["school"].id, campaign_id=world.campaign.id,
                        completed=2, attempts=3)  # fmt: skip
    db.session.add(report)
    db.session.flush()
    db.session.add_all(
        [
            Participant(report_id=report.id, full_name=NAME, group_name="6A", kind="pupil"),
            Participant(report_id=report.id, full_name="Phạm Văn Dũng", kind="teacher"),
        ]
    )
    db.session.commit()
    return report


def test_purge_clears_personal_fields_past_retention_and_is_idempotent(app, runner, hoa):
    report = _unit_list(hoa)
    hoa.campaign.retention_until = local_today() - timedelta(days=1)
    hoa.other_campaign.retention_until = local_today() + timedelta(days=30)
    other = add_assist(hoa, "kdc1", "member", name="Đặng Thị Yến", phone="0900000001",
                       steps=["installed"], received=datetime(2025, 10, 21))  # fmt: skip
    other.campaign_id = hoa.other_campaign.id  # stands for a campaign still within retention
    db.session.commit()
    counted = figures(hoa)
    old_keys = set(db.session.scalars(sa.select(Assist.resident_key)))
    from fieldapp.reports import participants

    kinds = participants.summary(report)

    dry = runner.invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Chạy thử" in dry.output and "2 tên" in dry.output
    assert db.session.scalar(sa.select(sa.func.count()).where(Assist.erased_at.is_not(None))) == 0

    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert f"Cuộc thi số {hoa.campaign.id}" in result.output
    assert f"Cuộc thi số {hoa.other_campaign.id}" not in result.output
    rows = db.session.scalars(sa.select(Assist).where(Assist.campaign_id == hoa.campaign.id)).all()
    assert rows and all(r.full_name is None and r.phone is None and r.erased_at for r in rows)
    assert leaks(repr(db.session.execute(sa.select(Assist.__table__)).all())) == []
    assert db.session.get(Assist, other.id).full_name == "Đặng Thị Yến"  # not yet due
    assert figures(hoa) == counted
    # Purged rows no longer carry a key that could be recomputed from a phone or a name.
    assert not {r.resident_key for r in rows} & old_keys
    assert participants.summary(report) == kinds
    names = db.session.scalars(sa.select(Participant.full_name)).all()
    assert names == [None, None]
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "campaign_purged"))
    assert event.detail == {"records": 3, "revisions": 4, "participants": 2}
    assert leaks(json.dumps(event.detail, ensure_ascii=False)) == []

    again = runner.invoke(args=["purge"])
    assert again.exit_code == 0 and "0 lượt hỗ trợ (0 phiên bản) và 0 tên" in again.output
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "campaign_purged"))
        == 1
    )


def test_purge_of_one_campaign_not_yet_due_does_nothing(runner, hoa):
    hoa.campaign.retention_until = local_today()  # the last day to keep: not passed yet
    db.session.commit()
    result = runner.invoke(args=["purge", "--campaign", str(hoa.campaign.id)])
    assert result.exit_code == 0 and "chưa đến hạn" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).where(Assist.erased_at.is_not(None))) == 0


def test_purge_re_clears_a_revision_that_raced_an_erasure(runner, hoa):
    rid = hoa.extra["rid"]
    erasure.erase_records(hoa.users["officer"], [rid])
    db.session.commit()
    # As if a phone's edit read the record before the erasure and wrote after it.
    row = db.session.scalar(sa.select(Assist).where(Assist.record_id == rid, Assist.rev == 2))
    row.full_name, row.phone, row.erased_at = NAME, PHONE, None
    db.session.commit()
    for campaign in (hoa.campaign, hoa.other_campaign):
        campaign.retention_until = local_today() + timedelta(days=30)  # not due: only the sweep
    db.session.commit()
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0 and "ở 1 phiên bản" in result.output, result.output
    assert erasure.sweep() == 0
    db.session.refresh(row)
    assert row.full_name is None and row.phone is None and row.erased_at is not None


# --- backup ----------------------------------------------------------------------------------


def _write_in_thread(app, user_id: int, committed: list[str], stop: threading.Event) -> None:
    with app.app_context():
        user = db.session.get(User, user_id)
        world_unit = user.unit_id
        while not stop.is_set() and len(committed) < 400:
            rid = str(uuid.uuid4())
            record = {
                "id": rid,
                "rev": 1,
                "type": "assist",
                "recorded_at": "2025-10-20T09:00:00+07:00",
                "data": {"full_name": "Người dân thử", "unit_id": world_unit,
                         "category": "elderly", "steps": ["installed"], "consent": True},
            }  # fmt: skip
            answer = contract.sync_records([record], user)
            assert answer["results"][0]["status"] == "stored"
            committed.append(rid)
        db.session.remove()


def test_sqlite_backup_while_the_app_writes(app, runner, world, backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("the SQLite online backup")
    committed: list[str] = []
    stop = threading.Event()
    writer = threading.Thread(
        target=_write_in_thread, args=(app, world.users["member"].id, committed, stop)
    )
    writer.start()
    try:
        while len(committed) < 20:
            threading.Event().wait(0.01)
        before = list(committed)
        target = tmp_path / "backup.sqlite"
        result = runner.invoke(args=["backup", str(target)])
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    assert "integrity_check: ok" in result.output
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    copy.close()
    from tests.conftest import make_app

    fresh = make_app("sqlite", tmp_path / "unused", DATABASE_URL=f"sqlite:///{target}")
    with fresh.app_context():
        found = set(db.session.scalars(sa.select(Assist.record_id)))
        assert set(before) <= found  # every record committed before the backup began
        assert found <= set(committed)  # and nothing half-written
        assert db.session.scalar(sa.select(Campaign.name)) == world.campaign.name
        db.engine.dispose()
    # A second backup to the same path refuses to overwrite the first.
    again = runner.invoke(args=["backup", str(target)])
    assert again.exit_code == 1 and "đã có" in again.output


def test_postgres_backup_with_pg_dump(runner, hoa, backend, tmp_path):
    if backend != "postgres":
        pytest.skip("pg_dump")
    import shutil
    import subprocess

    if shutil.which("pg_dump") is None:
        result = runner.invoke(args=["backup", str(tmp_path / "x.dump")])
        assert result.exit_code == 1 and "pg_restore" in result.output
        return
    target = tmp_path / "fieldapp.dump"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:5] == b"PGDMP"
    listing = subprocess.run(
        ["pg_restore", "--list", str(target)], capture_output=True, text=True, check=True
    ).stdout
    assert "TABLE DATA public assists" in listing


def test_an_erase_without_the_csrf_token_is_refused(app, client, hoa):
    login(client, hoa, "officer")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(
            "/privacy/erase", data={"record": [hoa.extra["rid"]], "confirm": "1"}
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400  # the app-wide CSRF check answers first
    assert db.session.scalar(sa.select(sa.func.count()).where(Assist.erased_at.is_not(None))) == 0
