"""Synthetic data and measuring helpers shared by bench/tally_bench.py and bench/city_bench.py.

Names are made up from common Vietnamese name parts; phones are random. No real people. The
rows themselves (campaigns, accounts, units, assists, difficulties) are made by tests/builder.py,
the one builder the tests' known worlds use too; here are the random draws that fill them.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402

from fieldapp import create_app  # noqa: E402
from fieldapp.extensions import db  # noqa: E402
from fieldapp.models import TallyPending  # noqa: E402
from tests import builder  # noqa: E402
from tests.fleet import ROOT, Gunicorn  # noqa: E402

FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
    "Đinh",
    "Mai",
]
MIDDLE = [
    "Văn",
    "Thị",
    "Hữu",
    "Đức",
    "Minh",
    "Thu",
    "Ngọc",
    "Quang",
    "Thanh",
    "Xuân",
    "Kim",
    "Hồng",
]
GIVEN = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Đào",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hòa",
    "Hoa",
    "Hùng",
    "Hương",
    "Khánh",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Minh",
    "Nam",
    "Nga",
    "Ngọc",
    "Nhung",
    "Phúc",
    "Phương",
    "Quân",
    "Quế",
    "Sơn",
    "Tâm",
    "Thảo",
    "Thắng",
    "Thủy",
    "Trang",
    "Trung",
    "Tuấn",
    "Tùng",
    "Vân",
    "Việt",
    "Xuân",
    "Yến",
]
CATEGORIES = (
    ["elderly"] * 4
    + ["household_business"] * 2
    + ["small_trader"] * 2
    + [
        "student",
        "official",
        "worker",
        "other",
    ]
)
STEP_SETS = [
    ["installed"],
    ["installed", "registered"],
    ["installed", "registered", "tested"],
    ["installed", "registered", "tested"],
    ["registered", "tested"],
]
DIFFICULTY_KINDS = [
    "otp_not_received",
    "forgot_password",
    "no_smartphone",
    "platform_error",
    "other",
]
PASSWORD = "bench-password"


def name(rnd: random.Random) -> str:
    """A made-up Vietnamese full name."""
    return f"{rnd.choice(FAMILY)} {rnd.choice(MIDDLE)} {rnd.choice(GIVEN)}"


def phone(rnd: random.Random) -> str:
    """A made-up mobile number."""
    return rnd.choice(["09", "03", "08", "07"]) + f"{rnd.randint(0, 99_999_999):08d}"


def unit_kinds(n_units: int) -> list[str]:
    """A ward's unit kinds: 80 % residential groups, 13 % agencies, the rest schools (48/8/4)."""
    n_res = max(1, round(n_units * 0.8))
    n_agency = max(0, round(n_units * 0.13))
    kinds = ["residential"] * n_res + ["agency"] * n_agency
    return kinds + ["school"] * (n_units - len(kinds))


def assist_revisions(
    rnd: random.Random,
    *,
    ward_id: int,
    campaign_id: int,
    unit_id: int,
    user_ids: list[int],
    phones: list[str],
    start: datetime,
) -> list[dict[str, Any]]:
    """One synthetic assist as table rows: its current revision, after a replaced one for
    about 10 % (a fifth of those voided: 2 %). 70 % have a phone; about 5 % of phones come
    back from `phones` (a second visit, or another group), which grows as rows are made."""
    full_name = name(rnd)
    number = None
    if rnd.random() < 0.7:
        number = rnd.choice(phones) if phones and rnd.random() < 0.05 else phone(rnd)
        phones.append(number)
    received = start + timedelta(minutes=rnd.randint(0, 31 * 24 * 60))
    steps = rnd.choice(STEP_SETS)
    base = builder.assist_row(
        ward_id=ward_id,
        campaign_id=campaign_id,
        unit_id=unit_id,
        user_id=rnd.choice(user_ids),
        recorded_at=received - timedelta(minutes=rnd.randint(0, 600)),
        received_at=received,
        full_name=full_name,
        birth_year=rnd.randint(1940, 2008) if rnd.random() < 0.8 else None,
        gender=rnd.choice(["female", "male"]),
        phone=number,
        category=rnd.choice(CATEGORIES),
        steps=steps,
        attempts=rnd.randint(1, 3) if "tested" in steps else 0,
        note=None,
    )
    if rnd.random() < 0.10:  # revised: rev 1 kept, no longer current
        first = {**base, "is_current": False, "steps": ",installed,", "attempts": 0}
        return [first, {**base, "rev": 2, "voided": rnd.random() < 0.2}]
    return [base]


def difficulty_row(
    rnd: random.Random,
    *,
    ward_id: int,
    campaign_id: int,
    unit_id: int,
    user_ids: list[int],
    start: datetime,
) -> dict[str, Any]:
    """One current difficulty from the field, resolved in 60 % of cases."""
    when = start + timedelta(minutes=rnd.randint(0, 31 * 24 * 60))
    return builder.difficulty_row(
        ward_id=ward_id,
        campaign_id=campaign_id,
        unit_id=unit_id,
        user_id=rnd.choice(user_ids),
        received_at=when,
        kind=rnd.choice(DIFFICULTY_KINDS),
        resolved_at=when + timedelta(days=1) if rnd.random() < 0.6 else None,
    )


# --- measuring through the Flask test client ------------------------------------------------


def login(client: Any, username: str) -> None:
    """Sign in through the real form."""
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, (username, response.status_code)


def percentile(times: list[float], share: float) -> float:
    """The nearest-rank percentile of a list of times."""
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def time_page(
    client: Any, url: str, runs: int, context: Callable[[], Any] = contextlib.nullcontext
) -> tuple[float, float]:
    """(median, 95th percentile) milliseconds over `runs` loads after one warm-up.

    Each load runs inside a fresh `context()` (e.g. app.app_context: what the test suite's
    client does); by default none, as a WSGI server calls the app.
    """
    times = []
    for run in range(runs + 1):
        with context():
            t0 = time.perf_counter()
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            response.get_data()
            response.close()
            if run:  # the first load warms caches and the template
                times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), percentile(times, 0.95)


def stream(
    client: Any, url: str, trace: bool, every: int = 20_000
) -> tuple[float, int, int, list[float]]:
    """(seconds, bytes, rows, peak MiB samples every `every` rows) for one streamed download."""
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    response = client.get(url, buffered=False)
    assert response.status_code == 200, (url, response.status_code)
    size = 0
    lines = 0
    samples: list[float] = []
    for chunk in response.response:
        size += len(chunk)
        lines += chunk.count(b"\r\n")
        if trace and lines // every > len(samples):
            samples.append(tracemalloc.get_traced_memory()[1] / 2**20)
    response.close()
    seconds = time.perf_counter() - t0
    if trace:
        samples.append(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
    return seconds, size, lines - 1, samples


REDIS_BENCH = "redis://127.0.0.1:6379/9"  # emptied by each benchmark that serves


_SECRET = secrets.token_hex(32)


def production_server(
    database_url: str, log: Path, workers: int | None = None, pool: str = "web", flush: bool = True
) -> Gunicorn:
    """The deployment's command, `gunicorn -c gunicorn.conf.py app:app`, in production mode
    with Redis for the rate limits, over `database_url` (workers: the config's by default),
    as the unit of `pool` runs it (deploy/fieldapp@.service); on a port of its own."""
    import redis

    if flush:
        redis.Redis.from_url(REDIS_BENCH).flushdb()
    env = {
        "SECRET_KEY": _SECRET,  # one for both pools, as their units read one file
        "FIELDAPP_ENV": "production",
        "FIELDAPP_RATELIMIT_STORAGE_URI": REDIS_BENCH,
        "FIELDAPP_POOL": pool,
    }
    return Gunicorn(database_url, log, workers=workers, config=ROOT / "gunicorn.conf.py", env=env)


def wait_folded(app: Flask, since: float, *where: Any, limit: float = 300) -> tuple[int, float]:
    """(changes waiting to be folded in at first look, seconds from `since` until none is left)
    of the pending rows matching `where` — the server's own folding; gives up after `limit`."""
    query = sa.select(sa.func.count()).select_from(TallyPending).where(*where)
    first = None
    with app.app_context():
        try:
            while True:
                left = db.session.scalar(query)
                db.session.commit()
                first = left if first is None else first
                if not left or time.monotonic() - since > limit:
                    return first or 0, time.monotonic() - since
                time.sleep(0.1)
        finally:
            db.session.remove()


def analyse() -> None:
    """Statistics (and, on PostgreSQL, the visibility map) as autovacuum soon would.

    Without them the planner takes freshly filled tables for tiny ones (a sequential scan
    with a 200-value ANY per row instead of an index lookup). Autovacuum is off on this
    project's machines; keep it on in production.
    """
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()


def empty_app(url: str) -> Flask:
    """The app over `url` for a benchmark, its database emptied (drop_all, create_all)."""
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-" + "x" * 40,
            "FIELDAPP_ENV": "development",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(
        description=__doc__ + "\nA library: run bench/tally_bench.py, bench/city_bench.py, "
        "bench/sync_bench.py or bench/export_bench.py, which use it.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).parse_args()
