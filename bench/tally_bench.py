"""Benchmark the tally: dashboard and group head page render times, assists.csv streaming.

    .venv/bin/python bench/tally_bench.py                       # SQLite, 200,000 assists
    .venv/bin/python bench/tally_bench.py --database postgresql+psycopg://postgres@127.0.0.1:5432/fieldapp_tally_bench
    .venv/bin/python bench/tally_bench.py --assists 20000 --keep /tmp/demo.sqlite  # demo data

Every assist gets its resident_key from the column default (text.resident_key_for), as the
app's own inserts do. The data are synthetic (names made up from common Vietnamese name
parts): a ward of 60 units
(48 residential groups, 8 agencies, 4 schools), about 10 % of records revised, 2 % voided,
70 % with a phone, some residents helped twice or in two units. PostgreSQL: the database named
in --database is emptied (drop_all) first, so give it a database of its own.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from bench.synthetic import (  # noqa: E402
    PASSWORD,
    analyse,
    assist_revisions,
    difficulty_row,
    empty_app,
    login,
    name,
    phone,
    stream,
    time_page,
    unit_kinds,
)
from fieldapp.extensions import db  # noqa: E402
from fieldapp.models import Assist, Campaign, Difficulty, Target, Unit, UnitReport, User, Ward  # noqa: E402
from fieldapp.sync import contract  # noqa: E402
from fieldapp.tally import store  # noqa: E402
from tests.builder import add_campaign, add_user, unit_names  # noqa: E402


def populate(n_assists: int, n_units: int = 60, seed: int = 7) -> dict[str, object]:
    """Fill an empty database with one synthetic ward; returns usernames to sign in with."""
    rnd = random.Random(seed)
    ward = Ward(name="Phường Thành Đông", code="TD", unit_label="Khu dân cư")
    db.session.add(ward)
    db.session.flush()
    campaign = add_campaign(ward, contest_url="", kept=False, consent=False)
    kinds = unit_kinds(n_units)
    units = [
        Unit(ward_id=ward.id, kind=kind, name=label)
        for kind, label in zip(kinds, unit_names(kinds), strict=True)
    ]
    db.session.add_all(units)
    db.session.flush()
    pw = generate_password_hash(PASSWORD)
    add_user("canbo", "officer", ward, name="Trần Thị Thu", password_hash=pw)
    members: dict[int, list[int]] = {}
    heads = []
    for unit in units:
        db.session.add(
            Target(unit_id=unit.id, campaign_id=campaign.id, value=rnd.randint(200, 6000))
        )
        if unit.kind != "residential":
            if rnd.random() < 0.8:  # some have not reported yet
                done = rnd.randint(10, 600)
                db.session.add(
                    UnitReport(
                        unit_id=unit.id,
                        campaign_id=campaign.id,
                        completed=done,
                        attempts=done + rnd.randint(0, done),
                        pupils=done - 20 if unit.kind == "school" else None,
                        teachers=20 if unit.kind == "school" else None,
                    )
                )
            continue
        head = add_user(f"totruong{unit.id}", "group_head", ward, unit, name(rnd), pw)
        heads.append(head)
        group = [head]
        for k in range(3):
            group.append(add_user(f"tv{unit.id}_{k}", "member", ward, unit, name(rnd)))
        db.session.flush()
        members[unit.id] = [u.id for u in group]
    db.session.commit()
    residential = [u.id for u in units if u.kind == "residential"]
    start = datetime(2025, 10, 11, 1, 0)
    rows: list[dict[str, object]] = []
    phones: list[str] = []
    made = 0
    while made < n_assists:
        unit_id = rnd.choice(residential)
        rows += assist_revisions(
            rnd,
            ward_id=ward.id,
            campaign_id=campaign.id,
            unit_id=unit_id,
            user_ids=members[unit_id],
            phones=phones,
            start=start,
        )
        made += 1
        if len(rows) >= 10_000:
            db.session.execute(sa.insert(Assist), rows)
            db.session.commit()
            rows = []
    if rows:
        db.session.execute(sa.insert(Assist), rows)
    difficulties = []
    for _ in range(max(10, n_assists // 100)):
        unit_id = rnd.choice(residential)
        difficulties.append(
            difficulty_row(
                rnd,
                ward_id=ward.id,
                campaign_id=campaign.id,
                unit_id=unit_id,
                user_ids=members[unit_id],
                start=start,
            )
        )
    db.session.execute(sa.insert(Difficulty), difficulties)
    db.session.commit()
    analyse()
    return {"officer": "canbo", "head": heads[0].username}


def _sync_record(unit_id: int) -> dict[str, object]:
    """A new assist as a phone sends it (made-up resident)."""
    rnd = random.Random()
    return {
        "id": str(uuid.uuid4()),
        "rev": 1,
        "type": "assist",
        "recorded_at": datetime.now(UTC).isoformat(),
        "data": {
            "full_name": name(rnd),
            "birth_year": rnd.randint(1940, 2005),
            "phone": phone(rnd),
            "unit_id": unit_id,
            "category": "elderly",
            "steps": ["installed", "registered"],
            "attempts": 0,
            "consent": True,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument("--assists", type=int, default=200_000)
    parser.add_argument("--units", type=int, default=60)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", help="SQLite file to keep the data in (for demos)")
    parser.add_argument(
        "--leave-out-other-days",
        action="store_true",
        help="the campaign counts only entries logged on its own days (count_outside off)",
    )
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database or f"sqlite:///{args.keep or Path(tmp.name) / 'bench.sqlite'}"
    app = empty_app(url)
    with app.app_context():
        t0 = time.perf_counter()
        people = populate(args.assists, args.units)
        if args.leave_out_other_days:
            db.session.scalar(sa.select(Campaign)).count_outside = False
            db.session.commit()
        rows = db.session.scalar(sa.select(sa.func.count()).select_from(Assist))
        print(f"backend: {db.engine.dialect.name}")
        print(f"entries outside the campaign's days counted: {not args.leave_out_other_days}")
        print(
            f"data: {args.assists:,} assists ({rows:,} revision rows), {args.units} units, "
            f"built in {time.perf_counter() - t0:.1f} s"
        )
    if args.keep:
        print(f"kept in {args.keep}; sign in as canbo / {people['head']} with {PASSWORD}")
        return
    officer = app.test_client()
    login(officer, str(people["officer"]))
    head = app.test_client()
    login(head, str(people["head"]))
    pages = [
        ("officer dashboard /reports/", officer, "/reports/"),
        ("group head page /unit", head, "/unit"),
        ("printable report /reports/print", officer, "/reports/print"),
    ]
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign))
        campaign_id, ward_id = campaign.id, campaign.ward_id
        t0 = time.perf_counter()
        store.settle(campaign, ward_id)
        print(
            "first read after the bulk load: the ward's figures counted afresh and stored in "
            f"{time.perf_counter() - t0:.1f} s (once; later changes are folded in)"
        )
    for label, client, url in pages:
        median, p95 = time_page(client, url, args.runs)
        print(f"{label}: median {median:.0f} ms, 95th percentile {p95:.0f} ms")
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)  # the earlier app context has ended
        user = db.session.scalar(sa.select(User).where(User.username == people["head"]))
        batch_times, fold_times = [], []
        for _ in range(args.runs):
            batch = [_sync_record(user.unit_id) for _ in range(50)]
            t0 = time.perf_counter()
            results = contract.sync_records(batch, user)["results"]
            t1 = time.perf_counter()
            assert store.catch_up(campaign, ward_id) == store.CAUGHT_UP
            batch_times.append((t1 - t0) * 1000)
            fold_times.append((time.perf_counter() - t1) * 1000)
            assert {r["status"] for r in results} == {"stored"}, results[:2]
        print(
            "a phone's batch of 50 new assists through sync: answered in median "
            f"{statistics.median(batch_times):.0f} ms, then folded into the figures in "
            f"{statistics.median(fold_times):.0f} ms"
        )
        assert store.settle(campaign, ward_id) is None  # folded in, nothing left
    median, p95 = time_page(officer, "/reports/", args.runs)
    print(f"officer dashboard after those batches: median {median:.0f} ms, 95th {p95:.0f} ms")
    seconds, size, lines, _ = stream(officer, "/reports/assists.csv", trace=False)
    print(
        f"assists.csv: {lines:,} rows, {size / 2**20:.1f} MiB in {seconds:.1f} s "
        f"({lines / seconds:,.0f} rows/s)"
    )
    _, _, _, samples = stream(officer, "/reports/assists.csv", trace=True)
    shown = ", ".join(f"{s:.1f}" for s in samples)
    print(f"assists.csv peak Python memory (tracemalloc, MiB) every 20,000 rows: {shown}")


if __name__ == "__main__":
    main()
