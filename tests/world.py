"""A small known ward for tests: every unit kind, every role, and a second ward beside it."""

from __future__ import annotations

from dataclasses import dataclass, field

from werkzeug.security import generate_password_hash

from fieldapp.extensions import db
from fieldapp.models import Campaign, Target, Unit, User, Ward
from tests import builder
from tests.builder import add_campaign

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


def add_user(
    username: str, role: str, ward: Ward | None, unit: Unit | None = None, name: str = ""
) -> User:
    """An account that signs in with PASSWORD."""
    return builder.add_user(username, role, ward, unit, name, _HASH)


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
