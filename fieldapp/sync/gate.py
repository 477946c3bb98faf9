"""The sync gate of one process: batches written at once, and a short queue in front of them.

A wave of phones must neither take every thread (sign-in, pages and /healthz would queue
behind it) nor wait past the proxy's timeout. So at most `slots` batches are written at once;
up to `queue` more wait for a slot, each at most `wait` seconds; any other is refused at once
(the API answers 503 + Retry-After and the phone sends again). Waiting in the process rather
than on the phone keeps the database busy while a slot changes hands: with 503s alone, the
phones turned away sat idle for their Retry-After while slots stood empty (bench/sync_bench.py).

Waiters are served in arrival order, as threading.Condition wakes them; a new batch arriving
just as a slot frees may take it first (the waiter then waits on, within its bound).
"""

from __future__ import annotations

import threading


class Gate:
    """`slots` holders at once, `queue` waiters; `slots == 0` refuses everything."""

    def __init__(self, slots: int, queue: int) -> None:
        self.closed = slots <= 0
        self._slots = threading.BoundedSemaphore(max(slots, 1))
        # Everyone inside the gate, holding a slot or waiting for one.
        self._inside = threading.BoundedSemaphore(max(slots, 1) + max(queue, 0))
        self._count = threading.Lock()
        self.waiting = 0  # batches in the queue now

    def enter(self, wait: float) -> bool:
        """Take a slot: at once, or after waiting at most `wait` seconds in the queue; False
        when the queue is full, the wait ran out or the gate is closed (nothing is held)."""
        if self.closed or not self._inside.acquire(blocking=False):
            return False
        if self._slots.acquire(blocking=False):
            return True
        self._queued(+1)
        try:
            if self._slots.acquire(timeout=wait):
                return True
        finally:
            self._queued(-1)
        self._inside.release()
        return False

    def leave(self) -> None:
        """Give back the slot `enter` took."""
        self._slots.release()
        self._inside.release()

    def _queued(self, change: int) -> None:
        with self._count:
            self.waiting += change
