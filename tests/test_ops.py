"""Operations for a city: gunicorn.conf.py, the rate-limit storage rule, /healthz.

The gunicorn tests start the production command itself, `gunicorn -c gunicorn.conf.py app:app`
with a deployment's environment (FIELDAPP_ENV=production, a real SECRET_KEY), over the test's
own database (SQLite, and PostgreSQL when FIELDAPP_TEST_POSTGRES_URL is set), and use Redis
database 7 for the rate limits (other tests use database 0 and reset it).
"""

from __future__ import annotations

import http.client
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from fieldapp import create_app
from fieldapp.config import ConfigError
from tests.conftest import make_app
from tests.fleet import ROOT, Gunicorn
from tests.world import PASSWORD, build_world

CONFIG = ROOT / "gunicorn.conf.py"
REDIS = "redis://127.0.0.1:6379/7"
UNREACHABLE_DB = "postgresql://postgres@127.0.0.1:1/nothing"
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
PRODUCTION = {
    "FIELDAPP_ENV": "production",
    "SECRET_KEY": "ops-test-" + "s" * 40,
    "FIELDAPP_RATELIMIT_STORAGE_URI": REDIS,
    "FIELDAPP_TRUSTED_PROXIES": "0",
}


def redis_flush() -> None:
    """Empty database 7 (the one these tests own): rate-limit counters from an earlier run."""
    import redis

    redis.Redis.from_url(REDIS).flushdb()


# ---------------------------------------------------------------- the rule (no server)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("FIELDAPP_ENV", "FIELDAPP_WORKERS", "FIELDAPP_RATELIMIT_STORAGE_URI"):
        monkeypatch.delenv(key, raising=False)


def production_app(tmp_path: Path, **settings: object) -> Flask:
    base = {"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite", "SECRET_KEY": "s" * 40}
    return create_app({**base, **settings})


@pytest.mark.parametrize("workers", [None, 3, 17])
def test_production_refuses_memory_rate_limits_with_several_or_unknown_workers(
    tmp_path: Path, clean_env: None, workers: int | None
) -> None:
    settings = {} if workers is None else {"FIELDAPP_WORKERS": workers}
    with pytest.raises(ConfigError, match="FIELDAPP_RATELIMIT_STORAGE_URI=redis://") as error:
        production_app(tmp_path, **settings)
    assert ("unknown" if workers is None else str(workers)) in str(error.value)


def test_production_accepts_redis_or_a_single_worker(
    tmp_path: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = production_app(tmp_path, FIELDAPP_RATELIMIT_STORAGE_URI=REDIS, FIELDAPP_WORKERS=9)
    assert app.config["RATELIMIT_STORAGE_OPTIONS"]["socket_timeout"] == 2
    assert production_app(tmp_path, FIELDAPP_WORKERS=1).config["FIELDAPP_WORKERS"] == 1
    # As gunicorn.conf.py passes it: a string in the environment.
    monkeypatch.setenv("FIELDAPP_WORKERS", "1")
    assert production_app(tmp_path).config["FIELDAPP_WORKERS"] == 1
    monkeypatch.setenv("FIELDAPP_WORKERS", "2")
    with pytest.raises(ConfigError):
        production_app(tmp_path)


def test_development_and_tests_may_keep_memory_rate_limits(tmp_path: Path, clean_env: None) -> None:
    assert production_app(tmp_path, FIELDAPP_ENV="development", FIELDAPP_WORKERS=4)
    assert production_app(tmp_path, TESTING=True, FIELDAPP_WORKERS=4)


def test_postgres_pool_is_bounded_and_pinged(tmp_path: Path, clean_env: None) -> None:
    app = create_app(
        {
            "FIELDAPP_ENV": "development",
            "DATABASE_URL": "postgresql://u@h/db",
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 3},
        }
    )
    options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] is True
    assert options["pool_size"] == 3  # the deployment's own value wins
    assert options["max_overflow"] == 4 and options["pool_timeout"] == 10
    assert options["connect_args"] == {"connect_timeout": 5}
    with app.app_context():
        from fieldapp.extensions import db

        assert db.engine.pool.size() == 3
    sqlite = production_app(tmp_path, FIELDAPP_ENV="development")
    assert sqlite.config["SQLALCHEMY_ENGINE_OPTIONS"] == {
        "pool_pre_ping": True,
        "hide_parameters": True,
    }


# ---------------------------------------------------------------- /healthz


def healthz(app: Flask) -> tuple[int, object]:
    """GET /healthz from an app of the test's own, then close its connections."""
    from fieldapp.extensions import db

    response = app.test_client().get("/healthz")
    with app.app_context():
        db.engine.dispose()
    return response.status_code, response.get_json()


def test_healthz_is_503_when_the_database_is_down(tmp_path: Path) -> None:
    app = make_app("sqlite", tmp_path, DATABASE_URL=UNREACHABLE_DB)
    assert healthz(app) == (503, {"status": "error", "database": "unreachable"})


def test_healthz_checks_redis_when_it_holds_the_rate_limits(app: Flask, tmp_path: Path) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    up = make_app("sqlite", tmp_path, DATABASE_URL=url, RATELIMIT_ENABLED=True,
                  FIELDAPP_RATELIMIT_STORAGE_URI=REDIS)  # fmt: skip
    assert healthz(up) == (200, {"status": "ok", "database": "ok", "ratelimit_storage": "ok"})

    down = make_app("sqlite", tmp_path, DATABASE_URL=url, RATELIMIT_ENABLED=True,
                    FIELDAPP_RATELIMIT_STORAGE_URI=UNREACHABLE_REDIS)  # fmt: skip
    # Degraded is not down: the app keeps serving with per-worker limits, so a load balancer
    # must keep it in (503 would take every backend out at once).
    assert healthz(down) == (
        200,
        {"status": "degraded", "database": "ok", "ratelimit_storage": "degraded"},
    )


def test_sign_in_still_works_and_is_limited_while_redis_is_down(app: Flask, tmp_path: Path) -> None:
    down = make_app("sqlite", tmp_path, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
                    RATELIMIT_ENABLED=True, FIELDAPP_LOGIN_RATE="3 per minute",
                    FIELDAPP_RATELIMIT_STORAGE_URI=UNREACHABLE_REDIS)  # fmt: skip
    client = down.test_client()
    answers = [
        client.post("/login", data={"username": "canbo", "password": "sai"}).status_code
        for _ in range(5)
    ]
    assert answers == [200, 200, 200, 429, 429]  # counted in the worker's memory meanwhile
    assert healthz(down) == (
        200,
        {"status": "degraded", "database": "ok", "ratelimit_storage": "degraded"},
    )


def test_healthz_is_503_when_the_database_is_down_even_with_redis_up(tmp_path: Path) -> None:
    app = make_app("sqlite", tmp_path, DATABASE_URL=UNREACHABLE_DB, RATELIMIT_ENABLED=True,
                   FIELDAPP_RATELIMIT_STORAGE_URI=REDIS)  # fmt: skip
    assert healthz(app) == (
        503,
        {"status": "error", "database": "unreachable", "ratelimit_storage": "ok"},
    )


# ---------------------------------------------------------------- the real server


class Browser:
    """Just enough of a browser over http.client: one cookie jar, form posts, no redirects."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def send(self, method: str, path: str, form: dict[str, str] | None = None):
        from urllib.parse import urlencode

        headers = {"Connection": "close"}  # a fresh connection: any worker may answer
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode(errors="replace")  # (workbooks are binary)
            # The cookies are Secure (production); a test over plain HTTP sends them anyway.
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
            return response.status, response.headers, text
        finally:
            conn.close()

    def login(self, username: str, password: str) -> tuple[int, object, str]:
        _status, _headers, page = self.send("GET", "/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token, page[:500]
        form = {"csrf_token": token.group(1), "username": username, "password": password}
        return self.send("POST", "/login", form)


@pytest.fixture
def city_server(app: Flask, tmp_path: Path) -> Iterator[Gunicorn]:
    """The production command over the test's database (schema made by the `app` fixture)."""
    redis_flush()
    server = Gunicorn(
        app.config["SQLALCHEMY_DATABASE_URI"],
        tmp_path / "gunicorn.log",
        workers=3,
        config=CONFIG,
        env=dict(PRODUCTION),
    )
    yield server
    server.stop()


def worker_pids(server: Gunicorn) -> set[int]:
    """The worker processes of the server (children of the master)."""
    assert server.process is not None
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    return {int(pid) for pid in children.read_text().split()}


def test_gunicorn_conf_three_workers_serve_healthz_and_a_sign_in(
    app: Flask, city_server: Gunicorn, backend: str
) -> None:
    world = build_world()
    from fieldapp.extensions import db

    db.session.commit()
    officer = world.users["officer"]
    city_server.start()
    assert len(worker_pids(city_server)) == 3

    status, headers, body = Browser(city_server.port).send("GET", "/healthz")
    assert status == 200
    assert body.replace(" ", "") in (
        '{"database":"ok","ratelimit_storage":"ok","status":"ok"}\n',
        '{"status":"ok","database":"ok","ratelimit_storage":"ok"}\n',
    )

    browser = Browser(city_server.port)
    status, headers, _page = browser.login(officer.username, PASSWORD)
    assert status == 302, _page[:500]
    assert "secure" in " ".join(headers.get_all("Set-Cookie")).lower()
    status, headers, _ = browser.send("GET", "/")
    assert (status, headers["Location"]) == (302, "/admin/")
    status, _, page = browser.send("GET", "/admin/")
    assert status == 200 and world.ward.name in page and "Đăng xuất" in page

    # The sign-in limit (10 a minute per address) is counted in Redis by all three workers:
    # after the sign-in above, 9 more attempts pass and the rest are refused, whichever worker
    # answers. With per-worker counters up to 30 would pass.
    answers = [Browser(city_server.port).login("khong-co-ai", "sai")[0] for _ in range(12)]
    assert answers == [200] * 9 + [429] * 3

    log = city_server.tail()
    assert 'GET /healthz HTTP/1.1" 200' in log  # the access log goes to stdout


def test_gunicorn_conf_refuses_memory_rate_limits_with_three_workers(
    app: Flask, tmp_path: Path
) -> None:
    env = {**PRODUCTION, "FIELDAPP_RATELIMIT_STORAGE_URI": "memory://"}
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    server = Gunicorn(url, tmp_path / "refused.log", workers=3, config=CONFIG, env=env)
    try:
        with pytest.raises(RuntimeError, match="did not start") as error:
            server.start()
        assert "number of worker processes is 3" in str(error.value)
        # gunicorn halted: exit code 3 ("Worker failed to boot"), or 1 when gunicorn 27 meets
        # two failing workers at once (a second HaltServer raised while handling the first).
        assert server.process is not None and server.process.returncode in (1, 3)
        assert "Worker failed to boot" in str(error.value)
    finally:
        server.stop()

    single = Gunicorn(url, tmp_path / "single.log", workers=1, config=CONFIG, env=env)
    try:
        single.start()  # one worker counts every attempt: memory:// is right there
        assert len(worker_pids(single)) == 1
    finally:
        single.stop()


def test_gunicorn_conf_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """WEB_CONCURRENCY or 2 x cores + 1; forwarded headers trusted only behind a proxy."""
    import multiprocessing
    import runpy

    for key in ("WEB_CONCURRENCY", "FIELDAPP_TRUSTED_PROXIES", "FORWARDED_ALLOW_IPS"):
        monkeypatch.delenv(key, raising=False)
    conf = runpy.run_path(str(CONFIG))
    assert conf["workers"] == 2 * multiprocessing.cpu_count() + 1
    assert conf["forwarded_allow_ips"] == ""
    assert conf["timeout"] >= 120 and conf["preload_app"] is False
    assert conf["accesslog"] == "-"
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    monkeypatch.setenv("FIELDAPP_TRUSTED_PROXIES", "1")
    conf = runpy.run_path(str(CONFIG))
    assert conf["workers"] == 5
    assert conf["forwarded_allow_ips"] == "127.0.0.1,::1"


def test_redis_is_there() -> None:
    """These tests need the Redis the README's deployment has (no skip: a failure says why)."""
    socket.create_connection(("127.0.0.1", 6379), timeout=2).close()


def test_every_download_streams_through_the_production_server(
    app: Flask, city_server: Gunicorn
) -> None:
    """The body of a download is written after the view has returned and its database
    session has ended: nothing it writes may still need that session (in-process test
    clients keep a context around the request and cannot show this)."""
    import uuid

    from fieldapp.extensions import db
    from fieldapp.sync import contract
    from tests.builder import add_campaign
    from tests.world import add_user

    world = build_world()
    add_campaign(None)  # a city campaign too, for the Department's files
    admin = add_user("so_khcn_test", "city_admin", None, name="Đinh Quỳnh")
    db.session.commit()
    record = {
        "id": str(uuid.uuid4()),
        "rev": 1,
        "type": "assist",
        "recorded_at": "2025-10-20T09:14:03+07:00",
        "data": {
            "full_name": "Nguyễn Thị Hoa",
            "unit_id": world.units["kdc1"].id,
            "category": "elderly",
            "steps": ["installed"],
            "attempts": 0,
            "consent": True,
        },
    }
    contract.sync_records([record], world.users["member"])
    city_server.start()
    officer = Browser(city_server.port)
    assert officer.login(world.users["officer"].username, PASSWORD)[0] == 302
    for path, expected in (
        ("/reports/units.csv", world.units["kdc1"].name),
        ("/reports/assists.csv", "Nguyễn Thị Hoa"),
        ("/reports/difficulties.csv", "Thời gian nhận"),
        ("/reports/ward.xlsx", "xl/worksheets"),
    ):
        status, _, body = officer.send("GET", path)
        assert (path, status) == (path, 200) and expected in body, body[:300]
    department = Browser(city_server.port)
    assert department.login(admin.username, PASSWORD)[0] == 302
    for path, expected in (
        ("/city/reports/wards.csv", world.ward.name),
        ("/city/reports/city.xlsx", "xl/worksheets"),
    ):
        status, _, body = department.send("GET", path)
        assert (path, status) == (path, 200) and expected in body, body[:300]
    assert "DetachedInstanceError" not in city_server.tail()
