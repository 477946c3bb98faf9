"""The fold after sync batches (tally/folder.py): at most one every `every` seconds per process,
each taking every batch stored since; the last batch of a run is folded without a reader."""

from __future__ import annotations

import time
import uuid

import pytest

from fieldapp.extensions import db
from fieldapp.field import enrol
from fieldapp.tally import folder as folder_module
from fieldapp.tally import store
from fieldapp.tally.folder import Folder, folder_of
from tests.tally.test_store import PHONES, _spec, figures, pending, rebuilt, record


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Timers:
    """threading.Timer's stand-in: the test fires them, in its own thread."""

    def __init__(self) -> None:
        self.made: list[FakeTimer] = []

    def __call__(self, wait, function, args=()):
        timer = FakeTimer(wait, function, args)
        self.made.append(timer)
        return timer


class FakeTimer:
    def __init__(self, wait, function, args) -> None:
        self.wait, self.function, self.args = wait, function, args
        self.started = self.cancelled = False
        self.daemon = True

    def start(self) -> None:
        self.started = True

    def cancel(self) -> None:
        self.cancelled = True

    def join(self) -> None:
        pass

    def fire(self) -> None:
        if not self.cancelled:
            self.function(*self.args)


@pytest.fixture
def clocked(monkeypatch):
    """A folder of every 0.5 s on a test clock and test timers; its folds are counted."""
    clock, timers = Clock(), Timers()
    monkeypatch.setattr(folder_module, "_now", clock)
    monkeypatch.setattr(folder_module.threading, "Timer", timers)
    folds: list[float] = []
    folder = Folder(None, 0.5)
    monkeypatch.setattr(folder, "_fold", lambda: folds.append(clock.now))
    return folder, clock, timers, folds


def test_batches_within_the_interval_share_the_next_batchs_fold(clocked):
    folder, clock, timers, folds = clocked
    folder.after_batch()  # the first batch: folded at once, on its own thread
    assert folds == [1000.0]
    for _ in range(5):  # five more within half a second: left for the next fold
        clock.now += 0.08
        folder.after_batch()
    assert folds == [1000.0]
    assert folder.due
    assert [t.wait for t in timers.made] == [pytest.approx(0.92)]  # the tail's fold, at 1001.0
    clock.now = 1000.52
    folder.after_batch()  # the first after the interval folds them all
    assert folds == [1000.0, 1000.52]
    assert not folder.due
    clock.now = 1001.0
    timers.made[0].fire()  # nothing left since the last fold began: no fold
    assert folds == [1000.0, 1000.52]


def test_the_last_batch_is_folded_by_the_timer_when_no_batch_follows(clocked):
    folder, clock, timers, folds = clocked
    folder.after_batch()
    clock.now += 0.1
    folder.after_batch()  # the last batch of the night: nothing comes after it
    clock.now = 1001.0
    timers.made[0].fire()
    assert folds == [1000.0, 1001.0]
    assert not folder.due


def test_a_timer_that_finds_a_fold_made_since_waits_for_the_next_batch(clocked):
    folder, clock, timers, folds = clocked
    folder.after_batch()  # folded at 1000.0
    clock.now = 1000.1
    folder.after_batch()  # left; the timer is for 1001.0
    clock.now = 1000.6
    folder.after_batch()  # folds at 1000.6
    clock.now = 1000.7
    folder.after_batch()  # left again; the timer is still the first one
    assert len(timers.made) == 1
    clock.now = 1001.0
    timers.made[0].fire()  # a fold began 0.4 s ago: the phone is still sending, wait on
    assert folds == [1000.0, 1000.6]
    assert [t.wait for t in timers.made[1:]] == [pytest.approx(0.6)]  # 1000.6 + 2 x 0.5
    clock.now = 1001.6
    timers.made[1].fire()
    assert folds == [1000.0, 1000.6, 1001.6]


def test_flush_folds_what_is_left_and_no_timer_folds_after_it(clocked):
    folder, clock, timers, folds = clocked
    folder.after_batch()
    clock.now += 0.1
    folder.after_batch()
    folder.flush()
    assert folds == [1000.0, 1000.1]
    assert timers.made[0].cancelled
    timers.made[0].function(*timers.made[0].args)  # a cancelled timer firing anyway
    assert folds == [1000.0, 1000.1]
    assert not folder.due


def test_every_zero_folds_after_each_batch(clocked):
    folder, clock, timers, folds = clocked
    folder.every = 0.0
    for _ in range(3):
        folder.after_batch()
    assert folds == [1000.0] * 3
    assert timers.made == []


@pytest.fixture
def app_settings():
    return {"FIELDAPP_FOLD_EVERY": 0.2}


def test_a_lone_phones_batches_are_folded_together_and_the_last_without_a_reader(
    app, client, world
):
    """Through the API and a real timer: the second batch, answered right after the first's
    fold, waits for the timer's fold, and the figures then equal a recount."""
    code, _ = enrol.issue_code(world.users["member"], None)
    db.session.commit()
    token = client.post("/api/v1/devices", json={"code": code}).get_json()["token"]
    store.ward_figures(world.campaign, world.ward.id)  # the figures are live
    folder = folder_of(app)

    def send(phone: str | None) -> None:
        response = client.post(
            "/api/v1/sync",
            json={"records": [record(world, str(uuid.uuid4()), 1, _spec(phone))]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200
        response.close()  # what a WSGI server does once the body is sent

    send(PHONES[0])
    assert pending() == 0  # the first batch is folded as its response closes
    send(PHONES[1])
    assert folder.due
    assert pending() == 1  # left for the timer: no batch follows it
    deadline = time.monotonic() + 10
    while pending() and time.monotonic() < deadline:
        time.sleep(0.05)
        db.session.rollback()  # a fresh look at what the timer's fold committed
    assert pending() == 0
    assert not folder.due
    assert figures(world.campaign.id, world.ward.id) == rebuilt(world.campaign, world.ward.id)
    assert store.ward_figures(world.campaign, world.ward.id).totals.assists == 2
