"""A WSGI app that holds each request until told, for tests/test_deploy.py's accept test.

GET /healthz answers at once. GET /hold marks its start (a file in FIELDAPP_HOLD_DIR named
by its process and a number), waits until the file `release` appears there, and answers
{"pid": ..., "peak": the most requests this process held at once}.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_held = 0
_peak = 0
_numbers = itertools.count()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    global _held, _peak
    if environ["PATH_INFO"] == "/hold":
        folder = Path(os.environ["FIELDAPP_HOLD_DIR"])
        with _lock:
            _held += 1
            _peak = max(_peak, _held)
            number = next(_numbers)
        (folder / f"{os.getpid()}-{number}").touch()
        deadline = time.monotonic() + 30
        while not (folder / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        with _lock:
            peak = _peak
            _held -= 1
        body = json.dumps({"pid": os.getpid(), "peak": peak}).encode()
    else:
        body = b"{}"
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
