"""fieldapp: offline-first logging and tallying for a ward's community digital teams."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask, jsonify, render_template
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.middleware.proxy_fix import ProxyFix

from . import config, logs, params, security, sessions, text
from .extensions import csrf, db, limiter, login_manager, migrate

SQLITE_CACHE_KIB = 32 * 1024  # page cache per connection (filled only as pages are read)
SQLITE_CHECKPOINT_PAGES = 10_000  # WAL pages (4 KiB) between automatic checkpoints


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, error pages, commands."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    config.load(app, test_config)
    proxies = app.config["FIELDAPP_TRUSTED_PROXIES"]
    if proxies:
        # Behind nginx: the client's address (rate limits, audit) and https in built URLs.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    register_extensions(app)
    params.init_app(app)  # the id converter, before any route; the database-lost answer
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    security.init_app(app)
    sessions.init_app(app)
    logs.install(app.logger.name)  # no personal search in any log line
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Vui lòng đăng nhập để tiếp tục."
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    limiter.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            private_sqlite_files(db.engine.url.database)
            sa.event.listen(db.engine, "connect", _sqlite_pragmas)


def _migrations_dir() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def private_sqlite_files(database: str | None) -> None:
    """The SQLite file (and its -wal, -shm) readable by the app's user only (0600).

    Created empty with that mode if missing (SQLite gives its -wal and -shm files the main
    file's mode); an existing file made before, e.g. 0644, is narrowed.
    """
    import os
    from pathlib import Path

    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if name.exists():
            name.chmod(0o600)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers and one writer work at once; foreign keys are off by default."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # A ward's indexes stay in memory (the default is 2 MiB a connection): a batch's rows land
    # on pages all over the random-keyed indexes, and as the file grew past the cache each
    # batch read them again (bench/sync_bench.py: 3,700 -> 2,100 records/s over 20,000 rows).
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    # Checkpoint the WAL into the file every ~40 MiB, not ~4 MiB: a page written by many
    # batches is copied once. An erasure still checkpoints at once (erasure.scrub).
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}")
    # Deleted and overwritten content is zeroed, not left in free space (erasure.scrub).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def register_blueprints(app: Flask) -> None:
    """Every room's blueprints (a room's package is documented in its __init__.py)."""
    from . import auth, main
    from .admin import roster_views  # the officer's people import
    from .admin import views as admin
    from .city import reports as city_reports  # the Department's roll-up
    from .city import views as city  # the city administrator's wards and campaigns
    from .field import views as field
    from .privacy import views as privacy  # erasure screens, flask purge/backup
    from .qr import views as qr
    from .reports import views as reports
    from .sync import api

    rooms = (main, auth, admin, field, api, reports, qr, privacy, roster_views, city, city_reports)
    for module in rooms:
        app.register_blueprint(module.bp)


def register_errorhandlers(app: Flask) -> None:
    from .roles import wants_json

    messages = {
        400: "Yêu cầu không hợp lệ.",
        401: "Vui lòng đăng nhập.",
        403: "Bạn không có quyền xem trang này.",
        404: "Không tìm thấy trang này.",
        405: "Thao tác không được hỗ trợ.",
        413: "Dữ liệu gửi lên quá lớn.",
        415: "Định dạng dữ liệu không được hỗ trợ.",
        429: "Bạn thao tác quá nhanh. Vui lòng thử lại sau ít phút.",
        500: "Hệ thống đang gặp sự cố. Vui lòng thử lại sau.",
    }

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        code = error.code or 500
        message = messages.get(code, error.description)
        response = _error_response(error, code, message)
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            response.headers["Allow"] = ", ".join(sorted(error.valid_methods))  # RFC 9110
        return response

    def _error_response(error: HTTPException, code: int, message: str) -> Any:
        if wants_json():
            response = jsonify(error=error.name.lower().replace(" ", "_"), message=message)
            response.status_code = code
            if code == 429 and error.response is not None:
                response.headers["Retry-After"] = error.response.headers.get("Retry-After", "60")
            elif code == 429:
                response.headers["Retry-After"] = "60"
            return response
        return app.make_response((render_template("error.html", code=code, message=message), code))


def register_template_helpers(app: Flask) -> None:
    from . import lifecycle, retention, vocab
    from .privacy import erasure

    app.jinja_env.filters.update(
        date=text.fmt_date,
        datetime=text.fmt_datetime,
        number=text.fmt_number,
        mask_phone=text.mask_phone,
    )
    app.jinja_env.globals.update(
        vocab=vocab,
        retention_rules=retention,
        # Where a campaign stands today: the one rule for every dashboard.
        campaign_life=lambda campaign: lifecycle.of(campaign, text.local_today()),
        retention_notice=lambda campaign: erasure.retention_notice(campaign, text.local_today()),
    )


def register_commands(app: Flask) -> None:
    from . import commands

    commands.init_app(app)
