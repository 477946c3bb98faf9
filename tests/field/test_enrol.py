"""Enrolment codes and device tokens: one use, expiry, disabled accounts, races."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from fieldapp.extensions import db
from fieldapp.field import enrol
from fieldapp.models import AuditEvent, Device, EnrolmentCode, Unit
from fieldapp.text import utcnow
from tests.conftest import race_app, together


def _issue(world, who="member", hours=None):
    code, row = enrol.issue_code(world.users[who], world.users["officer"], hours=hours)
    db.session.commit()
    return code, row


def test_code_is_random_urlsafe_and_stored_only_as_a_hash(world):
    code, row = _issue(world)
    other, _ = _issue(world)
    assert code != other
    assert len(code) >= 22 and enrol._URLSAFE.match(code)
    assert row.code_hash == enrol.hash_secret(code) and code not in row.code_hash
    assert timedelta(hours=71) < row.expires_at - row.created_at <= timedelta(hours=72)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "enrol_code_issued"))
    assert event.actor_id == world.users["officer"].id
    assert event.ward_id == world.ward.id
    assert code not in str(event.detail)


def test_code_hours_come_from_settings_or_the_caller(app, world):
    app.config["FIELDAPP_ENROL_CODE_HOURS"] = 5
    _, row = _issue(world)
    assert row.expires_at - row.created_at == timedelta(hours=5)
    _, row = _issue(world, hours=1)
    assert row.expires_at - row.created_at == timedelta(hours=1)


def test_code_status_reports_without_changing_anything(world):
    code, row = _issue(world)
    assert enrol.code_status(code) == "ok"
    assert enrol.code_status(code) == "ok"
    assert row.used_at is None
    assert enrol.code_status("x" * 22) == "unknown"
    assert enrol.code_status("not a code!") == "unknown"
    assert enrol.code_status("") == "unknown"
    enrol.enrol_device(code, "Điện thoại của Mai")
    db.session.commit()
    assert enrol.code_status(code) == "used"


def test_enrolling_creates_a_device_with_a_hashed_token(world):
    code, row = _issue(world)
    token, device = enrol.enrol_device(code, "  Điện thoại   Mai ")
    db.session.commit()
    assert len(token) >= 43
    assert device.token_hash == enrol.hash_secret(token)
    assert device.user_id == world.users["member"].id
    assert device.label == "Điện thoại Mai"
    db.session.refresh(row)
    assert row.used_at is not None and row.device_id == device.id
    assert enrol.device_for_token(token).id == device.id
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "device_enrolled"))


def test_a_code_works_once(world):
    code, _ = _issue(world)
    enrol.enrol_device(code, "")
    db.session.commit()
    with pytest.raises(enrol.EnrolError) as error:
        enrol.enrol_device(code, "")
    assert error.value.kind == "used"
    assert "đã được dùng" in error.value.reason
    assert db.session.scalar(sa.select(sa.func.count(Device.id))) == 1


def test_an_expired_code_is_refused(world):
    code, row = _issue(world)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert enrol.code_status(code) == "expired"
    with pytest.raises(enrol.EnrolError) as error:
        enrol.enrol_device(code, "")
    assert error.value.kind == "expired"
    assert "hết hạn" in str(error.value)
    assert db.session.scalar(sa.select(sa.func.count(Device.id))) == 0


def test_an_unknown_code_is_refused(world):
    for code in ("A" * 22, "", "ngắn", "x" * 500):
        with pytest.raises(enrol.EnrolError) as error:
            enrol.enrol_device(code, "")
        assert error.value.kind == "unknown"


def test_a_disabled_account_cannot_enrol_or_use_its_devices(world):
    code, _ = _issue(world)
    token, _ = enrol.enrol_device(code, "")
    code2, _ = _issue(world)
    world.users["member"].active = False
    db.session.commit()
    assert enrol.code_status(code2) == "unknown"
    with pytest.raises(enrol.EnrolError) as error:
        enrol.enrol_device(code2, "")
    assert error.value.kind == "disabled"
    assert enrol.device_for_token(token) is None


def test_a_revoked_device_token_stops_working(world):
    code, _ = _issue(world)
    token, device = enrol.enrol_device(code, "")
    db.session.commit()
    enrol.revoke_device(device, world.users["officer"])
    db.session.commit()
    assert device.revoked_at is not None
    assert device.revoked_by_id == world.users["officer"].id
    assert enrol.device_for_token(token) is None
    assert enrol.device_for_token(token + "x") is None
    assert enrol.device_for_token(None) is None
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "device_revoked"))
    assert event.actor_id == world.users["officer"].id


def test_enrolment_url_uses_the_public_address(app, world):
    with app.test_request_context("/", base_url="http://10.0.0.5:5000"):
        assert enrol.enrolment_url("abc") == "http://10.0.0.5:5000/e/abc"
    app.config["FIELDAPP_PUBLIC_URL"] = "https://cds.example.vn"
    with app.test_request_context("/", base_url="http://10.0.0.5:5000"):
        assert enrol.enrolment_url("abc") == "https://cds.example.vn/e/abc"


def test_member_payload_lists_the_wards_active_residential_units(world):
    ten = Unit(ward=world.ward, kind="residential", name="Khu dân cư số 10")
    gone = Unit(ward=world.ward, kind="residential", name="Khu dân cư số 9", active=False)
    db.session.add_all([ten, gone])
    db.session.commit()
    payload = enrol.member_payload(world.users["member"])
    assert payload["member"] == {
        "id": world.users["member"].id,
        "name": "Lê Thị Mai",
        "unit_id": world.units["kdc1"].id,
        "role": "member",
    }
    assert [u["name"] for u in payload["units"]] == [
        "Khu dân cư số 1",
        "Khu dân cư số 2",
        "Khu dân cư số 10",
    ]
    assert payload["units"][0]["kind_label"] == "Khu dân cư"
    assert payload["ward"] == {
        "id": world.ward.id,
        "name": "Phường Thành Đông",
        "unit_label": "Khu dân cư",
    }
    assert payload["campaign"]["id"] == world.campaign.id
    assert payload["campaign"]["consent"]["version"] == 1


@pytest.fixture
def file_app(backend, postgres_ready, tmp_path):
    """An app on a real file database (the default fixture already is), for threads."""

    def issue(world):
        code, _ = enrol.issue_code(world.users["member"], world.users["officer"])
        db.session.commit()
        return code

    with race_app(backend, tmp_path, issue) as (app, code):
        yield app, code


@pytest.mark.parametrize("attempt", range(3))
def test_two_phones_racing_on_one_code_enrol_exactly_one(file_app, attempt):
    app, code = file_app
    barrier = threading.Barrier(4)
    outcomes: list[str] = []
    lock = threading.Lock()

    def race() -> None:
        with app.app_context():
            barrier.wait()
            try:
                enrol.enrol_device(code, "")
                db.session.commit()
                result = "won"
            except enrol.EnrolError as error:
                db.session.rollback()
                result = error.kind
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    together(race, race, race, race)
    assert sorted(outcomes) == ["used", "used", "used", "won"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Device.id))) == 1
        row = db.session.scalar(sa.select(EnrolmentCode))
        assert row.device_id is not None
        db.session.remove()


# ---------------------------------------------------------------- cancelling an unused code


def test_a_cancelled_code_enrols_nothing_and_the_cancel_is_audited(world):
    code, row = _issue(world)
    officer = world.users["officer"]
    assert enrol.cancel_code(row, officer) is True
    db.session.commit()
    db.session.refresh(row)
    assert row.expires_at == row.created_at  # the mark of a cancelled code
    assert enrol.code_status(code) == "expired"
    assert enrol.code_member_id(code) is None
    with pytest.raises(enrol.EnrolError) as error:
        enrol.enrol_device(code, "Máy của Mai")
    assert error.value.kind == "expired"
    assert "xin cán bộ phường mã mới" in error.value.reason
    assert db.session.scalar(sa.select(sa.func.count(Device.id))) == 0
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "enrol_code_cancelled")
    )
    assert (event.actor_id, event.ward_id) == (officer.id, world.ward.id)
    assert event.target_id == str(row.id) and code not in str(event.detail)
    # A second cancel changes nothing and records nothing.
    assert enrol.cancel_code(row, officer) is False
    db.session.commit()
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions.count("enrol_code_cancelled") == 1


def test_a_used_or_expired_code_is_not_cancelled(world):
    officer = world.users["officer"]
    used, used_row = _issue(world)
    token, _device = enrol.enrol_device(used, "")
    db.session.commit()
    when_used = used_row.used_at
    assert enrol.cancel_code(used_row, officer) is False
    db.session.commit()
    db.session.refresh(used_row)
    assert used_row.used_at == when_used and enrol.device_for_token(token) is not None

    _code, old = _issue(world, hours=1)
    old.expires_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    expired_at = old.expires_at
    assert enrol.cancel_code(old, officer) is False
    db.session.commit()
    db.session.refresh(old)
    assert old.expires_at == expired_at
    assert not db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "enrol_code_cancelled")
    )


@pytest.mark.parametrize("attempt", range(8))
def test_a_cancel_racing_an_enrolment_lets_exactly_one_win(file_app, attempt):
    app, code = file_app
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def cancel() -> None:
        with app.app_context():
            row = db.session.scalar(sa.select(EnrolmentCode))
            officer = db.session.get(type(row.user), row.created_by_id)
            barrier.wait()
            outcomes["cancelled"] = enrol.cancel_code(row, officer)
            db.session.commit()
            db.session.remove()

    def phone() -> None:
        with app.app_context():
            barrier.wait()
            try:
                enrol.enrol_device(code, "")
                db.session.commit()
                outcomes["enrolled"] = True
            except enrol.EnrolError:
                db.session.rollback()
                outcomes["enrolled"] = False
            finally:
                db.session.remove()

    together(cancel, phone)
    assert sorted(outcomes.values()) == [False, True], outcomes
    with app.app_context():
        devices = db.session.scalar(sa.select(sa.func.count(Device.id)))
        assert devices == (1 if outcomes["enrolled"] else 0)
        db.session.remove()
