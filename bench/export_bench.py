"""Benchmark the officer's downloads: assists.csv rows/s and memory, the ward's workbook.

    python bench/export_bench.py                      # SQLite, a ward of 200,000 assists
    python bench/export_bench.py --database postgresql+psycopg://postgres@127.0.0.1:5432/fieldapp_export_bench
    python bench/export_bench.py --openpyxl           # also the same sheet by openpyxl

The ward is tally_bench's synthetic one (60 units, 10 % of records revised, 2 % voided, made-up
names). PostgreSQL: the database named in --database is emptied first, so give it one of its
own. Each download goes through the app as the officer's browser gets it (the Flask test
client, streamed); a warm-up download first, then the timed ones; memory is Python's peak
(tracemalloc) in a run of its own, sampled every 20,000 rows for the CSV.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from bench.synthetic import empty_app, login, stream  # noqa: E402
from bench.tally_bench import populate  # noqa: E402
from fieldapp.extensions import db  # noqa: E402
from fieldapp.models import Assist, Campaign  # noqa: E402
from fieldapp.reports import exports  # noqa: E402


def workbook(client, trace: bool) -> tuple[float, int, float]:
    """(seconds, bytes, peak MiB or 0) for one download of the ward's workbook."""
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    response = client.get("/reports/ward.xlsx", buffered=False)
    assert response.status_code == 200, response.status_code
    size = sum(len(chunk) for chunk in response.response)
    response.close()
    seconds = time.perf_counter() - t0
    peak = 0.0
    if trace:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return seconds, size, peak


def openpyxl_sheet(app, campaign_id: int) -> tuple[float, int]:
    """(seconds, rows) to write the assists sheet's rows with openpyxl's write-only mode."""
    from openpyxl import Workbook

    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        ids = list(db.session.scalars(sa.select(Assist.unit_id).distinct()))
        sheet = exports.assists_sheet(campaign, ids)
        book = Workbook(write_only=True)
        ws = book.create_sheet(sheet.title)
        t0 = time.perf_counter()
        ws.append(sheet.header)
        rows = 0
        for row in sheet.rows:
            ws.append(row)
            rows += 1
        with tempfile.TemporaryFile() as out:
            book.save(out)
        return time.perf_counter() - t0, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument("--assists", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--openpyxl", action="store_true", help="time openpyxl's write-only too")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database or f"sqlite:///{Path(tmp.name) / 'bench.sqlite'}"
    app = empty_app(url)
    with app.app_context():
        t0 = time.perf_counter()
        people = populate(args.assists)
        campaign_id = db.session.scalar(sa.select(Campaign.id))
        print(f"backend: {db.engine.dialect.name}")
        print(f"data: {args.assists:,} assists, built in {time.perf_counter() - t0:.1f} s")
    officer = app.test_client()
    login(officer, str(people["officer"]))
    stream(officer, "/reports/assists.csv", trace=False)  # warm-up (and the figures counted)
    times = []
    for _ in range(args.runs):
        seconds, size, lines, _ = stream(officer, "/reports/assists.csv", trace=False)
        times.append(seconds)
    seconds = statistics.median(times)
    print(
        f"assists.csv: {lines:,} rows, {size / 2**20:.1f} MiB, median {seconds:.2f} s of "
        f"{args.runs} ({lines / seconds:,.0f} rows/s; best {lines / min(times):,.0f})"
    )
    _, _, _, samples = stream(officer, "/reports/assists.csv", trace=True)
    shown = ", ".join(f"{s:.1f}" for s in samples)
    print(f"assists.csv peak Python memory (MiB) every 20,000 rows: {shown}")
    workbook(officer, trace=False)  # warm-up
    times = [workbook(officer, trace=False)[0] for _ in range(args.runs)]
    _, size, peak = workbook(officer, trace=True)
    print(
        f"ward.xlsx (4 sheets, the assists' {lines:,} rows among them): {size / 2**20:.1f} MiB, "
        f"median {statistics.median(times):.1f} s of {args.runs} (best {min(times):.1f} s), "
        f"peak Python memory {peak:.1f} MiB"
    )
    if args.openpyxl:
        seconds, rows = openpyxl_sheet(app, campaign_id)
        print(
            f"the same assists sheet by openpyxl's write-only mode: {seconds:.1f} s "
            f"({rows / seconds:,.0f} rows/s)"
        )


if __name__ == "__main__":
    main()
