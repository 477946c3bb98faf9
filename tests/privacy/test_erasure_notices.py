"""Erasure notices to phones (issue 17, item 1): contract.erased_page and GET /api/v1/erased.

A phone keeps a cursor and asks which of its member's records were erased since; it drops
the personal fields from its copies (tests/browser/test_privacy_phone.py shows it does).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from fieldapp.extensions import db
from fieldapp.models import Assist
from fieldapp.privacy import erasure
from fieldapp.sync import contract
from fieldapp.text import utcnow
from tests.sync.test_api import API, assert_error, bearer, enrol_phone, post_sync
from tests.sync.test_contract import assist, rows, run

DAY = timedelta(days=1)


def log(world, who="member", count=1, **data):
    """`count` assists sent by `who`; their ids."""
    records = [assist(world, **data) for _ in range(count)]
    assert {r["status"] for r in run(world, records, who)} == {"stored"}
    return [r["id"] for r in records]


def erase(world, ids, now):
    erased = erasure.erase_records(world.users["officer"], ids, now=now)
    db.session.commit()
    return erased


def ask(world, cursor=None, now=None, who="member", **kwargs):
    return contract.erased_page(world.users[who], cursor, now or utcnow(), **kwargs)


def test_only_the_members_own_erased_records_are_listed(world):
    mine, kept = log(world), log(world)
    theirs = log(world, "member2")
    now = utcnow()
    erase(world, mine + theirs, now - timedelta(hours=1))
    page = ask(world)
    assert page["ids"] == mine  # not the other member's, not the record never erased
    assert page["fields"] == ["full_name", "birth_year", "gender", "phone", "note"]
    assert page["more"] is False and page["next"].startswith("e1.")
    assert ask(world, who="member2")["ids"] == theirs
    assert ask(world, who="member3")["ids"] == [] and kept not in page["ids"]
    assert ask(world, page["next"])["ids"] == []  # the cursor passed it


def test_a_phone_offline_for_days_hears_of_every_erasure_when_it_returns(world):
    first, second, third = log(world), log(world), log(world)
    now = utcnow()
    erase(world, first, now - 10 * DAY)
    cursor = ask(world, now=now - 9 * DAY)["next"]  # its last contact, nine days ago
    erase(world, second, now - 5 * DAY)
    erase(world, third, now - 2 * timedelta(hours=1))
    page = ask(world, cursor, now=now)
    assert page["ids"] == second + third
    assert ask(world, page["next"], now=now)["ids"] == []


def test_the_cursor_never_passes_an_erasure_that_may_still_be_committing(world):
    recent, old = log(world), log(world)
    now = utcnow()
    erase(world, old, now - timedelta(hours=1))
    erase(world, recent, now - timedelta(minutes=1))  # younger than ERASED_SETTLE
    page = ask(world, now=now)
    assert page["ids"] == old + recent
    again = ask(world, page["next"], now=now)
    assert again["ids"] == recent and again["next"] == page["next"]  # listed again, not passed
    later = ask(world, again["next"], now=now + contract.ERASED_SETTLE)
    assert later["ids"] == recent and ask(world, later["next"], now=now)["ids"] == []


def test_a_purge_is_paged_through_ties_without_a_loop_or_a_gap(world):
    ids = log(world, count=7)
    world.campaign.retention_until = date(2025, 12, 1)
    db.session.commit()
    (done,) = erasure.purge(date(2025, 12, 2), world.campaign.id)
    db.session.commit()
    assert done.records == 7  # one erased_at for all seven: the row id breaks the tie
    later = utcnow() + timedelta(hours=1)
    seen, cursor, pages = [], None, 0
    while True:
        page = ask(world, cursor, now=later, limit=3)
        seen += page["ids"]
        cursor, pages = page["next"], pages + 1
        if not page["more"]:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 7 and pages == 3


def test_a_later_edit_of_an_erased_record_is_stored_erased_and_told_again(world):
    (rid,) = log(world)
    now = utcnow()
    erase(world, [rid], now - timedelta(hours=1))
    cursor = ask(world, now=now)["next"]
    # The phone's waiting revision, sent after the erasure: once with the name it still had,
    # then (the phone dropped the fields) without any.
    named = assist(world, rid, rev=2, steps=["installed"])
    nameless = assist(world, rid, rev=3, full_name=..., phone=..., birth_year=..., gender=...,
                      note=..., steps=["installed", "registered"])  # fmt: skip
    assert [r["status"] for r in run(world, [named, nameless])] == ["stored", "stored"]
    current = rows(record_id=rid)[-1]
    assert (current.rev, current.full_name, current.phone, current.steps) == (
        3, None, None, ",installed,registered,"
    )  # fmt: skip
    assert ask(world, cursor)["ids"] == [rid]  # the phone hears of its own later revision
    # A record never erased still needs its name.
    (other,) = log(world)
    (result,) = run(world, [assist(world, other, rev=2, full_name=...)])
    assert result["status"] == "invalid" and "data.full_name" in result["errors"]


def test_bad_cursors_are_refused(world):
    for bad in ("x", "e1.1", "e1.1.1\n", "e1.١.1", "v1.1.1", "e1.12345678901234567.1", "e2.1.1"):
        with pytest.raises(contract.BadCursor):
            contract.parse_erased_cursor(bad)
    # The largest cursor the pattern allows is after everything, not an error.
    assert ask(world, "e1.9999999999999999.999999999999999")["ids"] == []


def test_the_read_is_one_range_of_its_own_index(world):
    log(world)
    compiled = (
        sa.select(Assist.id, Assist.record_id, Assist.erased_at)
        .where(Assist.user_id == 1, Assist.erased_at.is_not(None), Assist.is_current)
        .where(Assist.erased_at > utcnow())
        .order_by(Assist.erased_at, Assist.id)
        .limit(10)
    )
    bind = db.session.get_bind()
    sql = compiled.compile(bind, compile_kwargs={"literal_binds": True})
    if bind.dialect.name == "sqlite":
        explained = db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}"))
        plan = " ".join(str(r[-1]) for r in explained)
        assert "ix_assists_user_erased" in plan and "TEMP B-TREE" not in plan, plan
    else:
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(r[0] for r in db.session.execute(sa.text(f"EXPLAIN {sql}")))
        assert "ix_assists_user_erased" in plan and "Sort" not in plan, plan


# --- over HTTP ---------------------------------------------------------------------------------


def test_the_api_lists_the_phones_erased_records_and_refuses_a_bad_cursor(client, world):
    token = enrol_phone(client, world)
    other = enrol_phone(client, world, "member2")
    mine, theirs = assist(world), assist(world)
    assert post_sync(client, token, {"records": [mine]}).status_code == 200
    assert post_sync(client, other, {"records": [theirs]}).status_code == 200
    first = client.get(f"{API}/erased", headers=bearer(token)).get_json()
    assert first["ids"] == [] and first["next"] == "" and first["more"] is False
    erase(world, [mine["id"], theirs["id"]], utcnow() - timedelta(hours=1))
    page = client.get(f"{API}/erased?since=", headers=bearer(token)).get_json()
    assert page["ids"] == [mine["id"]]
    assert client.get(f"{API}/erased", headers=bearer(other)).get_json()["ids"] == [theirs["id"]]
    after = client.get(f"{API}/erased?since={page['next']}", headers=bearer(token))
    assert after.status_code == 200 and after.get_json()["ids"] == []
    for bad in ("nope", "e1.1.1%0A", "e1.-1.1", "e1.%D9%A3.1", "e1.1.1.1"):
        response = client.get(f"{API}/erased?since={bad}", headers=bearer(token))
        assert_error(response, 400, "bad_erased_cursor")
    assert client.get(f"{API}/erased").status_code == 401


def test_the_openapi_document_declares_the_notice_as_the_server_reads_it(client, world):
    doc = client.get(f"{API}/openapi.json").get_json()
    operation = doc["paths"]["/erased"]["get"]
    pattern = operation["parameters"][0]["schema"]["pattern"]
    for good in ("", "e1.0.0", "e1.1764650000000000.123"):
        assert re.fullmatch(pattern, good)
        contract.parse_erased_cursor(good)
    for bad in ("e1.1", "e1.١.1", "v1.1.1"):
        assert not re.fullmatch(pattern, bad)
    page = doc["components"]["schemas"]["ErasedPage"]
    assert page["properties"]["fields"]["items"]["enum"] == list(contract.ERASED_KEYS)
    assert page["properties"]["ids"]["maxItems"] == contract.ERASED_PAGE
    assert set(operation["responses"]) == {"200", "400", "401", "429", "503"}
