"""The fold after sync batches: one process's, begun at most once every `every` seconds.

A phone sending its outbox posts batch after batch, each answered in tens of milliseconds;
folding each into the figures on its own repeats a fold's fixed work (the ward's lock, its
pending rows and units, the names' recount) for every batch: a third of a lone phone's time
on SQLite (bench/sync_bench.py). So a batch answered less than `every` seconds after the last
fold began leaves its fold to the next one, which takes every batch stored meanwhile at once:
the fold of the first batch after those `every` seconds (made by its thread once the phone
has its answer, as before), or, should no batch come, a timer's, `every` later still. The
figures then trail the records by at most 2 x `every` plus one fold; a reader catches up
before it reads anyway (store.settle). A fold that finds another of the process at work
leaves it to that one, which looks again when done (store.catch_up_everywhere).

`every = 0` folds after each batch (the test suite's setting: no timer left running between
tests).
"""

from __future__ import annotations

import logging
import math
import threading
import time

from flask import Flask

from ..extensions import db
from . import store

log = logging.getLogger(__name__)


_now = time.monotonic  # (a test's clock may stand in)


class Folder:
    """This process's folds after sync batches (store.catch_up_everywhere)."""

    def __init__(self, app: Flask, every: float) -> None:
        self.app = app
        self.every = max(0.0, every)
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._armed = 0  # which timer is the live one (a cancelled one may still fire)
        self._began = -math.inf  # _now() when the last fold began
        self._left = False  # a batch was stored after the last fold began

    def after_batch(self) -> None:
        """A batch was stored (and answered): fold now if one is due, else leave it to the
        next fold (a later batch's, or the timer's should no batch come)."""
        with self._lock:
            now = _now()
            if now - self._began < self.every:
                self._left = True
                if self._timer is None:
                    self._arm(now)
                return
            self._began, self._left = now, False
        self._fold()

    def flush(self) -> None:
        """Fold now what is stored: the fold a later batch or the timer would have made."""
        with self._lock:
            timer, self._timer = self._timer, None
            self._began, self._left = _now(), False
        if timer is not None:
            timer.cancel()
            if timer is not threading.current_thread():
                timer.join()  # had its fold begun, it ends before this one looks
        self._fold()

    @property
    def due(self) -> bool:
        """A batch is left for a later fold."""
        return self._left

    def _arm(self, now: float) -> None:
        """The fold of the last batch: `every` after the next fold was due, in case no batch
        comes to make it first (a phone still sending makes it on its own thread)."""
        self._armed += 1
        wait = self._began + 2 * self.every - now
        self._timer = threading.Timer(wait, self._due, args=(self._armed,))
        self._timer.daemon = False  # a worker shutting down still makes it
        self._timer.start()

    def _due(self, armed: int) -> None:
        with self._lock:
            if self._timer is None or armed != self._armed:
                return  # flushed meanwhile
            self._timer = None
            if not self._left:
                return  # a batch's own fold took what there was
            now = _now()
            if now - self._began < 2 * self.every:
                self._arm(now)  # a batch folded since: give the next batch its turn
                return
            self._began, self._left = now, False
        self._fold()

    def _fold(self) -> None:
        with self.app.app_context():
            try:
                store.catch_up_everywhere()
            except Exception:  # the records are stored; the next fold or reader catches up
                log.exception("folding the tally after sync batches failed")
                db.session.rollback()


def folder_of(app: Flask) -> Folder:
    """The app's folder in this process, made on first use (after gunicorn forks)."""
    found = app.extensions.get("fieldapp.folder")
    if found is None:
        made = Folder(app, app.config["FIELDAPP_FOLD_EVERY"])
        found = app.extensions.setdefault("fieldapp.folder", made)
    return found
