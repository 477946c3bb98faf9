"""The foundation: configuration, health, text rules, sign-in."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from fieldapp import SQLITE_CACHE_KIB, SQLITE_CHECKPOINT_PAGES, create_app
from fieldapp.admin.views import reset_password
from fieldapp.config import ConfigError
from fieldapp.extensions import db
from fieldapp.models import AuditEvent, User
from fieldapp.text import fmt_number, fold, mask_phone, nfc, normalise_phone


def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_production_refuses_to_start_without_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FIELDAPP_ENV", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite"})
    with pytest.raises(ConfigError):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite", "SECRET_KEY": "changeme"})


def test_environment_overrides_instance_config(tmp_path, monkeypatch):
    monkeypatch.setenv("FIELDAPP_PUBLIC_URL", "https://cds.example.vn/")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    app = create_app({"FIELDAPP_ENV": "development", "SECRET_KEY": "k" * 40})
    assert app.config["FIELDAPP_PUBLIC_URL"] == "https://cds.example.vn"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_production_cookies_are_secure(tmp_path, monkeypatch):
    monkeypatch.delenv("FIELDAPP_ENV", raising=False)
    monkeypatch.delenv("FIELDAPP_RATELIMIT_STORAGE_URI", raising=False)
    settings = {"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite", "SECRET_KEY": "s" * 40}
    app = create_app({**settings, "FIELDAPP_WORKERS": 1})  # memory:// is refused otherwise
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_a_sqlite_file_is_opened_for_many_writers_and_erasure(tmp_path):
    """Every connection to a SQLite file: WAL, foreign keys, zeroed deletes, a cache that holds a
    ward's indexes and a checkpoint every ~40 MiB of WAL (erasure.scrub checkpoints at once)."""
    settings = {"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite", "SECRET_KEY": "s" * 40}
    app = create_app({**settings, "FIELDAPP_WORKERS": 1})
    wanted = {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "synchronous": 1,  # NORMAL
        "secure_delete": 1,
        "cache_size": -SQLITE_CACHE_KIB,
        "wal_autocheckpoint": SQLITE_CHECKPOINT_PAGES,
    }
    with app.app_context(), db.engine.connect() as conn:
        found = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in wanted}
    assert found == wanted


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Nguyễn Thị Hoa", "nguyen thi hoa"),
        ("  ĐỖ   Văn  Đức ", "do van duc"),
        ("Nguye\u0302\u0303n", "nguyen"),  # decomposed input folds the same
    ],
)
def test_fold_makes_accent_free_search_keys(raw, key):
    assert fold(raw) == key


def test_nfc_composes_decomposed_vietnamese():
    assert nfc("Nguye\u0302\u0303n") == "Nguyễn"
    assert nfc(" a  b ") == "a b"


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("0912345678", "0912345678"),
        ("0912 345 678", "0912345678"),
        ("+84912345678", "0912345678"),
        ("84912345678", "0912345678"),
        ("091234567", None),
        ("abcdefghij", None),
        ("1912345678", None),
        ("０９１２３４５６７８", None),  # full-width digits are not accepted silently
    ],
)
def test_normalise_phone(raw, phone):
    assert normalise_phone(raw) == phone


def test_mask_phone_and_numbers():
    assert mask_phone("0912345678") == "***678"
    assert fmt_number(1234) == "1.234"
    assert fmt_number(45.6, 1) == "45,6"


def test_login_with_right_password_lands_on_role_home(client, world, auth):
    response = auth.login("canbo")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "login"))


@pytest.mark.parametrize("username", ["canbo", "khongtontai"])
def test_login_error_does_not_reveal_whether_account_exists(client, world, auth, username):
    response = auth.login(username, "sai-mat-khau")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in page
    assert f'value="{username}"' in page  # what was typed is kept


def test_disabled_account_cannot_sign_in(client, world, auth):
    world.users["officer"].active = False
    db.session.commit()
    response = auth.login("canbo")
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.get_data(as_text=True)


def test_password_reset_signs_out_every_session(app, world, auth, client):
    auth.login("canbo")
    assert client.get("/admin/").status_code == 200
    officer = db.session.get(User, world.users["officer"].id)
    reset_password(officer, "mat-khau-moi-123")
    db.session.commit()
    assert client.get("/admin/").status_code == 302


def test_login_refuses_open_redirect(client, world, auth):
    response = client.post(
        "/login?next=https://evil.example/",
        data={"username": "canbo", "password": "mat-khau-123"},
    )
    assert response.headers["Location"] == "/"


def test_forms_require_csrf_token(backend, postgres_ready, tmp_path):
    from tests.conftest import make_app

    app = make_app(backend, tmp_path, WTF_CSRF_ENABLED=True)
    with app.app_context():
        if backend == "sqlite":
            db.create_all()
        response = app.test_client().post("/login", data={"username": "a", "password": "b"})
        assert response.status_code == 400
        db.engine.dispose()


@pytest.mark.parametrize("path", ["/login", "/healthz", "/does-not-exist"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_behind_a_trusted_proxy_the_client_address_and_scheme_are_used(backend, tmp_path):
    from flask import request

    from tests.conftest import make_app

    app = make_app(
        backend if backend == "sqlite" else "sqlite", tmp_path, FIELDAPP_TRUSTED_PROXIES=1
    )
    with app.app_context():
        db.create_all()  # every request first looks for campaigns past retention
    seen = {}

    @app.get("/_probe")
    def probe():
        seen.update(addr=request.remote_addr, url=request.host_url)
        return "ok"

    headers = {
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "cds.example.vn",
    }
    app.test_client().get("/_probe", headers=headers)
    assert seen == {"addr": "203.0.113.9", "url": "https://cds.example.vn/"}
