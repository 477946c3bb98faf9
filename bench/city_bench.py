"""Benchmark the city: 114 wards, 1,000,000 assists, the Department's roll-up and 200 phones.

    createdb -h 127.0.0.1 -U postgres fieldapp_city_bench
    .venv/bin/python bench/city_bench.py \\
        --database postgresql+psycopg://postgres@127.0.0.1:5432/fieldapp_city_bench

The database named in --database is emptied (drop_all, create_all) first: give it a database
of its own. Without --database a temporary SQLite file is used (small cities only: the sync
part needs PostgreSQL to mean anything).

What it does, and prints:
1. builds a city (bench/synthetic.py's made-up people): `--wards` wards, communes and special
   zones of `--units` units each (48 residential, 8 agencies, 4 schools at 60), a group head
   and two members per residential unit, an officer per ward, one city campaign, a target
   for every unit, unit reports for about 80 % of agencies and schools, difficulties, and
   `--assists` assists (10 % revised, 2 % voided; phones shared across units and wards);
   bulk loaded with COPY on PostgreSQL, Core executemany on SQLite;
2. counts every ward's stored figures once (rollup.refresh_all: the first read after a bulk
   load counts each ward afresh);
3. times pages through the Flask test client, median and 95th percentile over `--runs`
   loads: the city dashboard and wards.csv (city administrator), a ward's dashboard and
   printable report (its officer), a group head's page; and one ward's full assists.csv
   (time, and peak Python memory sampled while it streams);
4. starts the production server (`gunicorn -c gunicorn.conf.py`, `--workers` threaded
   workers, Redis for the rate limits) over the same database, and `--devices` enrolled phones
   of members across the wards each post `--batches` batches of `--batch-size` records (new
   assists and revisions of earlier ones) all at once, resending after a 503 as the phone does;
   prints records/s, batch times and errors, then checks that no (record, revision) is stored
   twice, that every acknowledged revision is stored, how long the figures took to catch up
   after the last answer, and that each touched ward's figures then equal a fresh count.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from bench.synthetic import (  # noqa: E402
    PASSWORD,
    analyse,
    assist_revisions,
    difficulty_row,
    empty_app,
    login,
    name,
    percentile,
    production_server,
    stream,
    time_page,
    unit_kinds,
    wait_folded,
)
from fieldapp.extensions import db  # noqa: E402
from fieldapp.field.enrol import enrol_device, issue_code  # noqa: E402
from fieldapp.models import (  # noqa: E402
    Assist,
    Campaign,
    Difficulty,
    TallyPending,
    Target,
    Unit,
    UnitReport,
    User,
    Ward,
)
from fieldapp.sync.api import RETRY_AFTER_BUSY  # noqa: E402
from fieldapp.tally import rollup, store  # noqa: E402
from fieldapp.text import fold, resident_key_for  # noqa: E402
from tests.builder import add_campaign, add_user, unit_names  # noqa: E402
from tests.fleet import ACKED, assist_data, record, request, residents  # noqa: E402

# Hải Phòng since July 2025: 45 phường, 67 xã, 2 đặc khu (114 in all).
KIND_SHARES = (("ward", 45), ("commune", 67), ("special_zone", 2))
KIND_WORDS = {"ward": "Phường", "commune": "Xã", "special_zone": "Đặc khu"}
UNIT_LABELS = {"ward": "Tổ dân phố", "commune": "Thôn", "special_zone": "Khu dân cư"}
# Made-up place names: pairs of common syllables.
PLACES = ["An", "Bình", "Hòa", "Phú", "Tân", "Thịnh", "Hưng", "Lạc"]
PLACES += ["Đông", "Tây", "Nam", "Bắc", "Thành", "Xuân", "Vĩnh", "Quang"]
START = datetime(2025, 10, 11, 1, 0)  # UTC: 08:00 in Hải Phòng, the campaign's first day


@dataclass
class City:
    """What the benchmark signs in as and drives, once the city is built."""

    campaign_id: int
    ward_ids: list[int]
    city_admin: str
    officer: str  # an officer of `ward_id`
    head: str  # a group head of `ward_id`
    ward_id: int
    members: list[tuple[int, int, int]] = field(default_factory=list)  # (user, ward, unit)
    assists: int = 0
    rows: int = 0


# --- building -------------------------------------------------------------------------------


def ward_kinds(n_wards: int) -> list[str]:
    """Kinds in Hải Phòng's proportions: 45 phường, 67 xã, 2 đặc khu at 114."""
    kinds: list[str] = []
    for kind, share in KIND_SHARES[:2]:
        kinds += [kind] * round(n_wards * share / 114)
    kinds = kinds[:n_wards]
    special = ["special_zone"] * min(2, max(0, n_wards - len(kinds)))
    return kinds + special + ["commune"] * (n_wards - len(kinds) - len(special))


def _place(index: int) -> str:
    """A made-up place name, distinct for every index."""
    pairs = [f"{a} {b}" for a in PLACES for b in PLACES if a != b]
    lap, index = divmod(index, len(pairs))
    return pairs[index] + (f" {lap + 1}" if lap else "")


def _insert_returning(model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert many rows (Core executemany), returning their ids in order."""
    table = model.__table__
    statement = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(db.session.scalars(statement, rows))


def bulk_insert(table: sa.Table, rows: Iterable[dict[str, Any]]) -> int:
    """Insert rows fast: COPY on PostgreSQL, executemany in chunks elsewhere. Returns the count.

    Runs in the session's transaction (the caller commits). Column defaults are not applied:
    every row carries every column it needs.
    """
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    columns = list(first)
    count = 0
    if db.session.get_bind().dialect.name == "postgresql":
        raw = db.session.connection().connection.driver_connection
        names = ", ".join(f'"{c}"' for c in columns)
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in _chain(first, rows):
                copy.write_row([row[c] for c in columns])
                count += 1
        return count
    chunk = []
    for row in _chain(first, rows):
        chunk.append(row)
        if len(chunk) == 10_000:
            db.session.execute(sa.insert(table), chunk)
            count += len(chunk)
            chunk = []
    if chunk:
        db.session.execute(sa.insert(table), chunk)
        count += len(chunk)
    return count


@contextlib.contextmanager
def indexes_deferred(table: sa.Table) -> Iterator[None]:
    """On PostgreSQL, drop the table's indexes and unique constraints for a bulk load and
    build them once afterwards (much faster than keeping nine indexes up to date row by row).
    Foreign keys stay, so every row is still checked against its ward, unit and person."""
    if db.session.get_bind().dialect.name != "postgresql":
        yield
        return
    conn = db.session.connection()
    indexes = sorted(table.indexes, key=lambda ix: ix.name)
    uniques = [c for c in table.constraints if isinstance(c, sa.UniqueConstraint)]
    for index in indexes:
        conn.execute(sa.schema.DropIndex(index))
    for unique in uniques:
        conn.execute(sa.schema.DropConstraint(unique))
    yield
    conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
    for unique in uniques:
        conn.execute(sa.schema.AddConstraint(unique))
    for index in indexes:
        conn.execute(sa.schema.CreateIndex(index))


def _chain(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest


def build_city(
    n_wards: int = 114, n_units: int = 60, n_assists: int = 1_000_000, seed: int = 11
) -> City:
    """Fill an empty database with a synthetic city (commits). See the module's docstring."""
    rnd = random.Random(seed)
    password = generate_password_hash(PASSWORD)
    kinds = ward_kinds(n_wards)
    ward_ids = _insert_returning(
        Ward,
        [
            {
                "code": f"HP{i + 1:03d}",
                "name": f"{KIND_WORDS[kind]} {_place(i)}",
                "kind": kind,
                "unit_label": UNIT_LABELS[kind],
                "created_at": START,
            }
            for i, kind in enumerate(kinds)
        ],
    )
    campaign = add_campaign(None)
    add_user("so_khcn", "city_admin", None, name="Đinh Thị Quỳnh", password_hash=password)

    unit_rows = []
    each_ward = unit_kinds(n_units)
    for ward_id, kind in zip(ward_ids, kinds, strict=True):
        names = unit_names(each_ward, UNIT_LABELS[kind] + " số {}")
        for unit_kind, label in zip(each_ward, names, strict=True):
            unit_rows.append(
                {
                    "ward_id": ward_id,
                    "kind": unit_kind,
                    "name": label,
                    "active": True,
                    "created_at": START,
                }
            )
    unit_ids = _insert_returning(Unit, unit_rows)
    units = [
        (uid, row["ward_id"], row["kind"]) for uid, row in zip(unit_ids, unit_rows, strict=True)
    ]

    people = []
    for ward_id in ward_ids:
        people.append(_person(f"canbo_{ward_id}", "officer", ward_id, None, rnd, password))
    for unit_id, ward_id, kind in units:
        if kind == "residential":
            people.append(_person(f"tt{unit_id}", "group_head", ward_id, unit_id, rnd, password))
            for k in (1, 2):
                people.append(_person(f"tv{unit_id}_{k}", "member", ward_id, unit_id, rnd, None))
    user_ids = _insert_returning(User, people)
    field_people: dict[int, list[int]] = {}
    members = []
    for uid, person in zip(user_ids, people, strict=True):
        if person["unit_id"] is not None:
            field_people.setdefault(person["unit_id"], []).append(uid)
        if person["role"] == "member":
            members.append((uid, person["ward_id"], person["unit_id"]))

    targets, reports = [], []
    for unit_id, _ward_id, kind in units:
        if kind == "residential":
            targets.append(
                {"unit_id": unit_id, "campaign_id": campaign.id, "value": rnd.randint(100, 300)}
            )
            continue
        targets.append(
            {"unit_id": unit_id, "campaign_id": campaign.id, "value": rnd.randint(50, 600)}
        )
        if rnd.random() < 0.8:  # some have not reported yet
            done = rnd.randint(10, 600)
            reports.append(
                {
                    "unit_id": unit_id,
                    "campaign_id": campaign.id,
                    "completed": done,
                    "attempts": done + rnd.randint(0, done),
                    "pupils": done - min(done, 20) if kind == "school" else None,
                    "teachers": min(done, 20) if kind == "school" else None,
                    "note": None,
                    "updated_at": START,
                }
            )
    bulk_insert(Target.__table__, targets)
    bulk_insert(UnitReport.__table__, reports)
    db.session.commit()

    residential: dict[int, list[int]] = {}
    for unit_id, ward_id, kind in units:
        if kind == "residential":
            residential.setdefault(ward_id, []).append(unit_id)
    city = City(
        campaign_id=campaign.id,
        ward_ids=ward_ids,
        city_admin="so_khcn",
        ward_id=ward_ids[len(ward_ids) // 2],
        officer=f"canbo_{ward_ids[len(ward_ids) // 2]}",
        head="",
        members=members,
    )
    first_unit = residential[city.ward_id][0]
    city.head = f"tt{first_unit}"
    phones: list[str] = []  # shared by the whole city: residents come back across wards

    def assists() -> Iterator[dict[str, Any]]:
        for index, ward_id in enumerate(ward_ids):
            share = n_assists // n_wards + (index < n_assists % n_wards)
            for _ in range(share):
                unit_id = rnd.choice(residential[ward_id])
                for row in assist_revisions(
                    rnd,
                    ward_id=ward_id,
                    campaign_id=campaign.id,
                    unit_id=unit_id,
                    user_ids=field_people[unit_id],
                    phones=phones,
                    start=START,
                ):
                    row["device_id"] = None
                    row["erased_at"] = None
                    row["resident_key"] = resident_key_for(
                        row["phone"], row["name_key"], row["birth_year"], unit_id, row["record_id"]
                    )
                    yield row

    def difficulties() -> Iterator[dict[str, Any]]:
        for index, ward_id in enumerate(ward_ids):
            share = n_assists // 100 // n_wards + (index < n_assists // 100 % n_wards)
            for _ in range(max(1, share)):
                unit_id = rnd.choice(residential[ward_id])
                row = difficulty_row(
                    rnd,
                    ward_id=ward_id,
                    campaign_id=campaign.id,
                    unit_id=unit_id,
                    user_ids=field_people[unit_id],
                    start=START,
                )
                yield row | {"device_id": None, "resolved_by_id": None}

    with indexes_deferred(Assist.__table__):
        city.rows = bulk_insert(Assist.__table__, assists())
    city.assists = n_assists
    bulk_insert(Difficulty.__table__, difficulties())
    db.session.commit()
    analyse()
    return city


def _person(
    username: str, role: str, ward_id: int, unit_id: int | None, rnd: random.Random, pw: str | None
) -> dict[str, Any]:
    full_name = name(rnd)
    return {
        "username": username,
        "role": role,
        "ward_id": ward_id,
        "unit_id": unit_id,
        "full_name": full_name,
        "name_key": fold(full_name),
        "phone": None,
        "password_hash": pw,
        "active": True,
        "created_at": START,
    }


# --- measuring pages ------------------------------------------------------------------------


def measure_pages(app: Flask, city: City, runs: int, every: int = 1000) -> dict[str, Any]:
    """Time every page and download; print and return the figures."""
    clients = {}
    for who in ("city_admin", "officer", "head"):
        clients[who] = app.test_client()
        login(clients[who], getattr(city, who))
    pages = [
        ("city dashboard /city/reports/", "city_admin", "/city/reports/"),
        ("wards.csv /city/reports/wards.csv", "city_admin", "/city/reports/wards.csv"),
        ("ward dashboard /reports/", "officer", "/reports/"),
        ("group head /unit", "head", "/unit"),
        ("printable report /reports/print", "officer", "/reports/print"),
    ]
    found: dict[str, Any] = {}
    for label, who, url in pages:
        try:
            median, p95 = time_page(clients[who], url, runs)
        except Exception as error:  # noqa: BLE001 - a failing page is a figure too
            found[url + " error"] = repr(error)
            print(f"{label}: FAILS when called as a WSGI server calls it: {error!r:.160}")
            # Measured as the test suite's client calls it (an app context held around the
            # request keeps the view's session alive while the response streams).
            median, p95 = time_page(clients[who], url, runs, context=app.app_context)
            label += " (inside an app context, as tests/conftest.py's client)"
        found[url] = (median, p95)
        print(f"{label}: median {median:.0f} ms, 95th percentile {p95:.0f} ms ({runs} loads)")
    officer = clients["officer"]
    seconds, size, lines, _ = stream(officer, "/reports/assists.csv", trace=False)
    print(
        f"assists.csv of one ward: {lines:,} rows, {size / 2**20:.1f} MiB in {seconds:.2f} s "
        f"({lines / max(seconds, 1e-9):,.0f} rows/s)"
    )
    _, _, _, samples = stream(officer, "/reports/assists.csv", trace=True, every=every)
    shown = ", ".join(f"{s:.1f}" for s in samples)
    print(f"assists.csv peak Python memory (tracemalloc, MiB) every {every:,} rows: {shown}")
    found["assists.csv"] = (seconds, lines, samples)
    return found


# --- sync through gunicorn ------------------------------------------------------------------


@dataclass
class Device:
    member_id: int
    ward_id: int
    unit_id: int
    token: str
    sent: list[tuple[str, int]] = field(default_factory=list)  # (id, rev) acknowledged
    errors: list[str] = field(default_factory=list)
    busy: int = 0  # 503 + Retry-After answers, each followed by the same batch again
    latencies: list[float] = field(default_factory=list)


def enrol_devices(city: City, count: int) -> list[Device]:
    """Enrol one phone for each of `count` members, taken round the wards in turn (commits)."""
    by_ward: dict[int, list[tuple[int, int, int]]] = {}
    for member in city.members:
        by_ward.setdefault(member[1], []).append(member)
    chosen: list[tuple[int, int, int]] = []
    turn = 0
    while len(chosen) < count and any(by_ward.values()):
        for ward_id in city.ward_ids:
            if by_ward.get(ward_id) and len(chosen) < count:
                queue = by_ward[ward_id]
                chosen.append(queue.pop(turn * 7 % len(queue)))
        turn += 1
    devices = []
    for member_id, ward_id, unit_id in chosen:
        user = db.session.get(User, member_id)
        code, _row = issue_code(user, created_by=None)
        token, _device = enrol_device(code, f"Máy bench {member_id}")
        devices.append(Device(member_id, ward_id, unit_id, token))
    db.session.commit()
    return devices


def _drive(
    device: Device, port: int, batches: int, size: int, seed: int, start: threading.Barrier
) -> None:
    """Post `batches` batches: new assists, and from the second on a fifth revisions of
    earlier ones (one in five of those a void)."""
    rng = random.Random(seed)
    people = residents(800, random.Random(2025))  # the same residents for every phone
    mine: list[dict] = []
    start.wait(timeout=120)
    for number in range(batches):
        batch = []
        revisions = size // 5 if number and mine else 0
        for old in rng.sample(mine, min(revisions, len(mine))):
            edited = dict(old["data"], steps=["installed", "registered", "tested"], attempts=2)
            newer = record(old["id"], old["rev"] + 1, "assist", edited, voided=rng.random() < 0.2)
            batch.append(newer)
        while len(batch) < size:
            data = assist_data(rng.choice(people), device.unit_id, rng)
            batch.append(record(str(uuid.uuid4()), 1, "assist", data))
        t0 = time.perf_counter()
        try:
            status, body = send_until_taken(port, batch, device, rng)
        except OSError as error:
            device.errors.append(f"connection: {error!r}")
            continue
        device.latencies.append(time.perf_counter() - t0)
        if status != 200:
            device.errors.append(f"http {status}: {body!r:.200}")
            continue
        for rec, result in zip(batch, body["results"], strict=True):
            if result.get("status") not in ACKED or (result["id"], result["rev"]) != (
                rec["id"],
                rec["rev"],
            ):
                device.errors.append(f"answer {result!r:.200}")
                continue
            device.sent.append((rec["id"], rec["rev"]))
            if rec["rev"] == 1:
                mine.append(rec)
            else:
                mine = [r if r["id"] != rec["id"] else rec for r in mine]
        mine = [r for r in mine if not r["voided"]]


def send_until_taken(
    port: int, batch: list[dict], device: Device, rng: random.Random
) -> tuple[int, Any]:
    """POST a batch; on the contract's 503 + Retry-After wait as asked (with the phone's jitter)
    and send it again. Returns the final answer."""
    while True:
        status, body = request(
            port, "POST", "/api/v1/sync", {"records": batch}, device.token, timeout=300
        )
        if status != 503 or not isinstance(body, dict) or body.get("error") != "busy":
            return status, body
        device.busy += 1
        # The phone's wait (static/js/backoff.js): the Retry-After, and up to half of it again.
        time.sleep(RETRY_AFTER_BUSY * (1 + rng.uniform(0, 0.5)))


def run_fleet(
    app: Flask,
    database_url: str,
    devices: list[Device],
    batches: int,
    size: int,
    workers: int,
    log: Path,
) -> dict[str, Any]:
    """All devices post at once through the production server; prints and returns figures."""
    server = production_server(database_url, log, workers, pool="sync")  # as nginx routes them
    server.start()
    barrier = threading.Barrier(len(devices) + 1)
    try:
        with ThreadPoolExecutor(max_workers=len(devices)) as pool:
            futures = [
                pool.submit(_drive, d, server.port, batches, size, 1000 + i, barrier)
                for i, d in enumerate(devices)
            ]
            barrier.wait(timeout=120)
            t0 = time.perf_counter()
            for future in futures:
                future.result()
            seconds = time.perf_counter() - t0
        left, lag = wait_folded(app, time.monotonic())  # the server folds by itself
    finally:
        server.stop()
    stored = sum(len(d.sent) for d in devices)
    errors = [e for d in devices for e in d.errors]
    latencies = sorted(x for d in devices for x in d.latencies)
    busy = sum(d.busy for d in devices)
    print(
        f"sync: {len(devices)} devices × {batches} batches of {size} through gunicorn -c "
        f"gunicorn.conf.py -w {workers}, all at once: {stored:,} records acknowledged in "
        f"{seconds:.1f} s = {stored / seconds:,.0f} records/s; a batch took median "
        f"{statistics.median(latencies):.2f} s, 95th percentile "
        f"{percentile(latencies, 0.95):.2f} s until stored (503 waits and resends included; "
        f"{busy} answers were 503 + Retry-After); errors: {len(errors)}"
    )
    print(
        f"figures of every ward caught up {lag:.1f} s after the last answer ({left:,} changes "
        "were waiting to be folded in then)"
    )
    for error in errors[:5]:
        print("   ", error)
    return {"seconds": seconds, "stored": stored, "errors": errors, "busy": busy, "lag": lag}


def check_sync(city: City, devices: list[Device]) -> dict[str, Any]:
    """No duplicate revisions, every acknowledged one stored, kept figures equal a rebuild."""
    t0 = time.perf_counter()
    duplicates = db.session.scalar(
        sa.select(sa.func.count()).select_from(
            sa.select(Assist.record_id, Assist.rev)
            .group_by(Assist.record_id, Assist.rev)
            .having(sa.func.count() > 1)
            .subquery()
        )
    )
    double_current = db.session.scalar(
        sa.select(sa.func.count()).select_from(
            sa.select(Assist.record_id)
            .where(Assist.is_current)
            .group_by(Assist.record_id)
            .having(sa.func.count() > 1)
            .subquery()
        )
    )
    acknowledged = {pair for d in devices for pair in d.sent}
    ids = sorted({rid for rid, _ in acknowledged})
    found: set[tuple[str, int]] = set()
    for start in range(0, len(ids), 1000):
        rows = db.session.execute(
            sa.select(Assist.record_id, Assist.rev).where(
                Assist.record_id.in_(ids[start : start + 1000])
            )
        )
        found.update((record_id, rev) for record_id, rev in rows)
    missing = len(acknowledged - found)
    campaign = db.session.get(Campaign, city.campaign_id)
    touched = sorted({d.ward_id for d in devices})
    left = db.session.scalar(sa.select(sa.func.count()).select_from(TallyPending)) or 0
    for ward_id in touched:
        store.catch_up(campaign, ward_id)
    differ = [
        w for w in touched if store.stored_rows(campaign.id, w) != store.counted_afresh(campaign, w)
    ]
    print(
        f"check after sync ({time.perf_counter() - t0:.0f} s): duplicate (record, revision) "
        f"rows {duplicates}, records with two current revisions {double_current}, "
        f"acknowledged but not stored {missing} of {len(acknowledged):,}; changes not yet "
        f"folded in when the server stopped: {left}; {len(touched)} touched wards: figures "
        f"equal a fresh count in {len(touched) - len(differ)}, differ in {len(differ)}"
        f"{differ[:5] if differ else ''}"
    )
    return {
        "duplicates": duplicates,
        "double_current": double_current,
        "missing": missing,
        "differ": differ,
    }


# --- the run --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument("--wards", type=int, default=114)
    parser.add_argument("--units", type=int, default=60)
    parser.add_argument("--assists", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--skip-sync", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database or f"sqlite:///{Path(tmp.name) / 'city.sqlite'}"
    app = empty_app(url)
    with app.app_context():
        print(f"backend: {db.engine.dialect.name}")
        t0 = time.perf_counter()
        city = build_city(args.wards, args.units, args.assists)
        print(
            f"built: {args.wards} wards × {args.units} units, "
            f"{len(city.members) * 3 // 2 + args.wards:,} people, {city.assists:,} assists "
            f"({city.rows:,} revision rows) in {time.perf_counter() - t0:.0f} s "
            "(VACUUM ANALYZE included)"
        )
        campaign = db.session.get(Campaign, city.campaign_id)
        t0 = time.perf_counter()
        rollup.refresh_all(campaign, city.ward_ids)
        print(
            f"stored figures counted once for {len(city.ward_ids)} wards in "
            f"{time.perf_counter() - t0:.0f} s (after a bulk load only: changes are folded in "
            "from then on)"
        )
        analyse()  # the new tally_figures rows, as autovacuum would (it is off on some servers)
        t0 = time.perf_counter()
        assert rollup.refresh_all(campaign, city.ward_ids) is None
        check = (time.perf_counter() - t0) * 1000
        print(f"the roll-up's freshness check of {args.wards} wards: {check:.0f} ms")
    measure_pages(app, city, args.runs)
    if args.skip_sync:
        return
    with app.app_context():
        devices = enrol_devices(city, args.devices)
        db.session.remove()
    log = Path(tmp.name) / "gunicorn.log"
    run_fleet(app, url, devices, args.batches, args.batch_size, args.workers, log)
    with app.app_context():
        check_sync(city, devices)
    if "Traceback" in log.read_text(errors="replace"):
        print("gunicorn's log holds a traceback:\n" + log.read_text(errors="replace")[-3000:])


if __name__ == "__main__":
    main()
