"""Reliability proof of the sync contract through a real multi-worker gunicorn.

50 phones send 200 revisions each in random batches, with repeated batches, newer revisions
before older ones, edits, voids and cut connections; midway the whole server is SIGKILLed and
restarted on the same port and database. At the end every (id, rev) a phone saw acknowledged
is stored exactly once, nothing else is, every id has one current row (its newest revision),
and the ward's tally equals what the phones themselves recorded.

What "expected" means, from the contract: an (id, rev) is stored when the server first sees it
while it holds no newer revision of the id; it is answered `stored` then and `unchanged` on
every repeat. A revision that arrives after a newer one is answered `stale` and never stored.
A phone that lost an answer resends, so it ends with at least one final answer per revision:
stored/unchanged (then the row must exist) or stale (then it must not).

Figures are printed (see them with `pytest -s tests/sync/test_faults.py`); nothing here is timed.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from fieldapp.extensions import db
from fieldapp.field.enrol import issue_code
from fieldapp.models import Assist, Campaign, Difficulty, Unit, Ward
from fieldapp.sync.contract import MSG
from fieldapp.tally import counts
from tests.fleet import ACKED, STEPS, Gunicorn, Phone, Stats, record, request, residents
from tests.world import add_user, build_world

PHONES = 50
MEMBERS = 25  # two phones each: a member's phones share an owner, never a record id
REVISIONS = 200  # per phone: new entries, edits and voids
CONCURRENCY = 16
CUT_RATE = 0.08
KILL_AT = 0.4  # share of all batches answered before the server is killed
DEADLINE = 240  # seconds: every loop below is bounded by this


def seed(count: int, phones_each: int) -> tuple[list[tuple[int, str]], list[int]]:
    """The test world plus `count` members, with an enrolment code per phone. Commits."""
    world = build_world()
    units = [world.units["kdc1"], world.units["kdc2"]]
    codes = []
    for n in range(count):
        unit = units[n % 2]
        user = add_user(f"tv_fleet_{n}", "member", world.ward, unit, f"Thành viên Đội {n + 1}")
        db.session.flush()
        for _ in range(phones_each):
            code, _row = issue_code(user, created_by=None)
            codes.append((user.id, code))
    db.session.commit()
    unit_ids = [u.id for u in units]
    db.session.remove()
    return codes, unit_ids


def enrol(server: Gunicorn, member_id: int, code: str, label: str) -> str:
    status, body = request(server.port, "POST", "/api/v1/devices", {"code": code, "label": label})
    assert status == 201, body
    assert body["member"]["id"] == member_id
    return body["token"]


@pytest.fixture
def server(app: Flask, tmp_path: Path):
    """A gunicorn (3 sync workers) over the test's own database; started by the test."""
    gunicorn = Gunicorn(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "gunicorn.log")
    yield gunicorn
    gunicorn.stop()


def test_fifty_phones_cut_connections_and_a_killed_server_lose_and_double_nothing(
    app: Flask, server: Gunicorn, backend: str
) -> None:
    codes, unit_ids = seed(MEMBERS, PHONES // MEMBERS)
    server.start()
    rng = random.Random(20251020)
    people = residents(600, rng)
    phones = []
    for n, (member_id, code) in enumerate(codes):
        token = enrol(server, member_id, code, f"Máy {n + 1}")
        phone = Phone(member_id, token, random.Random(rng.getrandbits(64)))
        phone.plan(REVISIONS, unit_ids, people)
        phones.append(phone)

    stats = Stats()
    total_batches = sum(len(p.batches) for p in phones)
    kill_at = int(total_batches * KILL_AT)
    answered = [0]
    time_to_kill = threading.Event()

    def progress() -> None:
        with stats.lock:
            answered[0] += 1
            if answered[0] == kill_at:
                time_to_kill.set()

    started = time.monotonic()
    deadline = started + DEADLINE
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        futures = [
            pool.submit(p.run, server.port, stats, progress, deadline, CUT_RATE) for p in phones
        ]
        assert time_to_kill.wait(timeout=DEADLINE), "the fleet never got 40 % of the way"
        server.kill()
        killed_at = time.monotonic() - started
        time.sleep(0.5)  # the phones meet a closed port for a while
        server.start()
        down = time.monotonic() - started - killed_at
        for future in futures:
            future.result(timeout=max(1, deadline - time.monotonic() + 5))
    seconds = time.monotonic() - started
    server.stop()

    problems = [p for phone in phones for p in phone.problems]
    assert problems == [], problems[:5]

    # What the phones know: every revision sent has a final answer, and its answers agree.
    expected: set[tuple[str, int]] = set()
    stale: set[tuple[str, int]] = set()
    lost = []
    owner: dict[str, int] = {}
    for phone in phones:
        for rec in phone.revisions:
            key = (rec["id"], rec["rev"])
            owner[rec["id"]] = phone.member_id
            answers = phone.answers.get(key, [])
            if not answers:
                lost.append(key)
            elif set(answers) == {"stale"}:
                stale.add(key)
            else:
                # stored at most once, and only as the first answer the phone heard
                assert set(answers) <= ACKED, (key, answers)
                assert answers.count("stored") <= 1 and "stored" not in answers[1:], answers
                expected.add(key)
    assert lost == []

    if backend == "sqlite":  # the file survived the SIGKILL whole
        assert db.session.execute(sa.text("PRAGMA integrity_check")).scalars().all() == ["ok"]
    rows = []
    for model in (Assist, Difficulty):
        rows += db.session.execute(
            sa.select(
                sa.literal(model.__tablename__).label("table"),
                model.id,
                model.record_id,
                model.rev,
                model.user_id,
                model.is_current,
            )
        ).all()
    stored = Counter((r.record_id, r.rev) for r in rows)
    duplicates = sum(n - 1 for n in stored.values())
    assert duplicates == 0, [r for r in rows if stored[(r.record_id, r.rev)] > 1]
    assert set(stored) == expected, (
        f"missing {len(expected - set(stored))}, unexpected {len(set(stored) - expected)}"
    )
    assert not stale & set(stored)
    assert all(owner[r.record_id] == r.user_id for r in rows)

    current: dict[str, list[int]] = defaultdict(list)
    highest: dict[str, int] = defaultdict(int)
    for r in rows:
        highest[r.record_id] = max(highest[r.record_id], r.rev)
        if r.is_current:
            current[r.record_id].append(r.rev)
    newest = {rid: rec for phone in phones for rid, rec in phone.final_records().items()}
    assert set(current) == set(newest)
    for rid, revs in current.items():
        assert revs == [highest[rid]] == [newest[rid]["rev"]], (rid, revs)

    # The tally, against counts made here from the phones' own newest revisions.
    campaign = db.session.scalar(
        sa.select(Campaign).join(Ward, Campaign.ward_id == Ward.id).where(Ward.code == "TD")
    )
    assists = [r for r in newest.values() if r["type"] == "assist" and not r["voided"]]
    assert counts.totals(campaign) == counts_of(assists)
    by_unit = counts.by_unit(campaign)
    units = db.session.scalars(sa.select(Unit.id).where(Unit.id.in_(unit_ids))).all()
    for unit_id in units:
        mine = [r for r in assists if r["data"]["unit_id"] == unit_id]
        assert by_unit[unit_id] == counts_of(mine)

    figures = stats.counts
    statuses = Counter(a for phone in phones for answers in phone.answers.values() for a in answers)
    print(
        f"\n[faults/{backend}] {PHONES} devices × {REVISIONS} revisions"
        f" ({len(newest)} records, {len(expected) + len(stale)} (id, rev) sent),"
        f" gunicorn -w {server.workers} (gthread), SIGKILLed at {killed_at:.1f} s,"
        f" back in {down:.1f} s:"
        f" requests {figures['requests']}, retries {figures['retries']},"
        f" cut connections {figures['cut connections']},"
        f" dropped by the dying server {figures['dropped by the server']},"
        f" refused while down {figures['refused']},"
        f" repeated batches {figures['repeated batches']},"
        f" answered 503 busy and resent {figures['busy']},"
        f" answers {dict(statuses)},"
        f" stored {len(stored)}, stale {len(stale)}, duplicates {duplicates}, lost {len(lost)},"
        f" 5xx {sum(n for k, n in figures.items() if k.startswith('http 5'))},"
        f" {seconds:.1f} s"
    )
    assert not any(k.startswith("http 5") for k in figures), dict(figures)


def counts_of(assists: list[dict]) -> counts.Counts:
    """The tally's figures computed here: residents by phone, else by name, year and unit."""
    reached: dict[tuple, set[str]] = defaultdict(set)
    for rec in assists:
        data = rec["data"]
        if data.get("phone"):
            key: tuple = ("phone", data["phone"])
        else:
            key = ("name", data["full_name"], data["birth_year"], data["unit_id"])
        reached[key] |= set(data["steps"])
    return counts.Counts(
        assists=len(assists),
        residents=len(reached),
        attempts=sum(rec["data"]["attempts"] for rec in assists),
        steps={step: sum(step in s for s in reached.values()) for step in STEPS},
    )


def test_two_members_writing_one_id_at_once_through_gunicorn(app: Flask, server: Gunicorn) -> None:
    """Same ids from two members' phones at the same moment: one owns each, the other is told."""
    codes, unit_ids = seed(2, 1)
    server.start()
    (first, code_a), (second, code_b) = codes
    tokens = {first: enrol(server, first, code_a, "A"), second: enrol(server, second, code_b, "B")}
    names = {first: "Nguyễn Thị Hoa", second: "Trần Văn Hùng"}

    def batch(member: int, ids: list[str], rev: int = 1) -> list[dict]:
        data = {
            "full_name": names[member],
            "unit_id": unit_ids[0],
            "category": "elderly",
            "steps": ["installed"],
            "consent": True,
        }
        return [record(rid, rev, "assist", data) for rid in ids]

    winners: dict[str, int] = {}
    for _round in range(8):
        ids = [str(uuid.uuid4()) for _ in range(20)]
        barrier = threading.Barrier(2)
        answers: dict[int, tuple[int, dict]] = {}

        def push(member: int, ids: list[str] = ids, barrier=barrier, answers=answers) -> None:
            body = {"records": batch(member, ids)}
            barrier.wait(timeout=10)
            answers[member] = request(server.port, "POST", "/api/v1/sync", body, tokens[member])

        threads = [threading.Thread(target=push, args=(m,)) for m in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert answers[first][0] == 200 and answers[second][0] == 200, answers
        for index, rid in enumerate(ids):
            got = {m: answers[m][1]["results"][index] for m in (first, second)}
            assert sorted(r["status"] for r in got.values()) == ["invalid", "stored"], got
            winner = next(m for m, r in got.items() if r["status"] == "stored")
            loser = second if winner == first else first
            assert got[loser]["errors"] == {"id": MSG["owner"]}
            winners[rid] = winner

    # The loser insists with a newer revision: still refused, nothing overwritten.
    for member in (first, second):
        theirs = [rid for rid, w in winners.items() if w != member]
        if theirs:
            status, body = request(
                server.port,
                "POST",
                "/api/v1/sync",
                {"records": batch(member, theirs, 2)},
                tokens[member],
            )
            assert status == 200
            assert {r["status"] for r in body["results"]} == {"invalid"}
    server.stop()
    rows = db.session.execute(
        sa.select(Assist.record_id, Assist.rev, Assist.user_id, Assist.full_name)
    ).all()
    assert sorted(r.record_id for r in rows) == sorted(winners)  # one row per id
    for r in rows:
        assert r.rev == 1 and r.user_id == winners[r.record_id]
        assert r.full_name == names[r.user_id]
    assert "Traceback" not in server.tail()
    print(f"\n[faults] race: {len(winners)} ids, {Counter(winners.values())} wins per member")
