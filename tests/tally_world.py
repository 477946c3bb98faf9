"""A known ward's records for the tally tests: revisions, voids, duplicates, reports.

The names are made up. Every figure the tests expect is worked out in the comments below.
"""

from __future__ import annotations

from datetime import datetime

from fieldapp.extensions import db
from fieldapp.models import Assist, Difficulty, Participant, UnitReport
from tests.builder import add_revision, assist_row, difficulty_row
from tests.world import World


def add_assist(
    world: World,
    unit: str,
    member: str,
    *,
    name: str | None,
    steps: list[str],
    received: datetime,
    recorded: datetime | None = None,
    birth_year: int | None = None,
    phone: str | None = None,
    category: str = "elderly",
    attempts: int = 0,
    voided: bool = False,
    record_id: str | None = None,
) -> Assist:
    """Add one revision of an assist; a revision of an existing record becomes its current one."""
    row = assist_row(
        ward_id=world.ward.id,
        campaign_id=world.campaign.id,
        unit_id=world.units[unit].id,
        user_id=world.users[member].id,
        received_at=received,
        recorded_at=recorded,
        full_name=name,
        steps=steps,
        record_id=record_id,
        voided=voided,
        birth_year=birth_year,
        phone=phone,
        category=category,
        attempts=attempts,
    )
    return add_revision(Assist, row)


def add_difficulty(
    world: World,
    unit: str,
    member: str,
    kind: str,
    received: datetime,
    *,
    resolved: bool = False,
    voided: bool = False,
    record_id: str | None = None,
    text: str = "",
) -> Difficulty:
    """Add one revision of a difficulty."""
    row = difficulty_row(
        ward_id=world.ward.id,
        campaign_id=world.campaign.id,
        unit_id=world.units[unit].id,
        user_id=world.users[member].id,
        received_at=received,
        kind=kind,
        text=text,
        record_id=record_id,
        voided=voided,
        resolved_at=received if resolved else None,
        resolved_by_id=world.users["officer"].id if resolved else None,
    )
    return add_revision(Difficulty, row)


ALL = ["installed", "registered", "tested"]
HOA_PHONE = "0912345678"
FORMULA_NAME = "=1+2 Phạm"


def build_records(world: World) -> World:
    """The known records (UTC times; local = UTC + 7 h)."""
    d = datetime
    # kdc1 --------------------------------------------------------------------------------
    # A1: revised (rev 1 only installed), current rev 2 with the test done, 2 attempts.
    a1 = add_assist(
        world,
        "kdc1",
        "member",
        name="Nguyễn Thị Hoa",
        birth_year=1950,
        phone=HOA_PHONE,
        steps=["installed"],
        received=d(2025, 10, 20, 2, 0),
    )
    add_assist(
        world,
        "kdc1",
        "member",
        name="Nguyễn Thị Hoa",
        birth_year=1950,
        phone=HOA_PHONE,
        steps=ALL,
        attempts=2,
        received=d(2025, 10, 20, 2, 0),
        record_id=a1.record_id,
    )
    # A2: the same phone again (typed without accents): the same resident. 23:30 local, 21/10.
    add_assist(
        world,
        "kdc1",
        "member2",
        name="Nguyen Thi Hoa",
        birth_year=1950,
        phone=HOA_PHONE,
        steps=["installed", "registered"],
        received=d(2025, 10, 21, 16, 30),
    )
    # A3 + A4: no phone, same name + birth year + unit: one resident, registered, not tested.
    # A3 arrives at 00:30 local on 22/10 (still 21/10 in UTC).
    add_assist(
        world,
        "kdc1",
        "member",
        name="Trần Văn Bình",
        birth_year=1948,
        category="household_business",
        steps=["installed", "registered"],
        received=d(2025, 10, 21, 17, 30),
    )
    add_assist(
        world,
        "kdc1",
        "member2",
        name="Trần Văn Bình",
        birth_year=1948,
        category="household_business",
        steps=["installed"],
        received=d(2025, 10, 22, 3, 0),
    )
    # A5: voided in its second revision: counts nowhere.
    a5 = add_assist(
        world,
        "kdc1",
        "member",
        name="Lê Văn Cường",
        phone="0987654321",
        steps=ALL,
        attempts=3,
        received=d(2025, 10, 22, 4, 0),
    )
    add_assist(
        world,
        "kdc1",
        "member",
        name="Lê Văn Cường",
        phone="0987654321",
        steps=ALL,
        attempts=3,
        received=d(2025, 10, 22, 5, 0),
        voided=True,
        record_id=a5.record_id,
    )
    # A6: a formula-looking name, device clock a day ahead of the server (future flag).
    add_assist(
        world,
        "kdc1",
        "member",
        name=FORMULA_NAME,
        category="small_trader",
        steps=["installed"],
        received=d(2025, 10, 23, 2, 0),
        recorded=d(2025, 10, 24, 2, 0),
    )
    # A7: device clock before the campaign (outside flag).
    add_assist(
        world,
        "kdc1",
        "member2",
        name="Đặng Thị Én",
        birth_year=1960,
        steps=["installed"],
        received=d(2025, 10, 23, 3, 0),
        recorded=d(2025, 9, 1, 3, 0),
    )
    # kdc2 --------------------------------------------------------------------------------
    # B1: Hoa's phone again, helped in another unit: one more resident for kdc2, none for the ward.
    add_assist(
        world,
        "kdc2",
        "member3",
        name="Nguyễn Thị Hoa",
        birth_year=1950,
        phone=HOA_PHONE,
        steps=ALL,
        attempts=1,
        received=d(2025, 10, 25, 2, 0),
    )
    # B2: Bình's name and birth year in another unit, no phone: a likely duplicate.
    add_assist(
        world,
        "kdc2",
        "member3",
        name="Trần Văn Bình",
        birth_year=1948,
        category="household_business",
        steps=["installed", "registered"],
        received=d(2025, 10, 25, 3, 0),
    )
    # B3: personal fields erased: still one resident (by record), category "other".
    add_assist(
        world,
        "kdc2",
        "member3",
        name=None,
        category="other",
        steps=["installed"],
        received=d(2025, 10, 25, 4, 0),
    )
    # difficulties -------------------------------------------------------------------------
    add_difficulty(
        world,
        "kdc1",
        "member",
        "otp_not_received",
        d(2025, 10, 20, 3, 0),
        text="Không nhận được mã",
    )
    add_difficulty(
        world, "kdc1", "member2", "forgot_password", d(2025, 10, 21, 3, 0), resolved=True
    )
    add_difficulty(world, "kdc2", "member3", "no_smartphone", d(2025, 10, 22, 3, 0), voided=True)
    first = add_difficulty(world, "kdc2", "member3", "other", d(2025, 10, 23, 3, 0))
    add_difficulty(
        world,
        "kdc2",
        "member3",
        "no_internet",
        d(2025, 10, 23, 4, 0),
        record_id=first.record_id,
        text="=cmd|' /C calc'!A0",
    )
    # the units' own reports ---------------------------------------------------------------
    db.session.add(
        UnitReport(
            unit_id=world.units["agency"].id,
            campaign_id=world.campaign.id,
            completed=25,
            attempts=40,
        )
    )
    school = UnitReport(
        unit_id=world.units["school"].id,
        campaign_id=world.campaign.id,
        completed=320,
        attempts=400,
        pupils=300,
        teachers=20,
    )
    db.session.add(school)
    db.session.flush()
    for name, group, kind in (
        ("Vũ Minh An", "6A", "pupil"),
        ("Phan Thu Trang", "6A", "pupil"),
        ("Mai Văn Đức", "Tổ Toán", "teacher"),
    ):
        db.session.add(
            Participant(report_id=school.id, full_name=name, group_name=group, kind=kind)
        )
    db.session.commit()
    return world


# What the records above must add up to.
EXPECTED = {
    "kdc1": {
        "assists": 6,
        "residents": 4,
        "installed": 4,
        "registered": 2,
        "tested": 1,
        "attempts": 2,
    },
    "kdc2": {
        "assists": 3,
        "residents": 3,
        "installed": 3,
        "registered": 2,
        "tested": 1,
        "attempts": 1,
    },
    # Ward-wide: Hoa's phone counts once across kdc1 and kdc2.
    "ward": {
        "assists": 9,
        "residents": 6,
        "installed": 6,
        "registered": 3,
        "tested": 1,
        "attempts": 3,
    },
    "completed": 1 + 25 + 320,
    "attempts": 3 + 40 + 400,
    "target": 100 + 80 + 30 + 500,
}
