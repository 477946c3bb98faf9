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
import time


class Gate:
    """`slots` holders at once, `queue` waiters; `slots == 0` refuses everything."""

    def __init__(self, slots: int, queue: int) -> None:
        self.slots = max(slots, 0)
        self.queue = max(queue, 0)
        self.writing = 0  # batches holding a slot now
        self.waiting = 0  # batches in the queue now
        self._changed = threading.Condition()

    @property
    def closed(self) -> bool:
        return self.slots == 0

    def enter(self, wait: float) -> bool:
        """Take a slot: at once, or after waiting at most `wait` seconds in the queue; False
        when the queue is full, the wait ran out or the gate is closed (nothing is held)."""
        with self._changed:
            if self.writing < self.slots:
                self.writing += 1
                return True
            if self.closed or self.waiting >= self.queue:
                return False
            self.waiting += 1
            deadline = time.monotonic() + wait
            try:
                while self.writing >= self.slots:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return False
                    self._changed.wait(left)
                self.writing += 1
                return True
            finally:
                self.waiting -= 1

    def leave(self) -> None:
        """Give back the slot `enter` took."""
        with self._changed:
            if self.writing == 0:
                raise ValueError("the gate has no slot to give back")
            self.writing -= 1
            self._changed.notify()
