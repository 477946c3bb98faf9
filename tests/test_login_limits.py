"""Sign-in is rate limited per account and per address, in memory or in Redis."""

from __future__ import annotations

import socket
import uuid

import pytest

from fieldapp.extensions import limiter


def redis_running() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


STORAGES = ["memory://"] + (["redis://127.0.0.1:6379"] if redis_running() else [])


@pytest.fixture(params=STORAGES)
def app_settings(request):
    return {
        "RATELIMIT_ENABLED": True,
        "FIELDAPP_RATELIMIT_STORAGE_URI": request.param,
        "FIELDAPP_LOGIN_RATE": "5 per minute",
    }


def attempt(client, username, address):
    return client.post(
        "/login",
        data={"username": username, "password": "sai"},
        environ_base={"REMOTE_ADDR": address},
    )


def test_too_many_attempts_on_one_account_are_refused_from_any_address(app, client, world):
    limiter.reset()
    answers = [attempt(client, "canbo", f"198.51.100.{i}").status_code for i in range(7)]
    assert answers == [200] * 5 + [429] * 2
    page = attempt(client, "canbo", "198.51.100.99").get_data(as_text=True)
    assert "thử lại sau" in page
    # Another account from a fresh address is not affected.
    assert attempt(client, "totruong1", "198.51.100.200").status_code == 200
    limiter.reset()


def test_too_many_attempts_from_one_address_are_refused_for_any_account(app, client, world):
    limiter.reset()
    names = [f"khong-co-{uuid.uuid4().hex[:6]}" for _ in range(7)]
    answers = [attempt(client, name, "192.0.2.7").status_code for name in names]
    assert answers == [200] * 5 + [429] * 2
    limiter.reset()


def test_ratelimit_storage_uses_the_setting(app):
    expected = (
        "Redis" if app.config["FIELDAPP_RATELIMIT_STORAGE_URI"].startswith("redis") else "Memory"
    )
    assert type(limiter.storage).__name__.startswith(expected)
    assert limiter.storage.check()  # the storage answers
