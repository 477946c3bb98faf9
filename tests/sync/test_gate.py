"""The sync gate (fieldapp/sync/gate.py): slots, a bounded queue, a bounded wait."""

from __future__ import annotations

import threading
import time

import pytest

from fieldapp.sync.gate import Gate

HANG = 30  # seconds: a wait that would hang the test if the gate did not answer at once


def _in_thread(call) -> tuple[threading.Thread, list[object]]:
    answer: list[object] = []
    thread = threading.Thread(target=lambda: answer.append(call()), daemon=True)
    thread.start()
    return thread, answer


def _until(condition) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the gate never got there"
        time.sleep(0.005)


def test_a_waiter_takes_the_slot_its_holder_gives_back_and_a_third_is_refused_at_once():
    gate = Gate(slots=1, queue=1)
    assert gate.enter(HANG)  # the slot, at once
    waiter, answer = _in_thread(lambda: gate.enter(HANG))
    _until(lambda: gate.waiting == 1)
    refused, refusal = _in_thread(lambda: gate.enter(HANG))
    refused.join(5)  # the queue is full: answered without waiting its HANG seconds
    assert refusal == [False] and gate.waiting == 1 and answer == []
    gate.leave()
    waiter.join(5)
    assert answer == [True] and gate.waiting == 0
    gate.leave()
    assert gate.writing == 0
    assert gate.enter(0)  # all given back: the slot is free again


def test_a_wait_that_runs_out_is_refused_and_gives_back_its_place():
    gate = Gate(slots=1, queue=1)
    assert gate.enter(0)
    assert not gate.enter(0.01)  # waited its bound, no slot came
    assert gate.waiting == 0
    waiter, answer = _in_thread(lambda: gate.enter(HANG))  # its place in the queue is free
    _until(lambda: gate.waiting == 1)
    gate.leave()
    waiter.join(5)
    assert answer == [True]
    gate.leave()


def test_slots_hold_batches_at_once_and_the_queue_bounds_the_rest():
    gate = Gate(slots=3, queue=2)
    assert all(gate.enter(0) for _ in range(3))
    waiters = [_in_thread(lambda: gate.enter(HANG)) for _ in range(2)]
    _until(lambda: gate.waiting == 2)
    assert not gate.enter(HANG)  # 3 writing, 2 waiting: the sixth is refused at once
    for _ in range(3):
        gate.leave()
    for thread, answer in waiters:
        thread.join(5)
        assert answer == [True]
    gate.leave()
    gate.leave()
    with pytest.raises(ValueError):  # nothing is left to give back
        gate.leave()


def test_a_closed_gate_refuses_every_batch():
    gate = Gate(slots=0, queue=4)
    assert gate.closed
    assert not gate.enter(HANG)
