"""Sessions end on the server: a cookie saved before an ending opens nothing after it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from fieldapp import sessions
from fieldapp.extensions import db
from fieldapp.models import AuditEvent, User, UserSession
from fieldapp.text import utcnow
from tests.world import PASSWORD


def signed_in(app, username: str):
    """A browser of its own, signed in through the form, and the cookie it holds."""
    browser = app.test_client()
    response = browser.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return browser, browser.get_cookie("session").value


def replay(app, cookie: str, path: str = "/unit"):
    """Send a saved session cookie from a fresh browser, as whoever copied it would."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief.get(path)


def sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def rows_of(user: User) -> list[UserSession]:
    return db.session.scalars(sa.select(UserSession).where(UserSession.user_id == user.id)).all()


def test_a_saved_cookie_opens_pages_until_logout_and_nothing_after(app, world):
    browser, cookie = signed_in(app, "totruong1")
    assert replay(app, cookie).status_code == 200  # the copy works while the session lives
    assert browser.post("/logout").status_code == 302
    assert sent_to_sign_in(replay(app, cookie))
    assert sent_to_sign_in(replay(app, cookie, "/"))  # home sends it to sign-in too
    assert rows_of(world.users["head"]) == []


def test_logout_ends_only_that_session(app, world):
    laptop, laptop_cookie = signed_in(app, "canbo")
    phone, phone_cookie = signed_in(app, "canbo")
    assert len(rows_of(world.users["officer"])) == 2
    laptop.post("/logout")
    assert sent_to_sign_in(replay(app, laptop_cookie, "/admin/"))
    assert replay(app, phone_cookie, "/admin/").status_code == 200


def test_a_password_reset_ends_every_session_of_the_account(app, world):
    _, first = signed_in(app, "totruong1")
    _, second = signed_in(app, "totruong1")
    officer, _ = signed_in(app, "canbo")
    head = world.users["head"]
    response = officer.post(f"/admin/people/{head.id}/password", data={"new_password": "moi-12345"})
    assert response.status_code == 302
    assert sent_to_sign_in(replay(app, first)) and sent_to_sign_in(replay(app, second))
    assert rows_of(head) == []
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "password_reset"))
    assert event.detail["sessions_ended"] == 2
    # The officer's own session is untouched.
    assert officer.get("/admin/").status_code == 200


def test_disabling_the_account_ends_its_sessions(app, world):
    _, cookie = signed_in(app, "totruong1")
    officer, _ = signed_in(app, "canbo")
    head = world.users["head"]
    assert officer.post(f"/admin/people/{head.id}/disable").status_code == 302
    assert sent_to_sign_in(replay(app, cookie))
    assert rows_of(head) == []
    # Enabled again, the old cookie still opens nothing: only a new sign-in does.
    officer.post(f"/admin/people/{head.id}/enable")
    assert sent_to_sign_in(replay(app, cookie))
    signed_in(app, "totruong1")


def test_the_officer_ends_every_session_of_a_person(app, world):
    _, first = signed_in(app, "totruong1")
    _, second = signed_in(app, "totruong1")
    officer, _ = signed_in(app, "canbo")
    head = world.users["head"]
    page = officer.get(f"/admin/people/{head.id}").get_data(as_text=True)
    assert "đang đăng nhập ở <strong>2</strong> trình duyệt" in page
    response = officer.post(f"/admin/people/{head.id}/sessions/end", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Đã kết thúc 2 phiên đăng nhập của totruong1." in page
    assert "đang đăng nhập ở <strong>0</strong> trình duyệt" in page
    assert sent_to_sign_in(replay(app, first)) and sent_to_sign_in(replay(app, second))
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "sessions_ended"))
    assert event.target_id == str(head.id) and event.detail["sessions_ended"] == 2
    # The person signs in again with the same password.
    signed_in(app, "totruong1")


def test_ending_ones_own_sessions_signs_out(app, world):
    officer, cookie = signed_in(app, "canbo")
    me = world.users["officer"]
    response = officer.post(f"/admin/people/{me.id}/sessions/end")
    assert response.headers["Location"] == "/login"
    assert sent_to_sign_in(replay(app, cookie, "/admin/"))


def test_an_idle_session_is_refused_and_deleted(app, world):
    _, cookie = signed_in(app, "totruong1")
    (row,) = rows_of(world.users["head"])
    idle = timedelta(hours=app.config["FIELDAPP_SESSION_IDLE_HOURS"])
    row.last_seen_at = utcnow() - idle + timedelta(minutes=5)
    db.session.commit()
    assert replay(app, cookie).status_code == 200  # used within its idle time: still open
    db.session.refresh(row)
    assert utcnow() - row.last_seen_at < timedelta(minutes=1)  # and its last use noted
    row.last_seen_at = utcnow() - idle - timedelta(minutes=1)
    db.session.commit()
    assert sent_to_sign_in(replay(app, cookie))
    assert rows_of(world.users["head"]) == []


def test_a_session_past_its_lifetime_is_refused_even_in_use(app, world):
    _, cookie = signed_in(app, "totruong1")
    (row,) = rows_of(world.users["head"])
    lifetime = timedelta(days=app.config["FIELDAPP_SESSION_MAX_DAYS"])
    row.created_at = utcnow() - lifetime - timedelta(minutes=1)
    row.last_seen_at = utcnow()
    db.session.commit()
    assert sent_to_sign_in(replay(app, cookie))
    assert rows_of(world.users["head"]) == []


@pytest.mark.parametrize("app_settings", [{"FIELDAPP_SESSION_IDLE_HOURS": "0.5"}])
def test_the_idle_time_is_a_setting(app, world):
    _, cookie = signed_in(app, "totruong1")
    (row,) = rows_of(world.users["head"])
    row.last_seen_at = utcnow() - timedelta(minutes=31)
    db.session.commit()
    assert sent_to_sign_in(replay(app, cookie))


def test_a_sign_in_clears_every_expired_session(app, world):
    _, _cookie = signed_in(app, "totruong1")
    _, live = signed_in(app, "truongthcs")
    (row,) = rows_of(world.users["head"])
    row.last_seen_at = utcnow() - timedelta(days=30)
    db.session.commit()
    signed_in(app, "canbo")
    assert rows_of(world.users["head"]) == []
    assert replay(app, live, "/unit-report").status_code == 200


def test_signing_in_again_in_the_same_browser_ends_the_previous_session(app, world):
    browser, first = signed_in(app, "totruong1")
    browser.post("/login", data={"username": "canbo", "password": PASSWORD})
    assert sent_to_sign_in(replay(app, first))
    assert rows_of(world.users["head"]) == []


def test_the_cookie_holds_a_random_id_and_the_database_only_its_hash(app, world):
    browser, _ = signed_in(app, "totruong1")
    with browser.session_transaction() as session:
        token = session["_user_id"]
    assert len(token) >= 40 and str(world.users["head"].id) != token
    (row,) = rows_of(world.users["head"])
    assert row.token_hash != token and token not in row.token_hash
    assert sessions.user_for(token).id == world.users["head"].id


@pytest.mark.parametrize("value", ["1:1", "", "x" * 500, "not-a-session"])
def test_an_unknown_or_old_style_session_id_opens_nothing(app, world, value):
    browser = app.test_client()
    with browser.session_transaction() as session:
        session["_user_id"] = value
        session["_fresh"] = True
    assert sent_to_sign_in(browser.get("/unit"))
