"""Fixtures: an app per test on SQLite (always) and PostgreSQL (when configured)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa
from flask import Flask, has_app_context
from flask.testing import FlaskClient, FlaskCliRunner

from fieldapp import create_app
from fieldapp.extensions import db
from tests.world import PASSWORD, World, build_world

T = TypeVar("T")


def _database_of_this_worker(url: str | None) -> str | None:
    """With pytest-xdist, each worker process its own PostgreSQL database (`test_gw0`, ...),
    created from the given one's server on first use: workers never see each other's rows."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    given = sa.make_url(url)
    name = f"{given.database}_{worker}"
    admin = sa.create_engine(given, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not found:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return given.set(database=name).render_as_string(hide_password=False)


POSTGRES_URL = _database_of_this_worker(os.environ.get("FIELDAPP_TEST_POSTGRES_URL"))
BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every database test runs once per backend."""
    return request.param


def _postgres_reset(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def empty_database(backend: str) -> None:
    """The app's schema with no rows: PostgreSQL's tables (made once a session) emptied,
    SQLite's made."""
    if backend == "postgres":
        _postgres_reset(db.engine)
    else:
        db.create_all()


@pytest.fixture(scope="session")
def postgres_ready(backend: str) -> bool:
    """Create the schema on PostgreSQL once per session (tests then truncate)."""
    if backend != "postgres":
        return False
    app = create_app({"TESTING": True, "DATABASE_URL": POSTGRES_URL, "SECRET_KEY": "t" * 32})
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
    return True


class IsolatedClient(FlaskClient):
    """Runs each request in its own app context, as a real server would.

    The test body holds an app context of its own; without this, requests would share
    its `g` and its database session and hide bugs (a cached user, an uncommitted row).
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if has_app_context():
            db.session.expire_all()  # the test's own session must re-read what changed
        return response


def make_app(backend: str, tmp_path: Path, **extra: object) -> Flask:
    url = POSTGRES_URL if backend == "postgres" else f"sqlite:///{tmp_path / 'test.sqlite'}"
    settings = {
        "TESTING": True,
        "DATABASE_URL": url,
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "FIELDAPP_KEY_SECRET": "test-key-secret-" + "k" * 32,  # the counting keys' HMAC
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "FIELDAPP_ENV": "development",
        "FIELDAPP_FOLD_EVERY": 0,  # each batch folded as its response closes: none left running
    }
    settings.update(extra)
    app = create_app(settings)
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture
def app_settings() -> dict[str, object]:
    """Override in a test module to change settings for its app."""
    return {}


@pytest.fixture
def app(
    backend: str, postgres_ready: bool, tmp_path: Path, app_settings: dict[str, object]
) -> Iterator[Flask]:
    app = make_app(backend, tmp_path, **app_settings)
    with app.app_context():
        empty_database(backend)
        yield app
        db.session.remove()
        db.engine.dispose()


@contextmanager
def race_app(
    backend: str, tmp_path: Path, prepare: Callable[[World], T]
) -> Iterator[tuple[Flask, T]]:
    """(app, prepare(world)) for a race between threads: the known world on a real database
    (a file on SQLite), each thread then opening its own app context and connection. The
    builder's session is closed before the race starts; the engine is disposed after it."""
    app = make_app(backend, tmp_path)
    with app.app_context():
        empty_database(backend)
        prepared = prepare(build_world())
        db.session.remove()
    yield app, prepared
    with app.app_context():
        db.engine.dispose()


def together(*calls: Callable[[], object]) -> None:
    """Run each call in a thread of its own, all at once, and wait for every one."""
    threads = [threading.Thread(target=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def world(app: Flask) -> World:
    """Two wards; the first has units of every kind and a person of every role."""
    return build_world()


class AuthActions:
    """Sign in and out through the real form."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str, password: str = PASSWORD, **kwargs: object):
        return self.client.post(
            "/login", data={"username": username, "password": password}, **kwargs
        )

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


def sign_in_directly(client: FlaskClient, user: object) -> None:
    """Sign `user` in without the form (tested elsewhere): a server-side session whose id
    goes into the cookie, as the sign-in does."""
    from fieldapp import sessions

    token = sessions.start(user)
    db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
