"""Measure the sync path as production runs it, against the least work that could do the job.

    .venv/bin/python bench/sync_bench.py                         # SQLite file, in-process
    .venv/bin/python bench/sync_bench.py --postgres URL          # PostgreSQL (emptied!)
    .venv/bin/python bench/sync_bench.py --postgres URL --phones 100 [--batches 4]

In-process (always): one ward of 20 residential groups with its figures live (the officer's
dashboard has been loaded, so every batch is folded into the stored figures, as in
production), a phone sends batches of 50 and 200 new assists through POST /api/v1/sync (the
Flask test client; the response is closed as a WSGI server closes it, which runs the fold),
then the same batches again (replayed: every record answered `unchanged`). Folds are made as
production makes them (tally/folder.py: at most one every FIELDAPP_FOLD_EVERY seconds, each
taking every batch stored since); "answered and folded" times the batches from the first
sent until the last is folded in (the fold due then is made at once, not waited for). Beside it, a
minimal baseline does the same essential work on the same database, in a table that starts
with as many records: parse the JSON, one SELECT of the known ids, one INSERT ... ON CONFLICT
DO NOTHING, one commit, an answer per record — twice: in plain SQL through the driver (the
limit), and written with SQLAlchemy Core (the baseline issue 11 first measured against, which
compiles its multi-row INSERT afresh for every batch). Printed: records/s answered and
folded, records/s answered only, replayed, both baselines', and the ratio of answered and
folded to each; medians of --repeat runs.

--phones N (PostgreSQL): the deadline night. One ward with N enrolled members' phones; the
production servers (`gunicorn -c gunicorn.conf.py`, threaded workers, Redis for the rate
limits), as deployed: the phones' batches to the `sync` pool, the officer's dashboard and the
probes to the `web` pool, as nginx routes them (deploy/; --one-pool: one server for all);
while the officer's dashboard is loaded every 3 s and /healthz and /login are probed
twice a second, first one phone sends --batches (at least 20) batches of 50 alone, then all
N phones at once. A 503 answer is waited out (its Retry-After and up to half of it again, as
the phone does) and resent.
Printed: records/s of both and their ratio, a batch's time until stored (median, 95th
percentile), the probes' 95th percentile, the figures' lag after the last answer, records
lost (acknowledged, not stored) and duplicated, and whether the figures equal a fresh count.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.dialects import postgresql, sqlite  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from bench.synthetic import (  # noqa: E402
    PASSWORD,
    analyse,
    empty_app,
    login,
    name,
    percentile,
    phone,
    production_server,
    wait_folded,
)
from fieldapp.extensions import db  # noqa: E402
from fieldapp.field import enrol  # noqa: E402
from fieldapp.models import Assist, Campaign, TallyPending, Unit, User, Ward  # noqa: E402
from fieldapp.sync import contract  # noqa: E402
from fieldapp.tally import store  # noqa: E402
from fieldapp.tally.folder import folder_of  # noqa: E402
from fieldapp.text import local_today  # noqa: E402
from tests.builder import add_campaign, add_user  # noqa: E402

CATEGORIES = ["elderly", "household_business", "small_trader", "student", "worker", "other"]
STEP_SETS = [["installed"], ["installed", "registered"], ["installed", "registered", "tested"]]


# --- one ward -------------------------------------------------------------------------------


def build_ward(members: int, seed: int = 5) -> dict[str, Any]:
    """One ward: 20 residential groups, an officer, `members` members, a running campaign."""
    rnd = random.Random(seed)
    today = local_today()
    ward = Ward(name="Phường Thử Nghiệm", code="TN", unit_label="Khu dân cư")
    db.session.add(ward)
    db.session.flush()
    campaign = add_campaign(
        ward,
        name="Đợt thử",
        starts_on=today - timedelta(days=20),
        ends_on=today + timedelta(days=10),
        report_due=today + timedelta(days=11),
        contest_url="",
        kept=False,
    )
    units = [
        Unit(ward_id=ward.id, kind="residential", name=f"Khu dân cư số {i}") for i in range(1, 21)
    ]
    db.session.add_all(units)
    db.session.flush()
    password = generate_password_hash(PASSWORD)
    add_user("canbo", "officer", ward, name=name(rnd), password_hash=password)
    people = [
        add_user(f"tv{index}", "member", ward, units[index % len(units)], name(rnd))
        for index in range(members)
    ]
    db.session.commit()
    return {"campaign_id": campaign.id, "ward_id": ward.id, "members": [u.id for u in people]}


def make_records(n: int, unit_id: int, rnd: random.Random) -> list[dict[str, Any]]:
    """`n` new assists of one phone, as its outbox sends them."""
    base = datetime.now().replace(microsecond=0) - timedelta(hours=2)
    out = []
    for i in range(n):
        steps = rnd.choice(STEP_SETS)
        data: dict[str, Any] = {
            "full_name": name(rnd),
            "birth_year": rnd.randint(1940, 2008),
            "gender": rnd.choice(["female", "male"]),
            "unit_id": unit_id,
            "category": rnd.choice(CATEGORIES),
            "steps": steps,
            "attempts": 1 if "tested" in steps else 0,
            "consent": True,
        }
        if rnd.random() < 0.6:
            data["phone"] = phone(rnd)
        if rnd.random() < 0.2:
            data["note"] = "Mắt kém, cần chữ to"
        out.append(
            {
                "id": str(uuid.uuid4()),
                "rev": 1,
                "type": "assist",
                "recorded_at": (base + timedelta(seconds=i)).isoformat() + "+07:00",
                "voided": False,
                "data": data,
            }
        )
    return out


def body_of(records: list[dict[str, Any]], gz: bool = False) -> bytes:
    raw = json.dumps({"records": records}, ensure_ascii=False).encode()
    return gzip.compress(raw) if gz else raw


# --- in-process -----------------------------------------------------------------------------


BASELINE = sa.Table(
    "bench_baseline",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("record_id", sa.String(36), nullable=False),
    sa.Column("rev", sa.Integer, nullable=False),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("recorded_at", sa.String(40), nullable=False),
    sa.Column("voided", sa.Boolean, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.UniqueConstraint("record_id", "rev"),
)


def warm_up(app: Any, ward: dict[str, Any], records: int, rnd: random.Random) -> None:
    """A ward in the middle of its campaign: `records` assists already stored and folded in,
    and the database's statistics taken (as autovacuum would), before anything is timed."""
    member = db.session.get(User, ward["members"][0])
    for _ in range(records // 200):
        contract.sync_records(make_records(200, member.unit_id, rnd), member)
    campaign = db.session.get(Campaign, ward["campaign_id"])
    store.catch_up(campaign, ward["ward_id"])
    analyse()
    db.session.remove()


_BASELINE_COLUMNS = ("record_id", "rev", "type", "recorded_at", "voided", "data")


def baseline_batch(engine: sa.Engine, body: bytes, gz: bool = False, core: bool = False) -> bytes:
    """The least a server could do with a batch: parse, look up, insert, commit, answer.

    By default plain SQL through the driver, as fieldapp/bulk.py writes: the limit. With
    `core`, the same statements written with SQLAlchemy Core, the baseline issue 11 set its
    ratio against: its multi-row INSERT ... VALUES is compiled afresh for every batch (1,200
    parameters for 200 rows), most of that baseline's time on SQLite.
    """
    records = json.loads(gzip.decompress(body) if gz else body)["records"]
    ids = [r["id"] for r in records]
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if core:
            found = conn.execute(
                sa.select(BASELINE.c.record_id, BASELINE.c.rev).where(BASELINE.c.record_id.in_(ids))
            )
        elif postgres:
            found = conn.exec_driver_sql(
                "SELECT record_id, rev FROM bench_baseline"
                " WHERE record_id = ANY(%(ids)s::varchar[])",
                {"ids": ids},
            )
        else:
            marks = ", ".join("?" for _ in ids)
            found = conn.exec_driver_sql(
                f"SELECT record_id, rev FROM bench_baseline WHERE record_id IN ({marks})",  # noqa: S608
                tuple(ids),
            )
        known = {(rid, rev) for rid, rev in found}
        rows = [
            (r["id"], r["rev"], r["type"], r["recorded_at"], r["voided"])
            + (json.dumps(r["data"], ensure_ascii=False),)
            for r in records
            if (r["id"], r["rev"]) not in known
        ]
        if rows:
            _baseline_insert(conn, rows, core, postgres)
    results = [
        {
            "id": r["id"],
            "rev": r["rev"],
            "status": "unchanged" if (r["id"], r["rev"]) in known else "stored",
        }
        for r in records
    ]
    return json.dumps({"results": results}).encode()


def _baseline_insert(conn: sa.Connection, rows: list[tuple], core: bool, postgres: bool) -> None:
    if core:
        dialect = postgresql if postgres else sqlite
        values = [dict(zip(_BASELINE_COLUMNS, row, strict=True)) for row in rows]
        conn.execute(dialect.insert(BASELINE).values(values).on_conflict_do_nothing())
        return
    columns = ", ".join(_BASELINE_COLUMNS)
    if postgres:
        conn.exec_driver_sql(
            f"INSERT INTO bench_baseline ({columns}) SELECT * FROM unnest(%(a)s::varchar[],"
            " %(b)s::int[], %(c)s::varchar[], %(d)s::varchar[], %(e)s::bool[], %(f)s::text[])"
            " ON CONFLICT DO NOTHING",
            dict(zip("abcdef", map(list, zip(*rows, strict=True)), strict=True)),
        )
    else:
        conn.exec_driver_sql(
            f"INSERT INTO bench_baseline ({columns}) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            rows,
        )


def in_process(url: str, repeat: int, total: int) -> None:
    """The in-process figures: the app's batches (figures live) beside the baseline's."""
    app = empty_app(url)
    with app.app_context():
        ward = build_ward(1)
        member = db.session.get(User, ward["members"][0])
        code, _ = enrol.issue_code(member, None)
        db.session.commit()
        unit_id = member.unit_id
        engine = db.engine
        BASELINE.drop(engine, checkfirst=True)
        BASELINE.create(engine)
    client = app.test_client()
    token = client.post("/api/v1/devices", json={"code": code}).get_json()["token"]
    officer = app.test_client()
    login(officer, "canbo")
    assert officer.get("/reports/").status_code == 200  # the figures are live from here on
    headers = {"Authorization": f"Bearer {token}"}
    rnd = random.Random(20251011)
    with app.app_context():
        # The baseline's table holds as many records as the app's, before the statistics.
        for _ in range(5000 // 200):
            baseline_batch(engine, body_of(make_records(200, unit_id, rnd)))
        warm_up(app, ward, 5000, rnd)

    folder = folder_of(app)  # the process's folds after batches (tally/folder.py)

    def app_send(body: bytes, gz: bool) -> float:
        """Seconds until answered (then the response is closed: folded, or a fold is due)."""
        extra = {"Content-Encoding": "gzip"} if gz else {}
        t0 = time.perf_counter()
        response = client.post(
            "/api/v1/sync", data=body, content_type="application/json", headers=headers | extra
        )
        answered = time.perf_counter() - t0
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        response.close()  # as a WSGI server does once the body is sent: folds, or a fold is due
        return answered

    print(f"in-process, {'PostgreSQL' if 'postgresql' in url else 'SQLite (file, WAL)'}")
    print(
        f"{'batch':>5} {'gzip':>4} | {'answered+folded':>15} {'answered':>9} "
        f"{'replayed':>9} | {'driver':>7} {'Core':>7} | {'ratios':>11}  (records/s)"
    )
    for size, gz in ((50, False), (200, False), (200, True)):
        rows: dict[str, list[float]] = {k: [] for k in ("folded", "answered", "replay", "base")}
        rows["core"] = []
        for _ in range(repeat):
            batches = [make_records(size, unit_id, rnd) for _ in range(max(1, total // size))]
            bodies = [body_of(b, gz) for b in batches]
            n = sum(len(b) for b in batches)
            t0 = time.perf_counter()
            times = [app_send(body, gz) for body in bodies]
            folder.flush()  # the fold a timer would make next: every record folded in
            rows["folded"].append(n / (time.perf_counter() - t0))
            rows["answered"].append(n / sum(times))
            t0 = time.perf_counter()
            for body in bodies:
                app_send(body, gz)
            rows["replay"].append(n / (time.perf_counter() - t0))
            again = [body_of(b, gz) for b in batches]  # the same records, for the baseline
            others = [body_of(make_records(len(b), unit_id, rnd), gz) for b in batches]
            for key, core, sent in (("base", False, again), ("core", True, others)):
                t0 = time.perf_counter()
                for body in sent:
                    baseline_batch(engine, body, gz, core)
                rows[key].append(n / (time.perf_counter() - t0))
        m = {k: statistics.median(v) for k, v in rows.items()}
        print(
            f"{size:>5} {'yes' if gz else 'no':>4} | {m['folded']:>15,.0f} {m['answered']:>9,.0f} "
            f"{m['replay']:>9,.0f} | {m['base']:>7,.0f} {m['core']:>7,.0f} | "
            f"{m['folded'] / m['base']:>5.2f} {m['folded'] / m['core']:>5.2f}"
        )
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TallyPending)) == 0
        same = store.stored_rows(campaign.id, campaign.ward_id) == (
            store.counted_afresh(campaign, campaign.ward_id)
        )
        print(f"figures after the run equal a fresh count: {same}")
        BASELINE.drop(db.engine)
        db.session.remove()
        db.engine.dispose()


# --- many phones through the production server -----------------------------------------------


class Http:
    """One HTTP/1.1 client with its own cookies (a browser tab, or a phone)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def call(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            head = dict(headers or {})
            if self.cookies:
                head["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            conn.request(method, path, body=body, headers=head)
            response = conn.getresponse()
            data = response.read()
            for value in response.headers.get_all("Set-Cookie") or []:
                pair = value.split(";", 1)[0]
                key, _, val = pair.partition("=")
                self.cookies[key.strip()] = val.strip()
            return response.status, dict(response.headers), data
        finally:
            conn.close()

    def sign_in(self, username: str) -> None:
        _, _, page = self.call("GET", "/login")
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page)
        token = token or re.search(rb'name="csrf_token" value="([^"]+)"', page)
        assert token, "no CSRF token on the sign-in page"
        form = f"csrf_token={token.group(1).decode()}&username={username}&password={PASSWORD}"
        status, _, _ = self.call(
            "POST",
            "/login",
            form.encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 302, status


class Phone:
    """An enrolled phone: its batches, what the server acknowledged, how long each took."""

    def __init__(self, port: int, token: str, batches: list[list[dict[str, Any]]]) -> None:
        self.http = Http(port)
        self.token = token
        self.batches = batches
        self.acked: list[tuple[str, int]] = []
        self.times: list[float] = []  # a batch until stored (waits for 503 included)
        self.requests: list[float] = []  # each request until its answer
        self.busy = 0
        self.errors: list[str] = []
        self.rnd = random.Random(token)

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        for batch in self.batches:
            body = body_of(batch)
            t0 = time.perf_counter()
            while True:
                sent = time.perf_counter()
                try:
                    status, head, data = self.http.call("POST", "/api/v1/sync", body, headers)
                    self.requests.append(time.perf_counter() - sent)
                except OSError as error:
                    self.errors.append(repr(error))
                    time.sleep(1)
                    continue
                if status == 503:  # the server is full: wait as asked, as the phone does
                    self.busy += 1
                    wait = float(head.get("Retry-After") or 1)  # + up to half again, as
                    time.sleep(wait * (1 + self.rnd.uniform(0, 0.5)))  # static/js/backoff.js
                    continue
                break
            self.times.append(time.perf_counter() - t0)
            if status != 200:
                self.errors.append(f"http {status}: {data[:200]!r}")
                continue
            for rec, result in zip(batch, json.loads(data)["results"], strict=True):
                if result["status"] in ("stored", "unchanged"):
                    self.acked.append((rec["id"], rec["rev"]))
                else:
                    self.errors.append(f"answer {result!r:.200}")


class Watcher(threading.Thread):
    """The officer's dashboard every 3 s, /healthz and /login twice a second, until stopped."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.stop = threading.Event()
        self.times: dict[str, list[float]] = {"/reports/": [], "/healthz": [], "/login": []}
        self.failures: list[str] = []
        self.officer = Http(port)
        self.officer.sign_in("canbo")

    def _time(self, client: Http, path: str) -> None:
        t0 = time.perf_counter()
        try:
            status, _, _ = client.call("GET", path)
        except OSError as error:
            self.failures.append(f"{path}: {error!r}")
            return
        self.times[path].append(time.perf_counter() - t0)
        if status != 200:
            self.failures.append(f"{path}: {status}")

    def run(self) -> None:
        last_dashboard = 0.0
        while not self.stop.is_set():
            if time.monotonic() - last_dashboard >= 3:
                last_dashboard = time.monotonic()
                self._time(self.officer, "/reports/")
            self._time(Http(self.port), "/healthz")
            self._time(Http(self.port), "/login")
            self.stop.wait(0.5)


LONE_BATCHES = 20


def _run_phones(phones: list[Phone]) -> float:
    threads = [threading.Thread(target=p.run) for p in phones]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - t0


def _p95(values: list[float]) -> float:
    return percentile(values, 0.95) * 1000 if values else float("nan")


def deadline_night(
    url: str, n_phones: int, n_batches: int, workers: int | None, pools: bool = True
) -> None:
    """N phones of one ward at once through the production server (see the docstring)."""
    app = empty_app(url)
    with app.app_context():
        ward = build_ward(n_phones + 1)
        tokens, units = [], []
        for member_id in ward["members"]:
            user = db.session.get(User, member_id)
            code, _ = enrol.issue_code(user, None)
            token, _device = enrol.enrol_device(code, "bench")
            tokens.append(token)
            units.append(user.unit_id)
        db.session.commit()
        campaign_id, ward_id = ward["campaign_id"], ward["ward_id"]
        rnd = random.Random(7)
        warm_up(app, ward, 5000, rnd)
        db.engine.dispose()
    plan = [[make_records(50, u, rnd) for _ in range(n_batches)] for u in units]
    # The lone phone sends at least LONE_BATCHES, so one dashboard load during its run does
    # not swing the ratio.
    plan[0] = [make_records(50, units[0], rnd) for _ in range(max(n_batches, LONE_BATCHES))]
    log = Path(tempfile.mkdtemp()) / "gunicorn.log"
    server = production_server(url, log, workers, pool="sync" if pools else "web")
    server.start()
    web = server
    if pools:  # the officer, /healthz and /login on the web pool, as nginx routes them
        web = production_server(url, log.with_name("web.log"), pool="web", flush=False)
        web.start()
    watcher = Watcher(web.port)
    watcher.start()
    try:
        watcher.officer.call("GET", "/reports/")  # the figures are live from here on
        alone = Phone(server.port, tokens[0], plan[0])
        alone_s = _run_phones([alone])
        fleet = [Phone(server.port, t, b) for t, b in zip(tokens[1:], plan[1:], strict=True)]
        marks = {k: len(v) for k, v in watcher.times.items()}
        fleet_s = _run_phones(fleet)
        last_answer = time.monotonic()
        where = (TallyPending.campaign_id == campaign_id, TallyPending.ward_id == ward_id)
        _, lag = wait_folded(app, last_answer, *where, limit=120)
    finally:
        watcher.stop.set()
        watcher.join(10)
        server.stop()
        if web is not server:
            web.stop()
    alone_rate = len(alone.acked) / alone_s
    acked = [pair for p in fleet for pair in p.acked]
    fleet_rate = len(acked) / fleet_s
    times = sorted(t for p in fleet for t in p.times)
    requests = sorted(t for p in fleet for t in p.requests)
    during = {k: v[marks[k] :] for k, v in watcher.times.items()}
    errors = [e for p in [alone, *fleet] for e in p.errors] + watcher.failures
    shape = (
        "two pools as deployed: the phones on `sync`, the officer and the probes on `web`"
        if pools
        else "one pool for everything"
    )
    print(
        f"\n{n_phones} phones of one ward, {n_batches} batches of 50 each, through "
        f"gunicorn -c gunicorn.conf.py ({workers or 'its default'} workers; {shape}), "
        "PostgreSQL, Redis, the dashboard loaded every 3 s"
    )
    print(
        f"one phone alone: {alone_rate:,.0f} records/s (a batch in "
        f"{statistics.median(alone.times) * 1000:.0f} ms)"
    )
    print(
        f"all at once: {len(acked):,} records in {fleet_s:.1f} s = {fleet_rate:,.0f} records/s "
        f"= {fleet_rate / alone_rate:.2f}x one phone alone"
    )
    print(
        f"a request until its answer: median {statistics.median(requests):.2f} s, 95th "
        f"percentile {percentile(requests, 0.95):.2f} s, slowest {requests[-1]:.2f} s "
        f"({len(requests)} requests, {sum(p.busy for p in fleet)} answered 503 + Retry-After); "
        f"a batch until stored (its 503 waits included): median "
        f"{statistics.median(times):.2f} s, 95th percentile {percentile(times, 0.95):.2f} s"
    )
    print(
        "meanwhile, 95th percentile: /healthz "
        f"{_p95(during['/healthz']):.0f} ms, /login {_p95(during['/login']):.0f} ms, "
        f"dashboard {_p95(during['/reports/']):.0f} ms "
        f"({len(during['/healthz'])} probes, {len(during['/reports/'])} dashboard loads)"
    )
    print(f"figures caught up {lag:.1f} s after the last answer")
    with app.app_context():
        check = _check(acked + alone.acked, campaign_id, ward_id)
        db.session.remove()
        db.engine.dispose()
    print(
        f"errors {len(errors)}, lost {check['lost']}, duplicated {check['duplicated']}, "
        f"figures equal a fresh count: {check['same']}"
    )
    for error in errors[:5]:
        print("   ", error)


def _check(acked: list[tuple[str, int]], campaign_id: int, ward_id: int) -> dict[str, Any]:
    duplicated = db.session.scalar(
        sa.select(sa.func.count()).select_from(
            sa.select(Assist.record_id, Assist.rev)
            .group_by(Assist.record_id, Assist.rev)
            .having(sa.func.count() > 1)
            .subquery()
        )
    )
    rows = db.session.execute(sa.select(Assist.record_id, Assist.rev))
    stored = {(rid, rev) for rid, rev in rows}
    campaign = db.session.get(Campaign, campaign_id)
    store.catch_up(campaign, ward_id)
    same = store.stored_rows(campaign_id, ward_id) == store.counted_afresh(campaign, ward_id)
    return {"lost": len(set(acked) - stored), "duplicated": duplicated, "same": same}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL URL (its tables are emptied)")
    parser.add_argument("--total", type=int, default=4000, help="records per in-process run")
    parser.add_argument("--repeat", type=int, default=3, help="in-process runs (the median)")
    parser.add_argument("--phones", type=int, default=0, help="phones at once (PostgreSQL)")
    parser.add_argument("--batches", type=int, default=4, help="batches of 50 per phone")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: the config's)")
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument(
        "--one-pool",
        action="store_true",
        help="--phones: one gunicorn for everything (no sync pool), to compare",
    )
    args = parser.parse_args(argv)
    if args.phones and not args.postgres:
        parser.error("--phones needs --postgres (SQLite has a single writer)")
    tmp = tempfile.TemporaryDirectory()
    url = args.postgres or f"sqlite:///{Path(tmp.name) / 'bench.sqlite'}"
    if not args.skip_in_process:
        in_process(url, args.repeat, args.total)
    if args.phones:
        deadline_night(url, args.phones, args.batches, args.workers, not args.one_pool)
    tmp.cleanup()


if __name__ == "__main__":
    main()
