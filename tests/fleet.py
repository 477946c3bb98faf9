"""A fleet of simulated phones against a real multi-worker gunicorn, for tests/sync/test_faults.py.

`Gunicorn` runs the app as its own process group (so SIGKILL takes master and workers at once)
over the database a test seeded. `Phone` is one enrolled device: it holds its own records
(every revision it made), sends them in random batches over raw sockets, sometimes cuts the
connection (mid-body, right after sending, or by giving up on the answer), and keeps every
answer it got, as the contract's phone would: a record leaves the outbox only on `stored` or
`unchanged` for that exact (id, rev), or on `stale` (the server holds a newer revision).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")
# The browser tests' WSGI module: the app over FIELDAPP_BROWSER_DB, rate limits off.
WSGI = "tests.browser.wsgi:app"

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
MIDDLE = ["Thị", "Văn", "Đức", "Ngọc", "Minh", "Thu", "Quang", "Hữu"]
# Distinct even without accents, so two made-up residents never fold to one name.
GIVEN = ["Hoa", "Lan", "Hùng", "Dũng", "Mai", "Tâm", "Hạnh", "Sơn", "Yến", "Phúc", "Thảo"]
CATEGORIES = ["elderly", "household_business", "small_trader", "student", "worker", "other"]
STEPS = ["installed", "registered", "tested"]
KINDS = ["no_smartphone", "no_internet", "otp_not_received", "forgot_password"]
ACKED = {"stored", "unchanged"}
FINAL = ACKED | {"stale"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """gunicorn -c gunicorn.conf.py -w N over `database_url`, in a process group of its own.

    By default the browser tests' WSGI module with the fault tests' options. With `config`
    (tests/test_ops.py): the production command, `gunicorn -c gunicorn.conf.py app:app`, where
    `env` holds the app's settings (DATABASE_URL, SECRET_KEY...) as a deployment would.
    """

    def __init__(
        self,
        database_url: str,
        log: Path,
        workers: int | None = 3,
        config: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.log = log
        self.workers = workers
        self.config = config
        self.extra_env = env or {}
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        # gunicorn 27 shares one control socket in $HOME between servers: a test server
        # killed with SIGKILL must not leave it to (or take it from) another one.
        common = ["--bind", f"127.0.0.1:{self.port}"]
        if self.workers is not None:  # None: the config file's
            common += ["--workers", str(self.workers)]
        if self.config is not None:
            return [
                str(GUNICORN),
                "-c",
                str(self.config),
                *common,
                "--no-control-socket",
                "app:app",
            ]
        # The production worker model (gunicorn.conf.py: threaded workers, the app's sync slots)
        # over the browser tests' WSGI module.
        return [
            str(GUNICORN),
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            *common,
            "--backlog",
            "256",
            "--timeout",
            "60",
            "--no-control-socket",
            WSGI,
        ]

    def start(self, wait: float = 30) -> None:
        env = dict(os.environ)
        if self.config is None:
            env.update(FIELDAPP_BROWSER_DB=self.database_url, FIELDAPP_ENV="development")
        else:
            env["DATABASE_URL"] = self.database_url
        env.update(self.extra_env, PYTHONPATH=str(ROOT))
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: one killpg ends them all
            )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn did not start:\n" + self.tail())
            try:
                status, _body = request(self.port, "GET", "/healthz", timeout=2)
                if status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer /healthz within {wait} s:\n" + self.tail())

    def kill(self) -> None:
        """SIGKILL the whole process group: master and workers die mid-request."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        # The workers are in the same group; wait until none is left holding the port.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


class Cut(Exception):
    """The connection was cut by the phone: whatever the server did, no answer arrived."""


def request(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    timeout: float = 15,
    cut: str | None = None,
) -> tuple[int, Any]:
    """One HTTP/1.1 request over a fresh socket; `cut` loses the answer on purpose.

    cut = "mid": send part of the request, then close; "after": send it all, close without
    reading; "wait": send it all, give up on the answer after a few milliseconds.
    """
    payload = b"" if body is None else json.dumps(body).encode()
    head = [
        f"{method} {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Connection: close",
        f"Content-Length: {len(payload)}",
    ]
    if body is not None:
        head.append("Content-Type: application/json")
    if token:
        head.append(f"Authorization: Bearer {token}")
    raw = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        if cut == "mid":
            sock.sendall(raw[: random.randint(1, len(raw) - 1)])
            raise Cut(cut)
        sock.sendall(raw)
        if cut == "after":
            raise Cut(cut)
        if cut == "wait":
            sock.settimeout(random.uniform(0.002, 0.03))
        response = http.client.HTTPResponse(sock, method=method)
        try:
            response.begin()
            data = response.read()
        except TimeoutError:
            if cut == "wait":
                raise Cut(cut) from None
            raise
        finally:
            response.close()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data.decode(errors="replace")
        return response.status, parsed
    finally:
        sock.close()


# --- made-up residents and records --------------------------------------------------------


@dataclass(frozen=True)
class Resident:
    name: str
    birth_year: int
    phone: str | None
    gender: str


def residents(count: int, rng: random.Random) -> list[Resident]:
    """Made-up residents: most with a phone, some known only by name and birth year."""
    names = [f"{f} {m} {g}" for f in FAMILY for m in MIDDLE for g in GIVEN]
    rng.shuffle(names)
    out = []
    for index in range(count):
        phone = f"09{index:08d}" if rng.random() < 0.7 else None
        gender = "female" if " Thị " in names[index] else rng.choice(["male", "other"])
        out.append(Resident(names[index], rng.randint(1935, 2008), phone, gender))
    return out


def assist_data(resident: Resident, unit_id: int, rng: random.Random) -> dict[str, Any]:
    steps = [s for s in STEPS if rng.random() < 0.6] or ["installed"]
    data: dict[str, Any] = {
        "full_name": resident.name,
        "birth_year": resident.birth_year,
        "gender": resident.gender,
        "unit_id": unit_id,
        "category": rng.choice(CATEGORIES),
        "steps": steps,
        "attempts": rng.randint(1, 3) if "tested" in steps else 0,
        "consent": True,
    }
    if resident.phone:
        data["phone"] = resident.phone
    return data


def record(rid: str, rev: int, kind: str, data: dict[str, Any], voided: bool = False) -> dict:
    day = 12 + rev % 20
    return {
        "id": rid,
        "rev": rev,
        "type": kind,
        "recorded_at": f"2025-10-{day:02d}T09:{rev % 60:02d}:03+07:00",
        "voided": voided,
        "data": data,
    }


# --- a phone --------------------------------------------------------------------------------


@dataclass
class Stats:
    """Figures shared by the whole fleet (updated under a lock)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: Counter = field(default_factory=Counter)

    def add(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n


@dataclass
class Phone:
    """One enrolled device: its member, its records, and every answer the server gave."""

    member_id: int
    token: str
    rng: random.Random
    revisions: list[dict] = field(default_factory=list)  # every (id, rev) it made
    batches: list[list[dict]] = field(default_factory=list)  # in the order it sends them
    answers: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def plan(self, count: int, units: list[int], people: list[Resident]) -> None:
        """`count` revisions (new entries, edits, voids), some sent out of order, in batches."""
        rng = self.rng
        keyed: list[tuple[float, dict]] = []
        position = 0.0
        while len(keyed) < count:
            rid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            if rng.random() < 0.05:
                kind = "difficulty"
                data = {"unit_id": rng.choice(units), "kind": rng.choice(KINDS), "text": ""}
            else:
                kind = "assist"
                data = assist_data(rng.choice(people), rng.choice(units), rng)
            revs = [record(rid, 1, kind, data)]
            roll = rng.random()
            if roll < 0.25 and len(keyed) + 2 <= count:  # an edit
                edited = dict(data)
                if kind == "assist":
                    edited.update(steps=STEPS, attempts=rng.randint(1, 4))
                else:
                    edited["text"] = "Đã hướng dẫn lại"
                revs.append(record(rid, 2, kind, edited))
                if roll < 0.1 and len(keyed) + 3 <= count:  # then a void
                    revs.append(record(rid, 3, kind, edited, voided=True))
            elif roll < 0.32 and len(keyed) + 2 <= count:  # voided at once
                revs.append(record(rid, 2, kind, data, voided=True))
            later = rng.random() < 0.4  # this id's newer revisions travel before rev 1
            for rec in revs:
                gap = rng.uniform(0, 40) if rec["rev"] > 1 else 0
                keyed.append((position + (-gap if later else gap), rec))
            position += 1
        keyed.sort(key=lambda pair: pair[0])
        self.revisions = [rec for _key, rec in keyed]
        order = list(self.revisions)
        while order:
            size = rng.randint(1, 60)
            self.batches.append(order[:size])
            order = order[size:]

    def final_records(self) -> dict[str, dict]:
        """The phone's own view: the newest revision it made of each id."""
        newest: dict[str, dict] = {}
        for rec in self.revisions:
            if rec["id"] not in newest or rec["rev"] > newest[rec["id"]]["rev"]:
                newest[rec["id"]] = rec
        return newest

    def run(self, port: int, stats: Stats, progress: Any, deadline: float, cut_rate: float) -> None:
        """Send every batch until each record has a final answer; sometimes repeat a batch."""
        sent: list[list[dict]] = []
        for batch in self.batches:
            self._send(batch, port, stats, deadline, cut_rate)
            sent.append(batch)
            progress()
            if self.rng.random() < 0.12:  # a phone that lost its "Đã gửi" marks sends again
                stats.add("repeated batches")
                self._send(self.rng.choice(sent), port, stats, deadline, cut_rate)

    def _send(
        self, batch: list[dict], port: int, stats: Stats, deadline: float, cut_rate: float
    ) -> None:
        outbox = list(batch)
        failures = 0
        while outbox:
            if time.monotonic() > deadline:
                self.problems.append(f"gave up with {len(outbox)} records unanswered")
                return
            cut = None
            if self.rng.random() < cut_rate:
                cut = self.rng.choice(["mid", "after", "wait"])
            stats.add("requests")
            try:
                status, body = request(
                    port, "POST", "/api/v1/sync", {"records": outbox}, self.token, cut=cut
                )
            except Cut:
                stats.add("cut connections")
                status, body = None, None
            except ConnectionRefusedError:
                stats.add("refused")  # the server is down
                status, body = None, None
            except (OSError, http.client.HTTPException):
                stats.add("dropped by the server")  # it died while this request was in it
                status, body = None, None
            if status == 200:
                outbox = self._take(outbox, body)
                failures = 0
                continue
            if status == 503 and isinstance(body, dict) and body.get("error") == "busy":
                stats.add("busy")  # the contract's "saturated, send again later" (Retry-After)
            elif status == 503 and isinstance(body, dict) and body.get("error") == "unavailable":
                stats.add("unavailable")  # the database away a moment: send again (Retry-After)
            elif status is not None:
                stats.add(f"http {status}")
                if status not in (429,) and status < 500:
                    self.problems.append(f"answer {status}: {body!r:.300}")
                    return
            stats.add("retries")
            failures += 1
            # Exponential back-off with jitter, capped: the contract's retry rule, made brief.
            time.sleep(min(1.0, 0.02 * 2**failures) * self.rng.uniform(0.5, 1.5))

    def _take(self, outbox: list[dict], body: Any) -> list[dict]:
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list) or len(results) != len(outbox):
            self.problems.append(f"results do not match the batch: {body!r:.300}")
            return []
        left = []
        for rec, result in zip(outbox, results, strict=True):
            if (result.get("id"), result.get("rev")) != (rec["id"], rec["rev"]):
                self.problems.append(f"answer for another record: {result!r}")
                continue
            status = result.get("status")
            self.answers.setdefault((rec["id"], rec["rev"]), []).append(status)
            if status not in FINAL:
                self.problems.append(f"unexpected answer: {result!r:.300}")
            # Anything else (there should be nothing else) would stay in the outbox.
            if status not in FINAL:
                left.append(rec)
        return left if not self.problems else []
