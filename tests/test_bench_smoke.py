"""bench/city_bench.py still runs: a tiny city is built, counted, its pages loaded and two
phones sync through gunicorn. Nothing here is timed; the figures are the benchmark's."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from bench import city_bench
from fieldapp.extensions import db
from fieldapp.models import (
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
from fieldapp.tally import rollup


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_the_city_benchmark_builds_measures_and_syncs_a_tiny_city(
    app: Flask, tmp_path: Path
) -> None:
    city = city_bench.build_city(n_wards=2, n_units=3, n_assists=200)

    # What was built: 2 wards of 3 units (2 residential, 1 school), their people, the city's
    # campaign, targets, and 200 assists (each one current row, some after a replaced one).
    assert sorted(db.session.scalars(sa.select(Ward.kind))) == ["commune", "ward"]
    assert count(Unit) == 6 and count(Unit, Unit.kind == "residential") == 4
    assert count(User, User.role == "officer") == 2
    assert count(User, User.role == "group_head") == 4
    assert count(User, User.role == "member") == len(city.members) == 8
    assert count(User, User.role == "city_admin") == 1
    campaign = db.session.get(Campaign, city.campaign_id)
    assert campaign.ward_id is None  # the city's
    assert count(Target) == 6
    assert count(UnitReport) <= 2
    assert count(Assist, Assist.is_current) == city.assists == 200
    assert count(Assist) == city.rows > 200  # revisions kept
    assert count(Difficulty) >= 2
    # The resident key the bulk load computed is the one the column default would give.
    row = db.session.execute(sa.select(Assist).limit(1)).scalar_one()
    assert len(row.resident_key) == 32

    assert rollup.refresh_all(campaign, city.ward_ids) is None  # every ward counted once
    assert rollup.refresh_all(campaign, city.ward_ids) is None

    found = city_bench.measure_pages(app, city, runs=1, every=50)
    for url in ("/city/reports/", "/city/reports/wards.csv", "/reports/", "/unit"):
        median, p95 = found[url]
        assert 0 < median <= p95
    _seconds, lines, samples = found["assists.csv"]
    counted = (Assist.ward_id == city.ward_id, Assist.is_current, ~Assist.voided)
    assert lines == count(Assist, *counted) and samples

    devices = city_bench.enrol_devices(city, 2)
    assert {d.ward_id for d in devices} == set(city.ward_ids)  # spread over the wards
    db.session.remove()
    result = city_bench.run_fleet(
        app, app.config["SQLALCHEMY_DATABASE_URI"], devices, 2, 5, 2, tmp_path / "gunicorn.log"
    )
    assert result["errors"] == [] and result["stored"] == 2 * 2 * 5
    assert count(TallyPending) == 0  # the server folded everything before it was stopped
    check = city_bench.check_sync(city, devices)
    assert check == {"duplicates": 0, "double_current": 0, "missing": 0, "differ": []}
    assert count(Assist, Assist.is_current) == 200 + 2 * (5 + 4)  # second batches: 1 revision


def test_the_export_benchmark_runs_on_a_small_ward() -> None:
    """bench/export_bench.py still runs end to end (no figure is checked: they are its own)."""
    import re
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "bench/export_bench.py", "--assists", "300", "--runs", "1", "--openpyxl"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert re.search(r"assists\.csv: [0-9,]+ rows", done.stdout), done.stdout
    assert "ward.xlsx (4 sheets" in done.stdout and "openpyxl's write-only mode" in done.stdout


def test_the_cpu_share_script_tells_the_kinds_of_process_apart() -> None:
    """bench/cpu_share.py's grouping of the processes it reads (its figures are its own)."""
    import os

    from bench import cpu_share

    gunicorn = "/w/.venv/bin/python /w/.venv/bin/gunicorn -c /w/gunicorn.conf.py app:app"
    assert cpu_share.kind(gunicorn) == "gunicorn"
    assert cpu_share.kind("postgres: 15/main: postgres test 127.0.0.1(41234) idle") == "PostgreSQL"
    assert cpu_share.kind("/usr/lib/postgresql/15/bin/postgres -D /var/lib/x") == "PostgreSQL"
    bench = ".venv/bin/python bench/city_bench.py --database postgresql+psycopg://postgres@h/db"
    assert cpu_share.kind(bench) == "benchmark (client)"
    assert cpu_share.kind("/usr/bin/redis-server 127.0.0.1:6379") == "Redis"
    seen = cpu_share.processes()
    assert os.getppid() in seen and os.getpid() not in seen  # (it leaves itself out)
    assert all(ticks >= 0 for _, ticks in seen.values())
    assert len(cpu_share.machine()) == 8


def test_the_cpu_share_script_counts_a_process_that_ended_before_the_last_reading() -> None:
    """A stopping gunicorn's workers end before its master: what they spent stays theirs."""
    from bench import cpu_share

    first = {1: ("gunicorn", 10), 2: ("gunicorn", 100), 3: ("PostgreSQL", 50)}
    readings = [
        {1: ("gunicorn", 12), 2: ("gunicorn", 400), 3: ("PostgreSQL", 80), 4: ("other", 5)},
        {1: ("gunicorn", 13), 3: ("PostgreSQL", 90)},  # worker 2 and process 4 have ended
    ]
    latest = dict(first)
    for reading in readings:
        latest.update(reading)
    shares = cpu_share.by_kind(first, latest)
    assert shares == {"gunicorn": 3 + 300, "PostgreSQL": 40, "other": 5}


ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(
    [*ROOT.glob("bench/*.py"), *ROOT.glob("tools/*.py"), ROOT / "bench" / "lighthouse.sh"]
)


def test_every_script_in_bench_and_tools_says_its_usage_and_changes_nothing() -> None:
    """`--help` answers from the README's virtual environment, with no other path assumed,
    and does none of the work (no icon rewritten, no server started)."""
    import subprocess
    import sys

    assert len(SCRIPTS) >= 10
    for script in SCRIPTS:
        command = ["bash", str(script)] if script.suffix == ".sh" else [sys.executable, str(script)]
        done = subprocess.run(
            [*command, "--help"], capture_output=True, text=True, timeout=120, cwd=ROOT
        )
        assert done.returncode == 0, (script, done.stderr[-500:])
        assert len(done.stdout.strip().splitlines()) >= 2, script
