"""Privacy that reaches every copy (issue 17): the logs, older revisions, the database files,
the counting key, the consent shown, file modes.

The residents are made up (the same as tests/privacy/test_erasure.py's).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import stat
import threading
import time
import unicodedata
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote, quote_plus

import flask_migrate
import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from fieldapp.config import ConfigError, key_secret
from fieldapp.extensions import db
from fieldapp.models import Assist, AuditEvent, Campaign, ConsentText, Difficulty, TallyAtom
from fieldapp.privacy import erasure
from fieldapp.tally import counts, store
from fieldapp.text import local_today, mask_numbers, resident_key_for
from tests.conftest import make_app
from tests.fleet import Gunicorn
from tests.privacy.test_erasure import (  # noqa: F401 - hoa is a fixture
    NAME,
    NOTE,
    PHONE,
    erase_via_screens,
    figures,
    hoa,
    login,
    others,
    search,
)
from tests.sync.test_api import enrol_phone, post_sync
from tests.sync.test_contract import assist, difficulty, rows, run
from tests.tally_world import add_assist
from tests.test_migrations import empty_database_url  # noqa: F401 - a fixture
from tests.test_ops import CONFIG, Browser
from tests.world import PASSWORD, build_world

KEY_SECRET = "test-key-secret-" + "k" * 32

# What a search would write into a request line: the phone, the name typed, URL-encoded.
SEARCHED = (PHONE, "0912 345 678", NAME, quote(NAME), quote_plus(NAME), "nguyen+thi+hoa",
            "nguyen%20thi%20hoa", "nguyen thi hoa")  # fmt: skip


def personal_in(log: str) -> list[str]:
    low = log.lower()
    return [value for value in SEARCHED if value.lower() in low]


def csrf(page: str) -> str:
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token, page[:500]
    return token.group(1)


# --------------------------------------------------------------------------- item 3: logs


def test_a_real_servers_log_holds_no_personal_search(app, hoa, tmp_path: Path) -> None:  # noqa: F811
    """gunicorn with gunicorn.conf.py, in production mode: the officer searches by phone and
    by name (POST), an old bookmark asks `?q=` by GET, the people list is searched with `?q=`;
    the access log has each request line, and none of the searched values."""
    db.session.commit()
    server = Gunicorn(
        app.config["SQLALCHEMY_DATABASE_URI"],
        tmp_path / "gunicorn.log",
        workers=1,
        config=CONFIG,
        env={
            "FIELDAPP_ENV": "production",
            "SECRET_KEY": "logs-test-" + "s" * 40,
            "FIELDAPP_RATELIMIT_STORAGE_URI": "memory://",
            "FIELDAPP_KEY_SECRET": KEY_SECRET,
        },
    )
    try:
        server.start()
        browser = Browser(server.port)
        status, _, _ = browser.login(hoa.users["officer"].username, PASSWORD)
        assert status == 302
        _, _, page = browser.send("GET", "/privacy/")
        for query in (PHONE, "0912 345 678", NAME, "nguyen thi hoa"):
            status, _, page = browser.send(
                "POST", "/privacy/", {"csrf_token": csrf(page), "q": query}
            )
            assert status == 200 and NAME in page, query  # found: the search itself works
        status, headers, _ = browser.send("GET", "/privacy/?q=" + quote_plus(NAME))
        assert status == 302 and headers["Location"] == "/privacy/"  # never searched by GET
        browser.send("GET", f"/privacy/?q={PHONE}&x=1")
        browser.send("GET", "/admin/people?q=" + quote(NAME))
        browser.send("GET", "/healthz?last=1")
        deadline = time.monotonic() + 10  # a line is written just after its answer
        while "/healthz?last=1" not in server.tail() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.stop()
    log = server.tail()
    assert 'POST /privacy/ HTTP/1.1" 200' in log
    assert 'GET /privacy/?[redacted] HTTP/1.1" 302' in log
    assert "GET /admin/people?q=[redacted] HTTP/1.1" in log
    assert personal_in(log) == []


def test_the_development_servers_log_and_the_apps_own_redact_searches(app) -> None:
    """werkzeug's request log (flask run) and the fieldapp loggers go through the filter."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    keep = Keep()
    for name in ("werkzeug", "fieldapp.sync.api", "fieldapp"):
        logging.getLogger(name).addHandler(keep)
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        import http.client

        for path in (f"/privacy/?q={PHONE}", "/privacy/?q=" + quote(NAME), "/x?q=" + PHONE):
            conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
        logging.getLogger("fieldapp.sync.api").warning("request to %s", f"/privacy/?q={PHONE}")
        app.logger.warning("searched /privacy/?q=%s", quote(NAME))
    finally:
        server.shutdown()
        thread.join(5)
        for name in ("werkzeug", "fieldapp.sync.api", "fieldapp"):
            logging.getLogger(name).removeHandler(keep)
    text = "\n".join(lines)
    assert text.count("/privacy/?[redacted]") >= 4 and "/x?q=[redacted]" in text
    assert personal_in(text) == []


# --------------------------------------------------------------------------- item 4: revisions

OTHER = "Phạm Văn Lộc"  # made up: whom the entry was corrected to
OTHER_PHONE = "0933111222"


@pytest.fixture
def corrected(client, world):
    """An entry logged for Hoa (rev 1), then corrected on the phone to another person (rev 2)."""
    others(world)
    token = enrol_phone(client, world)
    rid = str(uuid.uuid4())
    first = assist(world, rid=rid, rev=1)
    fixed = assist(world, rid=rid, rev=2, full_name=OTHER, phone=OTHER_PHONE, note="Đã sửa")
    for record in (first, fixed):
        assert (
            post_sync(client, token, {"records": [record]}).get_json()["results"][0]["status"]
            == "stored"
        )
    world.extra.update(token=token, rid=rid)
    return world


def revisions(rid: str) -> list[Assist]:
    return list(
        db.session.scalars(sa.select(Assist).where(Assist.record_id == rid).order_by(Assist.rev))
    )


def test_a_person_only_in_an_older_revision_is_found_and_erased_there_only(client, corrected):
    world = corrected
    officer = world.users["officer"]
    rid = world.extra["rid"]
    before = figures(world)
    for query in (PHONE, "nguyen thi hoa"):
        found = erasure.find_residents(officer, query)
        assert [r.full_name for r in found] == [NAME], query
        assert found[0].record_ids == [] and found[0].older_only == 1
    login(client, world, "officer")
    page = search(client, PHONE)
    assert NAME in page and "chỉ có ở phiên bản cũ" in page
    row_id = revisions(rid)[0].id
    assert f'name="revision" value="{row_id}"' in page
    ask = client.post("/privacy/erase", data={"revision": [str(row_id)]})
    assert ask.status_code == 200 and "chỉ ở phiên bản cũ" in ask.get_data(as_text=True)
    done = client.post("/privacy/erase", data={"revision": [str(row_id)], "confirm": "1"})
    assert done.status_code == 302
    first, second = revisions(rid)
    assert (first.full_name, first.phone, first.name_key, first.birth_year, first.note) == (
        None, None, None, None, None,
    )  # fmt: skip
    assert first.resident_key != resident_key_for(PHONE, None, None, None, rid)
    # The person it was corrected to keeps their data, and can still be found and edited.
    assert (second.full_name, second.phone, second.erased_at) == (OTHER, OTHER_PHONE, None)
    assert [r.full_name for r in erasure.find_residents(officer, OTHER_PHONE)] == [OTHER]
    assert erasure.find_residents(officer, PHONE) == []
    assert "Không tìm thấy người dân" in search(client, "nguyen thi hoa")
    assert figures(world) == before
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "resident_erased"))
    assert event.detail == {"records": 1, "revisions": 1}
    later = assist(world, rid=rid, rev=3, full_name=OTHER, phone=OTHER_PHONE, note="Lần 3")
    post_sync(client, world.extra["token"], {"records": [later]})
    assert revisions(rid)[-1].full_name == OTHER


def test_a_current_match_erases_every_revision_and_other_records_stay(client, corrected):
    world = corrected
    officer = world.users["officer"]
    # The corrected-to person: found by the current revision, erased from every revision.
    found = erasure.find_residents(officer, OTHER_PHONE)
    assert found[0].record_ids == [world.extra["rid"]] and found[0].revisions == []
    erasure.erase_records(officer, found[0].record_ids)
    db.session.commit()
    assert all(r.full_name is None and r.erased_at for r in revisions(world.extra["rid"]))
    assert erasure.find_residents(officer, PHONE) == []
    # A forged revision id of another ward or a current row changes nothing.
    other = erasure.find_residents(officer, "binh")[0]
    current_row = db.session.scalar(
        sa.select(Assist.id).where(Assist.record_id == other.record_ids[0], Assist.is_current)
    )
    assert erasure.erase_records(world.users["other_officer"], [], revision_ids=[1, 2]).records == 0
    assert erasure.erase_records(officer, [], revision_ids=[current_row]).records == 0


# --------------------------------------------------------------------------- item 7: the key


def test_counting_keys_are_keyed_with_a_secret_outside_the_database(app, tmp_path: Path) -> None:
    assert app.config["FIELDAPP_KEY_SECRET"] == KEY_SECRET  # tests set one (conftest)
    plain = hashlib.sha256(b"p" + PHONE.encode()).hexdigest()[:32]
    keyed = resident_key_for(PHONE, None, None, None, "r")
    assert keyed != plain and keyed == resident_key_for(PHONE, "x", 1950, 3, "other")
    assert keyed != resident_key_for(PHONE, None, None, None, "r", secret="another-" + "s" * 32)
    # Without the setting: instance/key_secret, made once with mode 0600, read back after.
    made = key_secret(None, tmp_path / "instance")
    path = tmp_path / "instance" / "key_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(made) == 64
    assert key_secret(None, tmp_path / "instance") == made
    assert key_secret("from-the-environment-" + "e" * 20, tmp_path / "none").startswith("from")
    with pytest.raises(ConfigError, match="FIELDAPP_KEY_SECRET"):
        key_secret("short", tmp_path)


def _plain_key(row) -> str:
    """The counting key before this change: SHA-256 of the identity, no secret."""
    if row.phone:
        identity = "p" + row.phone
    elif row.name_key is not None:
        identity = (
            f"n{row.name_key}|{'' if row.birth_year is None else row.birth_year}|{row.unit_id}"
        )
    else:
        identity = "r" + row.record_id
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def test_the_migration_re_keys_a_populated_database_and_the_figures_stay(
    backend,
    empty_database_url,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    app = make_app(backend, tmp_path, DATABASE_URL=empty_database_url)
    with app.app_context():
        flask_migrate.upgrade(revision="f1a2b3c4d5e6")
        # Today's models write campaigns.after_end (a later revision, not run here): added.
        db.session.execute(sa.text("ALTER TABLE campaigns ADD COLUMN after_end VARCHAR(12)"))
        db.session.commit()
        world = build_world()
        day = datetime(2025, 10, 20, 3, 0)
        for i, (name, phone, year) in enumerate(
            [(NAME, PHONE, 1954), (NAME, PHONE, 1954), ("Trần Văn Bình", None, 1950),
             ("Trần Văn Bình", None, 1950), ("Lê Thị Cúc", "0987654321", None), (None, None, None)]
        ):  # fmt: skip
            add_assist(world, "kdc1" if i % 2 else "kdc2", "member", name=name, phone=phone,
                       birth_year=year, steps=["installed", "tested"], attempts=1,
                       received=day + timedelta(hours=i))  # fmt: skip
        edited = add_assist(world, "kdc1", "member", name="Vũ Thị Yến", steps=["installed"],
                            received=day, phone="0933000111")  # fmt: skip
        add_assist(world, "kdc1", "member", name="Vũ Thị Yến", steps=["installed", "registered"],
                   received=day + timedelta(days=1), record_id=edited.record_id)  # fmt: skip
        gone = add_assist(world, "kdc2", "member", name="Đỗ Văn Sơn", phone="0944555666",
                          steps=["installed"], received=day)  # fmt: skip
        db.session.commit()
        erasure.erase_records(world.users["officer"], [gone.record_id])
        db.session.commit()
        # The database as it was before: plain SHA-256 keys on every row not erased.
        live = db.session.scalars(sa.select(Assist).where(Assist.erased_at.is_(None))).all()
        for row in live:
            row.resident_key = _plain_key(row)
        db.session.commit()
        campaign, ward_id = world.campaign, world.ward.id
        store.catch_up(campaign, ward_id)
        before = store.stored_rows(campaign.id, ward_id)
        old_keys = {_plain_key(row) for row in live}
        erased_key = db.session.scalar(sa.select(Assist.resident_key).where(Assist.id == gone.id))
        assert before == store.counted_afresh(campaign, ward_id)
        gone_id, campaign_id = gone.id, campaign.id

        flask_migrate.upgrade(revision="f2b8c4d6e1a9")  # the revision under test
        db.session.expire_all()
        rows = db.session.scalars(sa.select(Assist)).all()
        for row in rows:
            if row.erased_at is None:
                assert row.resident_key == resident_key_for(
                    row.phone, row.name_key, row.birth_year, row.unit_id, row.record_id
                )
        assert db.session.scalar(sa.select(Assist.resident_key).where(Assist.id == gone_id)) == (
            erased_key
        )  # an erased resident's random key stays
        atoms = set(db.session.scalars(sa.select(TallyAtom.resident_key)))
        assert not ({r.resident_key for r in rows} | atoms) & old_keys  # no plain key left
        campaign = db.session.get(Campaign, campaign_id)
        assert store.stored_rows(campaign.id, ward_id) == before  # even before a fold
        store.catch_up(campaign, ward_id)
        assert store.stored_rows(campaign.id, ward_id) == before
        assert store.counted_afresh(campaign, ward_id) == before
        # End this session's read transaction: a later migration's DROP INDEX (PostgreSQL's
        # ACCESS EXCLUSIVE lock) would wait for it for ever.
        db.session.commit()
        flask_migrate.downgrade(revision="f1a2b3c4d5e6")  # and back
        db.session.expire_all()
        assert {
            r.resident_key
            for r in db.session.scalars(sa.select(Assist).where(Assist.erased_at.is_(None)))
        } == old_keys
        db.session.remove()
        db.engine.dispose()


# --------------------------------------------------------------------------- item 6: consent


def test_the_consent_version_the_phone_showed_is_stored_and_an_unknown_one_refused(world):
    campaign = world.campaign
    db.session.add(ConsentText(campaign_id=campaign.id, version=2, text="Nội dung đồng ý mới."))
    campaign.consent_version = 2
    db.session.commit()
    offline = assist(world, consent_version=1)  # a phone offline since the wording changed
    fresh = assist(world, consent_version=2)
    old_phone = assist(world)  # a phone from before the field: today's rule
    unknown = assist(world, consent_version=9)
    text = assist(world, consent_version="1")
    results = run(world, [offline, fresh, old_phone, unknown, text])
    assert [r["status"] for r in results] == ["stored", "stored", "stored", "invalid", "invalid"]
    for answer in results[3:]:
        assert list(answer["errors"]) == ["data.consent_version"]
        assert "Nội dung đồng ý" in answer["errors"]["data.consent_version"]
    stored = {row.record_id: row.consent_version for row in rows()}
    assert stored == {offline["id"]: 1, fresh["id"]: 2, old_phone["id"]: 2}
    # A correction keeps the version of the entry's first revision.
    edit = assist(world, rid=offline["id"], rev=2, consent_version=2, note="Đã sửa")
    assert run(world, [edit])[0]["status"] == "stored"
    assert {r.rev: r.consent_version for r in rows(record_id=offline["id"])} == {1: 1, 2: 1}
    # Another campaign's version is unknown to this one.
    other = world.other_campaign
    db.session.add(ConsentText(campaign_id=other.id, version=5, text="Khác."))
    db.session.commit()
    assert run(world, [assist(world, consent_version=5)])[0]["status"] == "invalid"


def test_the_openapi_document_describes_consent_version(client):
    schema = client.get("/api/v1/openapi.json").get_json()
    field = schema["components"]["schemas"]["AssistData"]["properties"]["consent_version"]
    assert field["type"] == ["integer", "null"] and "invalid" in field["description"]


# --------------------------------------------------------------------------- item 10: modes


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_sqlite_files_and_backups_are_written_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)  # a usual umask: files would be 0644
    try:
        fresh = tmp_path / "fresh.sqlite"
        app = make_app("sqlite", tmp_path, DATABASE_URL=f"sqlite:///{fresh}")
        with app.app_context():
            db.create_all()
            db.session.execute(sa.text("CREATE TABLE t (x TEXT)"))
            db.session.execute(sa.text("INSERT INTO t VALUES ('x')"))
            db.session.commit()
            files = [fresh, Path(f"{fresh}-wal"), Path(f"{fresh}-shm")]
            assert all(f.exists() for f in files)
            assert [mode(f) for f in files] == [0o600] * 3
            target = tmp_path / "backup.sqlite"
            result = app.test_cli_runner().invoke(args=["backup", str(target)])
            assert result.exit_code == 0, result.output
            assert mode(target) == 0o600
            db.engine.dispose()
        # A database made world-readable before this change is narrowed at start.
        fresh.chmod(0o644)
        make_app("sqlite", tmp_path, DATABASE_URL=f"sqlite:///{fresh}")
        assert mode(fresh) == 0o600
    finally:
        os.umask(old)


def test_a_postgres_backup_is_written_0600(app, runner, world, backend, tmp_path: Path) -> None:
    if backend != "postgres" or shutil.which("pg_dump") is None:
        pytest.skip("PostgreSQL with pg_dump only")
    old = os.umask(0o022)
    try:
        target = tmp_path / "fieldapp.dump"
        result = runner.invoke(args=["backup", str(target)])
        assert result.exit_code == 0, result.output
        assert mode(target) == 0o600 and target.stat().st_size > 0
    finally:
        os.umask(old)


# --------------------------------------------------------------------------- item 2: files


def erased_values(world) -> list[bytes]:
    """What an erasure must leave nowhere, as UTF-8 bytes (the folded and decomposed forms,
    the phone, the notes, the old counting key)."""
    rid = world.extra["rid"]
    keys = set(db.session.scalars(sa.select(Assist.resident_key).where(Assist.record_id == rid)))
    values = [NAME, unicodedata.normalize("NFD", NAME), "nguyen thi hoa", PHONE, NOTE, *keys]
    return [v.encode() for v in values]


def sqlite_files(app) -> list[Path]:
    main = Path(db.engine.url.database)
    return [p for p in (main, Path(f"{main}-wal"), Path(f"{main}-shm")) if p.exists()]


def test_an_erasure_leaves_nothing_in_the_sqlite_files(app, client, hoa, backend) -> None:  # noqa: F811
    if backend != "sqlite":
        pytest.skip("SQLite's files; PostgreSQL below")
    login(client, hoa, "officer")
    assert client.get("/reports/").status_code == 200  # the tally folded: names in its atoms
    needles = erased_values(hoa)
    found = b"".join(p.read_bytes() for p in sqlite_files(app))
    assert all(needles[i] in found for i in (0, 2, 3, 4))  # there before (NFC, folded)
    erase_via_screens(client, hoa)
    files = sqlite_files(app)
    assert Path(f"{files[0]}-wal").stat().st_size == 0  # checkpointed and truncated
    for path in files:
        raw = path.read_bytes()
        assert [n for n in needles if n in raw] == [], path.name
    # Someone else's data is still there (the scan would find it).
    assert "Trần Văn Bình".encode() in files[0].read_bytes()


def test_a_purge_leaves_nothing_in_the_sqlite_files(app, runner, hoa, backend) -> None:  # noqa: F811
    if backend != "sqlite":
        pytest.skip("SQLite's files")
    hoa.campaign.retention_until = local_today() - timedelta(days=1)
    db.session.commit()
    everyone = [*erased_values(hoa), "Trần Văn Bình".encode(), b"0987654321"]
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0 and "Đã xóa" in result.output, result.output
    for path in sqlite_files(app):
        raw = path.read_bytes()
        assert [n for n in everyone if n in raw] == [], path.name


def _pg_pages(table: str) -> list[bytes]:
    pages = db.session.scalar(sa.text(f"SELECT pg_relation_size('{table}') / 8192"))
    return [
        bytes(db.session.scalar(sa.text(f"SELECT get_raw_page('{table}', {page})")))
        for page in range(pages)
    ]


def _pg_tuples(table: str) -> tuple[int, bytes]:
    """(dead tuples, the bytes of every tuple still in the table's pages, live or dead)."""
    dead, data = 0, []
    pages = db.session.scalar(sa.text(f"SELECT pg_relation_size('{table}') / 8192"))
    for page in range(pages):
        for flags, tuple_data in db.session.execute(
            sa.text(
                f"SELECT lp_flags, t_data FROM heap_page_items(get_raw_page('{table}', {page}))"
            )
        ):
            dead += flags == 3  # LP_DEAD: a dead version vacuum has not removed
            if tuple_data is not None:
                data.append(bytes(tuple_data))
    return dead, b"".join(data)


def test_postgres_vacuums_the_erased_rows_at_once(app, client, hoa, backend) -> None:  # noqa: F811
    """Right after the erasure no row version of the table's pages, live or dead, holds the
    erased values (read raw with pageinspect): neither SQL, nor a dump, nor anything reading
    the rows can bring them back. VACUUM does not zero the space it frees: the bytes stay in
    the pages' free space until PostgreSQL writes over them, and VACUUM FULL (the README's
    recipe for a quiet hour) rewrites the tables without them."""
    if backend != "postgres":
        pytest.skip("PostgreSQL")
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pageinspect")
    login(client, hoa, "officer")
    client.get("/reports/")
    needles = erased_values(hoa)
    assert any(n in _pg_tuples("assists")[1] for n in needles)  # there before
    erase_via_screens(client, hoa)
    db.session.commit()
    for table in erasure.SCRUBBED_TABLES:
        dead, tuples = _pg_tuples(table)
        assert (table, dead, [n for n in needles if n in tuples]) == (table, 0, [])
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM FULL " + ", ".join(erasure.SCRUBBED_TABLES))
    for table in erasure.SCRUBBED_TABLES:
        raw = b"".join(_pg_pages(table))
        assert [n for n in needles if n in raw] == [], table


# --------------------------------------------------------------------------- item 8: least data


def test_notes_and_difficulty_texts_keep_no_cccd_or_phone_number(world):
    note = "CCCD 001088012345, gọi 0912 345 678 hoặc +84912345678; sinh 1954, 12 người"
    records = [assist(world, note=note), difficulty(world, text="Con gái số 0987.654.321")]
    assert [r["status"] for r in run(world, records)] == ["stored", "stored"]
    (row,) = rows()
    assert row.note == ("CCCD [số đã ẩn], gọi [số đã ẩn] hoặc [số đã ẩn]; sinh 1954, 12 người")
    (problem,) = rows(Difficulty)
    assert problem.text == "Con gái số [số đã ẩn]"
    assert mask_numbers("mã 1234567890123, năm 2025") == "mã 1234567890123, năm 2025"


def test_group_heads_see_the_last_three_digits_and_erasure_clears_gender(client, hoa):  # noqa: F811
    login(client, hoa, "head")
    page = client.get("/unit").get_data(as_text=True)
    assert "0912***" not in page and PHONE not in page
    csv = client.get("/reports/assists.csv").get_data().decode("utf-8-sig")
    assert "***678" in csv and "0912" not in csv
    row = db.session.scalar(sa.select(Assist).where(Assist.record_id == hoa.extra["rid"]))
    assert row.gender == "female"
    erasure.erase_records(hoa.users["officer"], [hoa.extra["rid"]])
    db.session.commit()
    assert all(
        r.gender is None
        for r in db.session.scalars(sa.select(Assist).where(Assist.record_id == hoa.extra["rid"]))
    )


# --------------------------------------------------------------------------- item 5 (part)


def test_past_the_retention_date_entries_are_counted_without_personal_fields(world, client):
    campaign = world.campaign
    campaign.retention_until = local_today() - timedelta(days=1)
    db.session.commit()
    record = assist(world)
    assert run(world, [record])[0]["status"] == "stored"
    (row,) = rows()
    assert (row.full_name, row.phone, row.note, row.gender, row.birth_year) == (None,) * 5
    assert row.erased_at is not None and row.steps == ",installed,registered,tested,"
    assert counts.totals(db.session.get(Campaign, campaign.id)).assists == 1


@pytest.mark.parametrize(
    ("days", "expected"), [(30, None), (14, "Còn 14 ngày"), (0, "Còn 0 ngày"), (-1, "Đã quá hạn")]
)
def test_the_dashboard_warns_from_14_days_before_the_retention_date(
    client, world, days, expected
) -> None:
    world.campaign.retention_until = local_today() + timedelta(days=days)
    db.session.commit()
    notice = erasure.retention_notice(world.campaign, local_today())
    assert (notice is None) if expected is None else notice.startswith(expected)
    login(client, world, "officer")
    page = client.get("/reports/").get_data(as_text=True)
    assert ("hạn lưu trữ dữ liệu cá nhân" in page) == (expected is not None)


def test_a_systemd_timer_for_the_daily_purge_is_shipped() -> None:
    root = Path(__file__).resolve().parents[2] / "deploy"
    service = (root / "fieldapp-purge.service").read_text()
    timer = (root / "fieldapp-purge.timer").read_text()
    assert "flask --app app purge" in service and "Type=oneshot" in service
    assert "OnCalendar=" in timer and "Persistent=true" in timer


# --------------------------------------------------------------------------- item 9 (part)


def test_the_officer_gives_a_resident_a_copy_of_their_data(client, hoa):  # noqa: F811
    login(client, hoa, "officer")
    page = search(client, "nguyen thi hoa")
    assert "Tải dữ liệu của người này" in page
    response = client.post("/privacy/export", data={"record": [hoa.extra["rid"]]})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "du-lieu-ca-nhan-" in response.headers["Content-Disposition"]
    text = response.get_data().decode("utf-8-sig")
    assert NAME in text and "0912 345 678" in text and "1954" in text and "Nữ" in text
    assert "Phiên bản 1: " in text and hoa.campaign.consent(1).text.split("\n")[0] in text
    assert text.count("\r\n") == 2  # the header and the entry's current revision
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "resident_data_exported")
    )
    assert event.detail == {"records": 1, "revisions": 1}
    assert "cấp bản sao dữ liệu" in client.get("/privacy/").get_data(as_text=True)
    # Nothing for another ward's officer, nor once erased.
    login(client, hoa, "other_officer")
    assert client.post("/privacy/export", data={"record": [hoa.extra["rid"]]}).status_code == 302
    erasure.erase_records(hoa.users["officer"], [hoa.extra["rid"]])
    db.session.commit()
    login(client, hoa, "officer")
    assert client.post("/privacy/export", data={"record": [hoa.extra["rid"]]}).status_code == 302
