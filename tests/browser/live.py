"""A real server process for the browser tests: gunicorn over a temporary SQLite database."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from fieldapp import create_app
from fieldapp.extensions import db
from fieldapp.field.enrol import issue_code
from fieldapp.models import Assist, Device, Difficulty, Unit, User, Ward
from fieldapp.text import local_today
from tests.world import add_user, build_world

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
_names = itertools.count(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """gunicorn serving the app from `root` (the checkout, or a copy for a new version)."""

    def __init__(
        self,
        db_file: Path,
        root: Path = ROOT,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.db_file = db_file
        self.root = root
        self.extra_args = extra_args
        self.env = dict(env or {})  # the app's settings for this server (FIELDAPP_...)
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = db_file.with_suffix(".log")

    def start(self, root: Path | None = None) -> None:
        if root is not None:
            self.root = root
        env = dict(os.environ)
        env.update(
            FIELDAPP_BROWSER_DB=f"sqlite:///{self.db_file}",
            FIELDAPP_ENV="development",
            PYTHONPATH=str(self.root),
        )
        env.update(self.env)
        command = [
            str(GUNICORN),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--worker-class",
            "gthread",
            "--workers",
            "1",
            "--threads",
            "8",
            "--graceful-timeout",
            "2",
            # gunicorn 27 shares one control socket in $HOME between servers: keep ours apart.
            "--no-control-socket",
            *self.extra_args,
            "tests.browser.wsgi:app",
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the server did not start:\n" + self.log.read_text()[-3000:])
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the server did not answer /healthz within 20 s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self, root: Path | None = None) -> None:
        self.stop()
        self.start(root)


def copy_app(destination: Path) -> Path:
    """A copy of the app's code and files, to deploy as a new version beside the checkout."""
    for name in ("fieldapp", "templates", "static"):
        shutil.copytree(
            ROOT / name, destination / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    (destination / "tests" / "browser").mkdir(parents=True)
    for name in ("tests/__init__.py", "tests/browser/__init__.py", "tests/browser/wsgi.py"):
        shutil.copy(ROOT / name, destination / name)
    return destination


class ServerDb:
    """The test process's own view of the server's database: seed it, read what arrived."""

    def __init__(self, db_file: Path) -> None:
        self.db_file = db_file
        self.app: Flask = create_app(
            {
                "TESTING": True,
                "DATABASE_URL": f"sqlite:///{db_file}",
                "SECRET_KEY": "browser-tests-" + "k" * 32,
                "FIELDAPP_ENV": "development",
            }
        )
        with self.context():
            db.create_all()
            build_world()
        # The phones log on the day the tests run: the first ward's campaign is running then.
        today = local_today()
        self.set_campaign_days(today - timedelta(days=30), today + timedelta(days=30))

    @contextmanager
    def context(self) -> Iterator[None]:
        with self.app.app_context():
            try:
                yield
            finally:
                db.session.remove()

    def new_member(self, unit: str = "Khu dân cư số 1") -> dict:
        """A new member of a unit of the first ward, with a fresh enrolment code."""
        with self.context():
            ward = db.session.scalar(sa.select(Ward).where(Ward.code == "TD"))
            unit_row = db.session.scalar(
                sa.select(Unit).where(Unit.ward_id == ward.id, Unit.name == unit)
            )
            n = next(_names)
            user = add_user(f"tv_browser_{n}", "member", ward, unit_row, f"Thành viên Thử {n}")
            db.session.flush()
            code, _row = issue_code(user, created_by=None)
            db.session.commit()
            return {"id": user.id, "code": code, "unit_id": unit_row.id}

    def issue_code(self, user_id: int) -> str:
        with self.context():
            code, _row = issue_code(db.session.get(User, user_id), created_by=None)
            db.session.commit()
            return code

    def assists(self, user_id: int, current_only: bool = False) -> list[Assist]:
        """Every stored revision (or only the current ones) of a member's assists."""
        with self.context():
            query = sa.select(Assist).where(Assist.user_id == user_id).order_by(Assist.id)
            if current_only:
                query = query.where(Assist.is_current)
            rows = db.session.scalars(query).all()
            db.session.expunge_all()
            return rows

    def difficulties(self, user_id: int) -> list[Difficulty]:
        with self.context():
            rows = db.session.scalars(
                sa.select(Difficulty).where(Difficulty.user_id == user_id)
            ).all()
            db.session.expunge_all()
            return rows

    def set_unit_active(self, unit_id: int, active: bool) -> None:
        with self.context():
            db.session.get(Unit, unit_id).active = active
            db.session.commit()

    def set_campaign_days(
        self, starts: date, ends: date, due: date | None = None, after_end: str = "count_only"
    ) -> None:
        """Move the first ward's campaign (its report due two days after it ends by default)
        and set its rule for new entries after its end."""
        with self.context():
            ward = db.session.scalar(sa.select(Ward).where(Ward.code == "TD"))
            campaign = ward.current_campaign()
            campaign.starts_on, campaign.ends_on = starts, ends
            campaign.report_due = due or ends + timedelta(days=2)
            campaign.after_end = after_end
            db.session.commit()

    def revoke_devices(self, user_id: int) -> None:
        with self.context():
            for device in db.session.scalars(sa.select(Device).where(Device.user_id == user_id)):
                device.revoked_at = device.created_at
            db.session.commit()
