"""Measure POST /api/v1/sync: records per second (fresh and replayed) and bytes per record.

    /work/venv/bin/python bench/sync_bench.py                      # SQLite temp file
    /work/venv/bin/python bench/sync_bench.py --postgres URL       # PostgreSQL (tables recreated!)
    /work/venv/bin/python bench/sync_bench.py --server             # also through a real HTTP server

Builds a fresh database with one synthetic ward, enrols a device through the API, then sends
batches of 50 and 200 synthetic assists through the Flask test client (and, with --server, a
threaded Werkzeug server over HTTP on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import random
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fieldapp import create_app, enrol  # noqa: E402
from fieldapp.extensions import db  # noqa: E402
from fieldapp.models import Campaign, ConsentText, Unit, User, Ward  # noqa: E402
from fieldapp.vocab import DEFAULT_CONSENT  # noqa: E402

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
MIDDLE = ["Thị", "Văn", "Đức", "Ngọc", "Minh", "Thu", "Quang", "Hữu"]
GIVEN = ["Hoa", "Lan", "Hùng", "Dũng", "Mai", "Tâm", "Hạnh", "Sơn", "Yến", "Phúc", "Thảo"]
CATEGORIES = ["elderly", "household_business", "small_trader", "student", "worker", "other"]


def build(url: str) -> tuple:
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-" + "x" * 40,
            "FIELDAPP_ENV": "development",
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        db.drop_all()
        db.create_all()
        ward = Ward(name="Phường Thử Nghiệm", unit_label="Khu dân cư")
        db.session.add(ward)
        db.session.flush()
        campaign = Campaign(
            ward_id=ward.id,
            name="Đợt thử",
            starts_on=date(2025, 10, 11),
            ends_on=date(2025, 11, 11),
            report_due=date(2025, 11, 12),
        )
        units = [
            Unit(ward_id=ward.id, kind="residential", name=f"Khu dân cư số {i}")
            for i in range(1, 21)
        ]
        db.session.add_all([campaign, *units])
        db.session.flush()
        db.session.add(ConsentText(campaign_id=campaign.id, version=1, text=DEFAULT_CONSENT))
        member = User(username="bench", role="member", ward_id=ward.id, unit_id=units[0].id)
        member.set_name("Thành Viên Thử")
        db.session.add(member)
        db.session.flush()
        code, _ = enrol.issue_code(member, None)
        db.session.commit()
        unit_ids = [u.id for u in units]
    client = app.test_client()
    response = client.post("/api/v1/devices", json={"code": code, "label": "bench"})
    assert response.status_code == 201, response.get_data(as_text=True)
    return app, client, response.get_json()["token"], unit_ids


def make_records(n: int, unit_ids: list[int], rng: random.Random) -> list[dict]:
    base = datetime(2025, 10, 20, 8, 0)
    out = []
    for i in range(n):
        steps = ["installed", "registered", "tested"][: rng.randint(1, 3)]
        data = {
            "full_name": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
            "birth_year": rng.randint(1940, 2008),
            "gender": rng.choice(["female", "male"]),
            "unit_id": rng.choice(unit_ids),
            "category": rng.choice(CATEGORIES),
            "steps": steps,
            "attempts": 1 if "tested" in steps else 0,
            "consent": True,
        }
        if rng.random() < 0.6:
            data["phone"] = "09" + "".join(str(rng.randint(0, 9)) for _ in range(8))
        if rng.random() < 0.2:
            data["note"] = "Mắt kém, cần chữ to"
        moment = base + timedelta(minutes=i)
        out.append(
            {
                "id": str(uuid.uuid4()),
                "rev": 1,
                "type": "assist",
                "recorded_at": moment.strftime("%Y-%m-%dT%H:%M:%S+07:00"),
                "voided": False,
                "data": data,
            }
        )
    return out


def send_test_client(client, token: str, body: bytes, gz: bool) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    if gz:
        headers["Content-Encoding"] = "gzip"
    response = client.post(
        "/api/v1/sync", data=body, content_type="application/json", headers=headers
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()


def make_http_sender(base: str):
    def send(_client, token: str, body: bytes, gz: bool) -> dict:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if gz:
            headers["Content-Encoding"] = "gzip"
        request = urllib.request.Request(base + "/api/v1/sync", data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    return send


def measure(send, client, token, unit_ids, size: int, total: int, gz: bool, rng) -> dict:
    batches = [make_records(size, unit_ids, rng) for _ in range(max(1, total // size))]
    bodies = []
    for batch in batches:
        raw = json.dumps({"records": batch}, ensure_ascii=False).encode()
        bodies.append(gzip.compress(raw) if gz else raw)
    n = sum(len(b) for b in batches)
    figures = {}
    for phase, expected in (("fresh", "stored"), ("replay", "unchanged")):
        start = time.perf_counter()
        for body in bodies:
            answer = send(client, token, body, gz)
            assert {r["status"] for r in answer["results"]} == {expected}, answer["results"][:2]
        figures[phase] = n / (time.perf_counter() - start)
    return figures


def wire_sizes(unit_ids, rng) -> tuple[float, float, float, float]:
    one = make_records(1, unit_ids, rng)
    many = make_records(200, unit_ids, rng)
    raw1 = json.dumps({"records": one}, ensure_ascii=False).encode()
    raw = json.dumps({"records": many}, ensure_ascii=False).encode()
    return len(raw1), len(gzip.compress(raw1)), len(raw) / 200, len(gzip.compress(raw)) / 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL URL (tables are recreated)")
    parser.add_argument("--total", type=int, default=4000, help="records per measurement")
    parser.add_argument("--server", action="store_true", help="also through a real HTTP server")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    url = args.postgres or f"sqlite:///{Path(tmp.name) / 'bench.sqlite'}"
    app, client, token, unit_ids = build(url)
    rng = random.Random(20251011)
    senders = [("test client", send_test_client)]
    server = None
    if args.server:
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        senders.append(("HTTP server", make_http_sender(f"http://127.0.0.1:{server.server_port}")))

    database = "PostgreSQL" if args.postgres else "SQLite (file, WAL)"
    print(f"POST /api/v1/sync on {database}, {args.total} records per row")
    print(f"{'via':<12} {'batch':>5} {'gzip':>5} {'fresh rec/s':>12} {'replay rec/s':>13}")
    for via, send in senders:
        for size in (50, 200):
            for gz in (False, True):
                figures = measure(send, client, token, unit_ids, size, args.total, gz, rng)
                print(
                    f"{via:<12} {size:>5} {'yes' if gz else 'no':>5} "
                    f"{figures['fresh']:>12,.0f} {figures['replay']:>13,.0f}"
                )
    one_raw, one_gz, raw, gz = wire_sizes(unit_ids, rng)
    print(
        f"bytes per record: 1-record batch {one_raw} raw / {one_gz} gzip; "
        f"200-record batch {raw:.0f} raw / {gz:.0f} gzip"
    )
    if server is not None:
        server.shutdown()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
