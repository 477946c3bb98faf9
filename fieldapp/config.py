"""Settings: safe defaults in code, then instance/config.py, then the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

# Settings that may be given as environment variables (strings; converted below).
ENV_KEYS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "FIELDAPP_ENV",
    "FIELDAPP_PUBLIC_URL",
    "FIELDAPP_ENROL_CODE_HOURS",
    "FIELDAPP_RATELIMIT_STORAGE_URI",
    "FIELDAPP_TRUSTED_PROXIES",
    "FIELDAPP_WORKERS",
    "FIELDAPP_THREADS",
    "FIELDAPP_SYNC_SLOTS",
    "FIELDAPP_SYNC_QUEUE",
    "FIELDAPP_SYNC_WAIT",
    "FIELDAPP_FOLD_EVERY",
    "FIELDAPP_SESSION_IDLE_HOURS",
    "FIELDAPP_SESSION_MAX_DAYS",
    "FIELDAPP_KEY_SECRET",
)
KEY_SECRET_MIN = 32

INSECURE_KEYS = {"", "dev", "changeme", "secret", "change-me"}

# Connection pool per process. A gunicorn worker serves `threads` (6) requests at once, each
# holding one connection, so 6 kept open; the overflow covers the rest. Worst case on
# PostgreSQL: workers x (pool_size + max_overflow) connections.
ENGINE_DEFAULTS: dict[str, Any] = {
    "pool_pre_ping": True,  # a connection dropped by a PostgreSQL restart is replaced, not used
    "pool_size": 6,
    "max_overflow": 4,
    "pool_timeout": 10,  # seconds to wait for a free connection before an error (never hang)
    "pool_recycle": 1800,  # seconds; below the idle timeouts of common proxies and firewalls
}
# Redis (rate-limit storage): fail within seconds when it is down instead of hanging a worker.
REDIS_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 2}
SHARED_STORAGES = ("redis://", "rediss://", "redis+sentinel://", "redis+cluster://")


class ConfigError(RuntimeError):
    """The app refuses to start with settings that would make it unsafe."""


def defaults(instance_path: str) -> dict[str, Any]:
    """The settings used when nothing else is given."""
    return {
        "FIELDAPP_ENV": "production",
        "SECRET_KEY": None,
        "DATABASE_URL": "sqlite:///" + str(Path(instance_path) / "fieldapp.sqlite"),
        "FIELDAPP_PUBLIC_URL": None,  # None: the address of the request
        "FIELDAPP_ENROL_CODE_HOURS": 72,
        "FIELDAPP_RATELIMIT_STORAGE_URI": "memory://",
        # How many reverse proxies in front of the app set X-Forwarded-* (0: trust none).
        "FIELDAPP_TRUSTED_PROXIES": 0,
        "FIELDAPP_SYNC_MAX_RECORDS": 200,
        "FIELDAPP_SYNC_MAX_BYTES": 512 * 1024,
        "FIELDAPP_SYNC_RATE": "120 per minute",
        "FIELDAPP_LOGIN_RATE": "10 per minute",
        # A signed-in session ends after this long without a request, and this long after
        # sign-in whatever happens (sessions.py); the server's record decides, not the cookie.
        "FIELDAPP_SESSION_IDLE_HOURS": 12,
        "FIELDAPP_SESSION_MAX_DAYS": 7,
        # How many processes serve the app; gunicorn.conf.py sets it to its worker count.
        # None: unknown (then production needs a shared rate-limit storage).
        "FIELDAPP_WORKERS": None,
        # Threads per process (gunicorn.conf.py sets it), how many of them may write sync
        # batches at once, how many more may wait for one, and how long each may wait
        # (sync/gate.py); any other batch is answered 503 + Retry-After at once. None: from
        # the threads (gate_sizes below), so two threads stay out of the gate: one may be
        # folding batches into the tally (one per process, store.catch_up_everywhere), one
        # is free for sign-in, pages and /healthz whatever the phones do.
        "FIELDAPP_THREADS": None,
        "FIELDAPP_SYNC_SLOTS": None,
        "FIELDAPP_SYNC_QUEUE": None,
        "FIELDAPP_SYNC_WAIT": 5,
        # Seconds: a process folds answered batches into the tally's figures at most this
        # often, each fold taking every batch stored since (tally/folder.py); 0: after each.
        "FIELDAPP_FOLD_EVERY": 0.5,
        # Merged over ENGINE_DEFAULTS below (keys given here win).
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead of one hour
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,  # uploads; the sync API has its own limit
    }


def load(app: Flask, test_config: dict[str, Any] | None = None) -> None:
    """Fill app.config: defaults < instance/config.py < environment < test_config."""
    app.config.from_mapping(defaults(app.instance_path))
    app.config.from_pyfile("config.py", silent=True)
    for key in ENV_KEYS:
        if os.environ.get(key):
            app.config[key] = os.environ[key]
    if test_config:
        app.config.from_mapping(test_config)

    cfg = app.config
    cfg["FIELDAPP_ENROL_CODE_HOURS"] = int(cfg["FIELDAPP_ENROL_CODE_HOURS"])
    cfg["FIELDAPP_TRUSTED_PROXIES"] = int(cfg["FIELDAPP_TRUSTED_PROXIES"])
    cfg["FIELDAPP_SESSION_IDLE_HOURS"] = float(cfg["FIELDAPP_SESSION_IDLE_HOURS"])
    cfg["FIELDAPP_SESSION_MAX_DAYS"] = float(cfg["FIELDAPP_SESSION_MAX_DAYS"])
    cfg["SQLALCHEMY_DATABASE_URI"] = database_uri(cfg["DATABASE_URL"])
    cfg["RATELIMIT_STORAGE_URI"] = cfg["FIELDAPP_RATELIMIT_STORAGE_URI"]
    if cfg["RATELIMIT_STORAGE_URI"].startswith(SHARED_STORAGES):
        cfg.setdefault("RATELIMIT_STORAGE_OPTIONS", dict(REDIS_OPTIONS))
        # Redis down: count in each worker's memory until it is back (looser limits for that
        # time) rather than answer every sign-in and sync with an error. /healthz says degraded.
        cfg.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    workers = cfg.get("FIELDAPP_WORKERS")
    cfg["FIELDAPP_WORKERS"] = int(workers) if workers not in (None, "") else None
    cfg["FIELDAPP_SYNC_SLOTS"], cfg["FIELDAPP_SYNC_QUEUE"] = gate_sizes(
        cfg.get("FIELDAPP_SYNC_SLOTS"), cfg.get("FIELDAPP_SYNC_QUEUE"), cfg["FIELDAPP_THREADS"]
    )
    cfg["FIELDAPP_SYNC_WAIT"] = max(0.0, float(cfg["FIELDAPP_SYNC_WAIT"]))
    cfg["FIELDAPP_FOLD_EVERY"] = max(0.0, float(cfg["FIELDAPP_FOLD_EVERY"]))
    cfg["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
        cfg["SQLALCHEMY_DATABASE_URI"], cfg.get("SQLALCHEMY_ENGINE_OPTIONS") or {}
    )
    production = cfg["FIELDAPP_ENV"] == "production" and not cfg.get("TESTING")
    cfg["SESSION_COOKIE_SECURE"] = production
    cfg["REMEMBER_COOKIE_SECURE"] = production
    if cfg.get("FIELDAPP_PUBLIC_URL"):
        cfg["FIELDAPP_PUBLIC_URL"] = cfg["FIELDAPP_PUBLIC_URL"].rstrip("/")

    key = cfg.get("SECRET_KEY") or ""
    if production:
        if key.lower() in INSECURE_KEYS or len(key) < 32:
            raise ConfigError(
                "SECRET_KEY is missing or too short for production: set it to at least "
                "32 random characters (python3 -c 'import secrets; print(secrets.token_hex(32))'), "
                "or set FIELDAPP_ENV=development on a machine that serves no real ward."
            )
    elif not key:
        cfg["SECRET_KEY"] = development_key(Path(app.instance_path))
    cfg["FIELDAPP_KEY_SECRET"] = key_secret(cfg.get("FIELDAPP_KEY_SECRET"), Path(app.instance_path))
    if production:
        check_ratelimit_storage(cfg["RATELIMIT_STORAGE_URI"], cfg["FIELDAPP_WORKERS"])


def gate_sizes(slots: Any, queue: Any, threads: Any) -> tuple[int, int]:
    """Sync batches one process writes at once, and how many more may wait: as given, else
    from the threads: a quarter of them write (>= 1), the rest but two may wait.

    Without a thread count (the development server, tests): 4 and 4, enough to overlap.
    """
    known = threads not in (None, "")
    if slots not in (None, ""):
        slots = max(0, int(slots))
    else:
        slots = max(1, int(threads) // 4) if known else 4
    if queue not in (None, ""):
        queue = max(0, int(queue))
    else:
        queue = max(0, int(threads) - slots - 2) if known else 4
    return slots, queue


def check_ratelimit_storage(uri: str, workers: int | None) -> None:
    """Production refuses per-process rate-limit counters unless one process serves.

    With memory:// every worker counts sign-in attempts on its own, so N workers allow N times
    the limit. The rule: in production the storage must be Redis, unless FIELDAPP_WORKERS is 1
    (gunicorn.conf.py sets it to the real worker count; unset counts as "several").
    """
    if uri.startswith(SHARED_STORAGES) or workers == 1:
        return
    shown = "unknown" if workers is None else str(workers)
    raise ConfigError(
        f"FIELDAPP_RATELIMIT_STORAGE_URI is {uri!r} but the number of worker processes is "
        f"{shown}: each worker would count sign-in attempts on its own. Set "
        "FIELDAPP_RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379 (shared by every worker), or "
        "run a single worker (gunicorn -c gunicorn.conf.py --workers 1, or FIELDAPP_WORKERS=1)."
    )


def engine_options(uri: str, given: dict[str, Any]) -> dict[str, Any]:
    """SQLAlchemy engine options: pool defaults for PostgreSQL, the given ones winning."""
    # hide_parameters: a database error in a log never shows a resident's name or phone.
    if not uri.startswith("postgresql"):
        # SQLite: SQLAlchemy picks its own pool
        return {"pool_pre_ping": True, "hide_parameters": True, **given}
    options = {**ENGINE_DEFAULTS, "hide_parameters": True, **given}
    connect_args = {"connect_timeout": 5, **options.get("connect_args", {})}
    options["connect_args"] = connect_args  # seconds: an unreachable server fails fast
    return options


def database_uri(url: str) -> str:
    """Point plain postgres URLs at psycopg 3, the driver we ship."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def key_secret(given: Any, instance: Path) -> str:
    """The secret of the residents' counting keys (text.resident_key_for, an HMAC).

    Kept outside the database, so a copy of the database alone cannot turn a key back into a
    phone number by trying every number: FIELDAPP_KEY_SECRET, else instance/key_secret,
    created on first run (mode 0600). Losing it splits each resident's old entries from new
    ones in the counts: back it up apart from the database.
    """
    if given:
        if len(str(given)) < KEY_SECRET_MIN:
            raise ConfigError(
                f"FIELDAPP_KEY_SECRET is too short: give at least {KEY_SECRET_MIN} random "
                "characters (python3 -c 'import secrets; print(secrets.token_hex(32))')."
            )
        return str(given)
    path = instance / "key_secret"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    partial = instance / f"key_secret.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(value)
    try:
        os.link(partial, path)  # whole or not at all; two processes starting at once agree
    except FileExistsError:
        value = path.read_text().strip()
    finally:
        partial.unlink()
    return value


def development_key(instance: Path) -> str:
    """A random key kept in instance/ so development sessions survive restarts."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
