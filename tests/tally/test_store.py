"""The stored figures (tally_store) equal tally/counts.py's definitions once caught up, and keeping
them never makes two batches of one ward wait for each other.

Records arrive through sync in random batches (new entries, revisions that move a resident
between units, categories and days, voids, shared phones and names); after each batch is
folded in, the stored figures equal tally/counts.py's own SQL counted afresh
(store.counted_afresh), and were folded, not counted again.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timedelta
from functools import partial

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp.extensions import db
from fieldapp.models import Assist, Campaign, TallyAtom, TallyPending, Unit, User, Ward
from fieldapp.privacy import erasure
from fieldapp.sync import contract
from fieldapp.tally import counts, store
from fieldapp.text import utcnow
from tests.conftest import race_app, together
from tests.tally_world import add_assist

START = datetime(2025, 10, 20, 1, 0)  # UTC: 08:00 in Hải Phòng
NAMES = ["Nguyễn Thị Hoa", "Trần Văn Bình", "Lê Thị Cúc"]
PHONES = ["0912345678", "0987654321", None]


def figures(campaign_id: int, ward_id: int) -> list[tuple]:
    """The ward's stored figure rows, without the rows that have come back to zero."""
    return store.stored_rows(campaign_id, ward_id)


def rebuilt(campaign, ward_id: int) -> list[tuple]:
    """The same rows as tally/counts.py's definitions count them (read only)."""
    return store.counted_afresh(campaign, ward_id)


def pending() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(TallyPending)) or 0


def record(world, rid: str, rev: int, spec: dict, voided: bool = False) -> dict:
    unit = world.units[spec["unit"]].id
    data = {
        "full_name": spec["name"],
        "birth_year": spec["year"],
        "phone": spec["phone"],
        "unit_id": unit,
        "category": spec["category"],
        "steps": spec["steps"],
        "attempts": max(1, spec["attempts"]) if "tested" in spec["steps"] else 0,
        "consent": True,
    }
    return {
        "id": rid,
        "rev": rev,
        "type": "assist",
        "recorded_at": "2025-10-20T09:14:03+07:00",
        "voided": voided,
        "data": {k: v for k, v in data.items() if v is not None},
    }


@pytest.fixture
def rebuilds(monkeypatch) -> list[int]:
    """The ward ids counted afresh (rather than folded) during the test."""
    calls: list[int] = []
    real = store.rebuild

    def counting(campaign, ward_id):
        calls.append(ward_id)
        return real(campaign, ward_id)

    monkeypatch.setattr(store, "rebuild", counting)
    return calls


SPEC = st.fixed_dictionaries(
    {
        "unit": st.sampled_from(["kdc1", "kdc2"]),
        "name": st.sampled_from(NAMES),
        "year": st.sampled_from([1954, 1960]),
        "phone": st.sampled_from(PHONES),
        "category": st.sampled_from(["elderly", "household_business"]),
        "steps": st.sampled_from(
            [["installed"], ["installed", "registered"], ["installed", "registered", "tested"]]
        ),
        "attempts": st.integers(0, 3),
    }
)
# One step of a script: which record (0-5), what it becomes, void or not.
STEP = st.tuples(st.integers(0, 5), SPEC, st.booleans())
# A batch: the day it arrives on, and its steps.
BATCH = st.tuples(st.integers(0, 2), st.lists(STEP, min_size=1, max_size=4))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=st.lists(BATCH, min_size=1, max_size=5))
def test_folded_figures_equal_a_fresh_count_after_every_batch(world, rebuilds, script):
    campaign, ward_id = world.campaign, world.ward.id
    store.ward_figures(campaign, ward_id)  # counted once: the figures are live
    rebuilds.clear()
    ids = [str(uuid.uuid4()) for _ in range(6)]
    revs = dict.fromkeys(ids, 0)
    for day, batch in script:
        records = []
        for index, spec, voided in batch:
            rid = ids[index]
            revs[rid] += 1
            records.append(record(world, rid, revs[rid], spec, voided and revs[rid] > 1))
        now = START + timedelta(days=day, hours=len(records))
        results = contract.sync_records(records, world.users["member"], now=now)["results"]
        assert {r["status"] for r in results} == {"stored"}, results
        assert pending() > 0  # written, not yet folded in
        assert store.catch_up(campaign, ward_id) == store.CAUGHT_UP
        assert pending() == 0
        assert figures(campaign.id, ward_id) == rebuilt(campaign, ward_id)
    assert rebuilds == []  # folded every time, never counted afresh


def test_folding_a_resident_again_changes_nothing(world):
    campaign, ward_id = world.campaign, world.ward.id
    batch = [record(world, str(uuid.uuid4()), 1, _spec(phone)) for phone in PHONES]
    contract.sync_records(batch, world.users["member"], now=START)
    store.catch_up(campaign, ward_id)
    kept = figures(campaign.id, ward_id)
    keys = set(db.session.scalars(sa.select(Assist.resident_key)))
    store.fold(campaign, ward_id, keys)  # twice, or late: the same figures
    store.fold(campaign, ward_id, keys)
    db.session.commit()
    assert figures(campaign.id, ward_id) == kept == rebuilt(campaign, ward_id)


def test_the_figures_shown_are_the_definitions(world):
    """ward_figures() and unit_figures() read back what tally/counts.py counts."""
    campaign, ward_id = world.campaign, world.ward.id
    unit = world.units["kdc1"]
    batch = [
        record(world, str(uuid.uuid4()), 1, spec)
        for spec in (
            dict(unit="kdc1", name=NAMES[0], year=1954, phone=PHONES[0], category="elderly")
            | dict(steps=["installed", "registered", "tested"], attempts=2),
            dict(unit="kdc2", name=NAMES[0], year=1954, phone=None, category="elderly")
            | dict(steps=["installed"], attempts=0),
            dict(unit="kdc1", name=NAMES[1], year=1960, phone=PHONES[1])
            | dict(category="household_business", steps=["installed", "registered"], attempts=0),
        )
    ]
    contract.sync_records(batch, world.users["member"], now=START)
    contract.sync_records(
        [record(world, str(uuid.uuid4()), 1, batch_spec) for batch_spec in [_spec(PHONES[0])]],
        world.users["member"],
        now=START + timedelta(days=2),
    )
    ids = store.ward_unit_ids(ward_id)
    shown = store.ward_figures(campaign, ward_id)
    assert shown.as_of is None  # nothing left to fold in
    assert shown.totals == counts.totals(campaign, ids)
    assert shown.totals.residents == 3 and shown.totals.assists == 4
    assert shown.per_unit == counts.by_unit(campaign, ids)
    assert shown.categories == counts.by_category(campaign, ids)
    assert list(shown.categories) == ["elderly", "household_business"]
    assert shown.days == counts.by_day(campaign, ids)
    assert [c.assists for d, c in shown.days if d >= START.date()][:3] == [3, 0, 1]  # gap = 0
    assert shown.kinds == counts.by_unit_kind(campaign, [u for u in world.units.values()])
    assert shown.kinds["residential"].residents == 3
    pairs = counts.duplicate_pairs(campaign, ids)
    assert store.duplicates(campaign, ward_id) == (1, pairs) == (1, [("nguyen thi hoa", 1954)])
    one = store.unit_figures(campaign, unit)
    assert one.totals == counts.totals(campaign, [unit.id])
    assert one.categories == counts.by_category(campaign, [unit.id])
    assert one.days == counts.by_day(campaign, [unit.id])


def _spec(phone):
    return dict(unit="kdc1", name=NAMES[2], year=1960, phone=phone, category="elderly") | dict(
        steps=["installed"], attempts=0
    )


def test_a_write_without_sync_is_folded_in_on_the_next_read(world, rebuilds):
    campaign, ward_id = world.campaign, world.ward.id
    assert store.ward_figures(campaign, ward_id).totals.assists == 0
    add_assist(world, "kdc1", "member", name="Phan Văn Tú", steps=["installed"], received=START)
    db.session.commit()
    assert pending() == 1  # queued by the database's trigger
    assert store.ward_figures(campaign, ward_id).totals.assists == 1
    assert rebuilds == [ward_id]  # the first read only
    assert figures(campaign.id, ward_id) == rebuilt(campaign, ward_id)


def test_an_erasure_is_folded_in_and_the_counts_stay(world, rebuilds):
    campaign, ward_id = world.campaign, world.ward.id
    batch = [record(world, str(uuid.uuid4()), 1, _spec(phone)) for phone in PHONES]
    contract.sync_records(batch, world.users["member"], now=START)
    before = store.ward_figures(campaign, ward_id)
    assert store.duplicates(campaign, ward_id)[1] == [("le thi cuc", 1960)]
    rebuilds.clear()
    erasure.erase_records(world.users["officer"], [batch[0]["id"]])
    db.session.commit()
    after = store.ward_figures(campaign, ward_id)
    assert after.totals == before.totals
    # the two others still share a name
    assert store.duplicates(campaign, ward_id)[1] == [("le thi cuc", 1960)]
    assert figures(campaign.id, ward_id) == rebuilt(campaign, ward_id)
    assert rebuilds == []  # the erased resident was folded again, the ward not recounted
    names = db.session.scalars(sa.select(TallyAtom.name_key).where(TallyAtom.name_key.is_(None)))
    assert len(list(names)) == 1  # the atoms hold no erased name either


def test_wards_keep_their_own_figures(world):
    contract.sync_records([record(world, str(uuid.uuid4()), 1, _spec(None))], world.users["member"])
    other = world.other_campaign
    assert store.ward_figures(other, world.other_ward.id).totals.assists == 0
    assert store.ward_figures(world.campaign, world.ward.id).totals.assists == 1


def test_catching_up_everywhere_folds_every_ward(world):
    for member in ("member", "other_member"):
        user = world.users[member]
        spec = _spec(None) | {"unit": "kdc1" if member == "member" else "other1"}
        contract.sync_records([record(world, str(uuid.uuid4()), 1, spec)], user)
    store.catch_up_everywhere()
    assert pending() == 0
    for campaign, ward in ((world.campaign, world.ward), (world.other_campaign, world.other_ward)):
        assert figures(campaign.id, ward.id) == rebuilt(campaign, ward.id)
        assert store.ward_figures(campaign, ward.id).totals.assists == 1


def test_a_sync_batch_is_folded_in_after_the_phone_has_its_answer(client, world):
    """sync/api.py folds once the response is closed, as a server does after sending it."""
    from fieldapp.field import enrol

    code, _ = enrol.issue_code(world.users["member"], None)
    db.session.commit()
    token = client.post("/api/v1/devices", json={"code": code}).get_json()["token"]
    store.ward_figures(world.campaign, world.ward.id)
    response = client.post(
        "/api/v1/sync",
        json={"records": [record(world, str(uuid.uuid4()), 1, _spec(PHONES[0]))]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert pending() == 1  # answered before folding
    response.close()  # what a WSGI server does once the body is sent
    assert pending() == 0
    assert figures(world.campaign.id, world.ward.id) == rebuilt(world.campaign, world.ward.id)


@pytest.fixture
def threaded(backend, postgres_ready, tmp_path):
    def stored(world):
        store.ward_figures(world.campaign, world.ward.id)

    with race_app(backend, tmp_path, stored) as (app, _):
        yield app


def _first(model):
    return db.session.scalar(sa.select(model).order_by(model.id))


def test_phones_syncing_and_folding_at_once_never_count_a_resident_twice(threaded):
    """Four members post batches at once, the same residents in each, and each folds after
    its batch as sync/api.py does (on PostgreSQL the batches and folds really overlap; SQLite
    takes writers one at a time). Caught up, the figures equal a fresh count."""
    app = threaded
    failures: list[BaseException] = []
    barrier = threading.Barrier(4)

    def push(username: str, seed: int) -> None:
        try:
            with app.app_context():
                user = db.session.scalar(sa.select(User).where(User.username == username))
                units = {"kdc1": user.unit, "kdc2": user.unit}
                fake = type("W", (), {"units": units})
                barrier.wait()
                for round_ in range(8):
                    batch = [
                        record(fake, str(uuid.uuid4()), 1, _spec(PHONES[(seed + round_ + i) % 3]))
                        for i in range(5)
                    ]
                    results = contract.sync_records(batch, user)["results"]
                    assert {r["status"] for r in results} == {"stored"}
                    store.catch_up_everywhere()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    names = ["thanhvien1", "thanhvien2", "thanhvien3", "totruong1"]
    together(*(partial(push, n, i) for i, n in enumerate(names)))
    assert failures == []
    with app.app_context():
        campaign, ward = _first(Campaign), _first(Ward)
        store.catch_up(campaign, ward.id)
        assert pending() == 0
        assert figures(campaign.id, ward.id) == rebuilt(campaign, ward.id)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Assist)) == 160
        assert store.ward_figures(campaign, ward.id).totals.assists == 160
        db.session.remove()


def test_catching_up_everywhere_goes_on_until_nothing_is_left(world, monkeypatch):
    """The last batch of the night is folded in whole by the fold that follows it: no later
    batch has to come and start another (the figures would wait for a reader)."""
    monkeypatch.setattr(store, "FOLD_RESIDENTS", 2)  # a fold of two residents a transaction,
    monkeypatch.setattr(store, "READ_ROUNDS", 1)  # one transaction a ward and pass
    user = world.users["member"]
    batch = [record(world, str(uuid.uuid4()), 1, _spec(PHONES[i % 3])) for i in range(9)]
    batch += [record(world, str(uuid.uuid4()), 1, _spec(None)) for _ in range(4)]
    contract.sync_records(batch, user)
    assert pending() > 2  # more than one pass's transaction (PostgreSQL queues a resident once)
    store.catch_up_everywhere()
    assert pending() == 0
    assert figures(world.campaign.id, world.ward.id) == rebuilt(world.campaign, world.ward.id)
    assert store.ward_figures(world.campaign, world.ward.id).totals.assists == 13


def test_an_open_batch_does_not_hold_up_another_batch_of_the_same_ward(backend, threaded):
    """No hot row: a batch written but not committed (one phone, one resident) does not block
    a batch of another resident of the same ward, nor the fold after it: the second commits
    first. Before, every batch of a ward took the same row lock and waited its turn."""
    if backend != "postgres":
        pytest.skip("SQLite has a single writer: its batches queue by design")
    app = threaded
    written, release, done = threading.Event(), threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def hold_open() -> None:
        try:
            with app.app_context():
                user = db.session.scalar(sa.select(User).where(User.username == "thanhvien1"))
                fake = type("W", (), {"units": {"kdc1": user.unit}})
                envelopes = [
                    contract.check_envelope(record(fake, str(uuid.uuid4()), 1, _spec(PHONES[0])))
                ]
                outcome = contract.write_batch(envelopes, user, None, utcnow())
                assert outcome.results[0]["status"] == "stored"
                written.set()
                release.wait(30)
                db.session.commit()
                done.set()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)
            written.set()

    holder = threading.Thread(target=hold_open)
    holder.start()
    try:
        assert written.wait(30)
        with app.app_context():
            # Fail fast instead of hanging if anything waits on the open transaction's locks.
            db.session.execute(sa.text("SET lock_timeout = '3s'"))
            user = db.session.scalar(sa.select(User).where(User.username == "thanhvien3"))
            fake = type("W", (), {"units": {"kdc2": user.unit}})
            spec = _spec(PHONES[1]) | {"unit": "kdc2"}
            started = time.monotonic()
            results = contract.sync_records([record(fake, str(uuid.uuid4()), 1, spec)], user)
            campaign, ward = _first(Campaign), _first(Ward)
            assert store.catch_up(campaign, ward.id) == store.CAUGHT_UP
            assert time.monotonic() - started < 3  # far below the held batch's wait
            assert results["results"][0]["status"] == "stored"
            assert not done.is_set()  # the second batch and its fold finished first
            assert store.ward_figures(campaign, ward.id).totals.assists == 1
            db.session.remove()
    finally:
        release.set()
        holder.join(30)
    assert failures == []
    with app.app_context():
        campaign, ward = _first(Campaign), _first(Ward)
        assert store.ward_figures(campaign, ward.id).totals.assists == 2
        assert figures(campaign.id, ward.id) == rebuilt(campaign, ward.id)
        db.session.remove()


def test_a_reader_does_not_wait_for_another_fold_and_says_how_fresh(backend, threaded):
    """While another process folds the ward, the dashboard shows the stored figures at once,
    with the time they stand at (the oldest change still being folded in)."""
    if backend != "postgres":
        pytest.skip("SQLite has a single writer: a reader waits for the fold instead")
    app = threaded
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "thanhvien1"))
        fake = type("W", (), {"units": {"kdc1": user.unit}})
        contract.sync_records([record(fake, str(uuid.uuid4()), 1, _spec(PHONES[0]))], user)
        campaign, ward = _first(Campaign), _first(Ward)
        ids = (campaign.id, ward.id)
        db.session.remove()
    folding, release = threading.Event(), threading.Event()

    def other_folder() -> None:
        with app.app_context():
            db.session.execute(
                sa.text(
                    "SELECT 1 FROM tally_state WHERE campaign_id = :c AND ward_id = :w FOR UPDATE"
                ),
                {"c": ids[0], "w": ids[1]},
            )
            folding.set()
            release.wait(30)
            db.session.rollback()
            db.session.remove()

    holder = threading.Thread(target=other_folder)
    holder.start()
    try:
        assert folding.wait(30)
        with app.app_context():
            campaign = db.session.get(Campaign, ids[0])
            shown = store.ward_figures(campaign, ids[1])
            assert shown.as_of is not None  # "Số liệu lúc ...": behind, and it says so
            assert shown.totals.assists == 0
            db.session.remove()
    finally:
        release.set()
        holder.join(30)
    with app.app_context():
        campaign = db.session.get(Campaign, ids[0])
        shown = store.ward_figures(campaign, ids[1])
        assert shown.as_of is None and shown.totals.assists == 1
        db.session.remove()


def test_recount_command_counts_every_ward_afresh(app, world):
    batch = [record(world, str(uuid.uuid4()), 1, _spec(phone)) for phone in PHONES[:2]]
    contract.sync_records(batch, world.users["member"])
    campaign, ward_id = world.campaign, world.ward.id
    store.ward_figures(campaign, ward_id)
    kept = figures(campaign.id, ward_id)
    # A repair no trigger saw: a row deleted and its queue entry lost with it (say, a
    # partial restore of the assists table).
    oldest = sa.select(sa.func.min(Assist.id)).scalar_subquery()
    db.session.execute(sa.delete(Assist).where(Assist.id == oldest))
    db.session.execute(sa.delete(TallyPending))
    db.session.commit()
    assert store.ward_figures(campaign, ward_id).totals.assists == 2  # not noticed...
    result = app.test_cli_runner().invoke(args=["recount"])
    assert result.exit_code == 0 and "tính lại" in result.output
    db.session.expire_all()
    assert store.ward_figures(campaign, ward_id).totals.assists == 1  # ... until recount
    assert kept != figures(campaign.id, ward_id) == rebuilt(campaign, ward_id)


def test_a_unit_that_changes_kind_is_counted_under_its_new_kind(world, rebuilds):
    """However it changes (the unit form, a repair by hand): a trigger on units sees it."""
    campaign, ward_id = world.campaign, world.ward.id
    contract.sync_records([record(world, str(uuid.uuid4()), 1, _spec(None))], world.users["member"])
    assert set(store.ward_figures(campaign, ward_id).kinds) == {"residential"}
    rebuilds.clear()
    db.session.execute(
        sa.update(Unit).where(Unit.id == world.units["kdc1"].id).values(kind="agency")
    )
    db.session.commit()
    assert set(store.ward_figures(campaign, ward_id).kinds) == {"agency"}
    assert rebuilds == [ward_id]
    assert figures(campaign.id, ward_id) == rebuilt(campaign, ward_id)
    db.session.execute(
        sa.update(Unit).where(Unit.id == world.units["kdc2"].id).values(active=False)
    )
    db.session.commit()
    store.ward_figures(campaign, ward_id)
    assert rebuilds == [ward_id]  # another change of a unit: nothing to count again


def test_a_bulk_load_is_counted_afresh_not_folded_resident_by_resident(
    world, rebuilds, monkeypatch
):
    campaign, ward_id = world.campaign, world.ward.id
    store.ward_figures(campaign, ward_id)
    rebuilds.clear()
    monkeypatch.setattr(store, "FOLD_RESIDENTS", 2)
    monkeypatch.setattr(store, "RECOUNT_AT", 3)
    for index in range(6):
        name = f"{NAMES[index % 3]} {index}"
        add_assist(world, "kdc1", "member", name=name, steps=["installed"], received=START)
    db.session.commit()
    assert store.ward_figures(campaign, ward_id).totals.assists == 6
    assert rebuilds == [ward_id] and pending() == 0
    assert figures(campaign.id, ward_id) == rebuilt(campaign, ward_id)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    script=st.lists(st.lists(st.tuples(STEP, st.booleans()), min_size=1, max_size=4), max_size=4)
)
def test_kept_figures_equal_a_rebuild_when_other_days_are_left_out(world, script):
    """A campaign that counts only its own days: entries logged before it move nothing."""
    campaign, ward_id = world.campaign, world.ward.id
    campaign.count_outside = False
    db.session.commit()
    store.ward_figures(campaign, ward_id)  # counted once: the figures are live
    ids = [str(uuid.uuid4()) for _ in range(6)]
    revs = dict.fromkeys(ids, 0)
    for batch in script:
        records = []
        for (index, spec, voided), before_start in batch:
            rid = ids[index]
            revs[rid] += 1
            one = record(world, rid, revs[rid], spec, voided and revs[rid] > 1)
            if before_start:  # the phone's clock says September: outside the campaign
                one["recorded_at"] = "2025-09-20T09:14:03+07:00"
            records.append(one)
        contract.sync_records(records, world.users["member"], now=START)
        assert store.catch_up(campaign, ward_id) == store.CAUGHT_UP
        assert figures(campaign.id, ward_id) == rebuilt(campaign, ward_id)
