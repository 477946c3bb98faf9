"""A small known ward for tests: every unit kind, every role, and a second ward beside it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from werkzeug.security import generate_password_hash

from fieldapp.extensions import db
from fieldapp.models import Campaign, ConsentText, Target, Unit, User, Ward
from fieldapp.retention import consent_with_retention
from fieldapp.text import local_today
from fieldapp.vocab import DEFAULT_CONSENT

PASSWORD = "mat-khau-123"
# Hashed once: scrypt is slow on purpose, and the world is built for most tests.
_HASH = generate_password_hash(PASSWORD)


@dataclass
class World:
    ward: Ward
    campaign: Campaign
    units: dict[str, Unit]
    users: dict[str, User]
    other_ward: Ward
    other_campaign: Campaign
    extra: dict[str, object] = field(default_factory=dict)


def add_campaign(ward: Ward | None) -> Campaign:
    """A campaign of `ward`, or the city's (every ward takes part) when `ward` is None."""
    campaign = Campaign(
        ward=ward,
        name="Công dân số Hải Phòng – sử dụng thông minh, sống an toàn",
        starts_on=date(2025, 10, 11),
        ends_on=date(2025, 11, 11),
        report_due=date(2025, 11, 12),
        contest_url="https://congdanso.example.vn/cuoc-thi",
        # Still kept on the day the tests run: past it, sync stores no personal field.
        retention_until=local_today() + timedelta(days=180),
    )
    db.session.add(campaign)
    db.session.flush()
    # As the campaign form stores it: the wording read out names the retention date.
    wording = consent_with_retention(DEFAULT_CONSENT, campaign.retention_until)
    db.session.add(ConsentText(campaign_id=campaign.id, version=1, text=wording))
    return campaign


def add_user(
    username: str, role: str, ward: Ward | None, unit: Unit | None = None, name: str = ""
) -> User:
    user = User(username=username, role=role, ward=ward, unit=unit)
    user.set_name(name or username)
    user.password_hash = _HASH
    db.session.add(user)
    return user


def build_world() -> World:
    ward = Ward(name="Phường Thành Đông", code="TD", unit_label="Khu dân cư")
    other = Ward(name="Phường Lê Chân", code="LC")
    db.session.add_all([ward, other])
    db.session.flush()
    campaign = add_campaign(ward)
    other_campaign = add_campaign(other)
    units = {
        "kdc1": Unit(ward=ward, kind="residential", name="Khu dân cư số 1"),
        "kdc2": Unit(ward=ward, kind="residential", name="Khu dân cư số 2"),
        "agency": Unit(ward=ward, kind="agency", name="Trạm Y tế phường"),
        "school": Unit(ward=ward, kind="school", name="Trường THCS Thành Đông"),
        # Same name in the other ward: scoping must keep them apart.
        "other1": Unit(ward=other, kind="residential", name="Khu dân cư số 1"),
    }
    db.session.add_all(units.values())
    db.session.flush()
    for key, value in (("kdc1", 100), ("kdc2", 80), ("agency", 30), ("school", 500)):
        db.session.add(Target(unit_id=units[key].id, campaign_id=campaign.id, value=value))
    users = {
        "officer": add_user("canbo", "officer", ward, name="Trần Thị Thu"),
        "head": add_user("totruong1", "group_head", ward, units["kdc1"], "Phạm Văn Hùng"),
        "member": add_user("thanhvien1", "member", ward, units["kdc1"], "Lê Thị Mai"),
        "member2": add_user("thanhvien2", "member", ward, units["kdc1"], "Đỗ Văn Nam"),
        "member3": add_user("thanhvien3", "member", ward, units["kdc2"], "Vũ Thị Lan"),
        "reporter": add_user("truongthcs", "reporter", ward, units["school"], "Hoàng Văn Sơn"),
        "other_officer": add_user("canbo2", "officer", other, name="Ngô Thị Hạnh"),
        "other_member": add_user("thanhvienlc", "member", other, units["other1"], "Bùi Văn Tâm"),
        # The city's administrator belongs to no ward.
        "city_admin": add_user("so_khcn", "city_admin", None, name="Đinh Thị Quỳnh"),
    }
    db.session.commit()
    return World(ward, campaign, units, users, other, other_campaign)
