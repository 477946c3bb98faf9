"""Outbox figures: the office's list of a ward's phones, the city's figure over every ward,
and the share card's drawing time (SQLite in a temporary file).

Run: .venv/bin/python bench/outbox_bench.py [--wards 114] [--phones 100]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fieldapp import create_app  # noqa: E402
from fieldapp.extensions import db  # noqa: E402
from fieldapp.models import Device, OutboxReport, Unit, User, Ward  # noqa: E402
from fieldapp.reports import card  # noqa: E402
from fieldapp.sync import outbox  # noqa: E402
from fieldapp.text import utcnow  # noqa: E402


def build(n_wards: int, n_phones: int) -> list[int]:
    """Wards of one group each, a member and a reporting phone per member; returns ward ids."""
    now = utcnow()
    wards = [Ward(name=f"Phường Thử {i}", code=f"B{i}") for i in range(n_wards)]
    db.session.add_all(wards)
    db.session.flush()
    for ward in wards:
        unit = Unit(ward_id=ward.id, kind="residential", name="Tổ 1")
        db.session.add(unit)
        db.session.flush()
        users = [
            User(
                username=f"tv{ward.id}_{j}",
                full_name=f"Thành viên {j}",
                name_key=f"thanh vien {j}",
                role="member",
                ward_id=ward.id,
                unit_id=unit.id,
            )
            for j in range(n_phones)
        ]
        db.session.add_all(users)
        db.session.flush()
        devices = [Device(user_id=u.id, token_hash=uuid.uuid4().hex) for u in users]
        db.session.add_all(devices)
        db.session.flush()
        db.session.add_all(
            OutboxReport(
                device_id=d.id,
                reported_at=now,
                waiting=j % 5,
                needs_fix=int(j % 7 == 0),
                oldest_waiting_at=now - timedelta(hours=j) if j % 5 else None,
                app_version="bench",
            )
            for j, d in enumerate(devices)
        )
    db.session.add(User(username="canbo_bench", full_name="Cán bộ", role="officer", ward=wards[0]))
    db.session.commit()
    return [w.id for w in wards]


def timed(fn, runs: int = 3, fresh: bool = True) -> float:
    """The best of `runs`, in ms; `fresh`: nothing of the database kept between runs."""
    best = float("inf")
    for _ in range(runs):
        if fresh:
            db.session.expire_all()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--wards", type=int, default=114)
    parser.add_argument("--phones", type=int, default=100, help="phones per ward")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite",
                "SECRET_KEY": "bench-" + "k" * 32,
                "FIELDAPP_ENV": "development",
            }
        )
        with app.app_context():
            db.create_all()
            ids = build(args.wards, args.phones)
            officer = db.session.scalar(sa.select(User).where(User.username == "canbo_bench"))
            figures = {
                "ward list ms": timed(lambda: outbox.visible_phones(officer, utcnow())),
                "city figures ms": timed(lambda: outbox.ward_figures(ids, utcnow())),
            }
            db.session.remove()
            db.engine.dispose()
    drawn = card.Card("Tổ dân phố số 3", "Phường Thử", "Cuộc thi", 74, 61, 95, date.today())
    figures["card ms"] = timed(lambda: card.draw(drawn), fresh=False)
    print(
        f"{args.wards} wards × {args.phones} phones: one ward's list "
        f"{figures['ward list ms']:.0f} ms, every ward's figure "
        f"{figures['city figures ms']:.0f} ms; a share card {figures['card ms']:.0f} ms"
    )
    return figures


if __name__ == "__main__":
    main()
