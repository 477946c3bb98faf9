"""A demo city: a ward with made-up people and a few hundred assists, a small commune beside
it, both in the city's campaign, and the city administrator; the same every time it is built."""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from . import audit
from .extensions import db
from .models import (
    Assist,
    Campaign,
    ConsentText,
    Device,
    Difficulty,
    Target,
    Unit,
    UnitReport,
    User,
    Ward,
)
from .text import LOCAL_TZ, fold
from .vocab import DEFAULT_CATEGORIES, DEFAULT_CONSENT, DEFAULT_STEPS, DIFFICULTY_KINDS

WARD_NAME = "Phường Thành Đông (demo)"
OFFICER = ("canbo", "canbo123")
PASSWORD = "matkhau123"  # every other demo account; it is a demo, never a real ward
CITY_ADMIN = "so_khcn"
SECOND_WARD = "Xã An Lạc (demo)"
SECOND_OFFICER = "canbo_anlac"
SECOND_UNITS = ["Thôn Đông", "Thôn Tây", "Thôn Nam"]
SEED = 20251011
RESIDENTIAL_UNITS = 12
STARTS, ENDS, DUE = date(2025, 10, 11), date(2025, 11, 11), date(2025, 11, 12)

AGENCIES = [("Trạm Y tế phường", 30, "coquan1"), ("Bưu điện văn hóa phường", 20, "coquan2")]
SCHOOLS = [
    ("Trường Tiểu học Hoa Phượng", 450, "truong1"),
    ("Trường THCS Thành Đông", 600, "truong2"),
]

# Common Vietnamese family, middle and given names; combined at random they make up people.
FAMILY = [
    ("Nguyễn", 38), ("Trần", 11), ("Lê", 9), ("Phạm", 7), ("Hoàng", 5), ("Vũ", 5),
    ("Phan", 4), ("Đặng", 3), ("Bùi", 3), ("Đỗ", 3), ("Hồ", 2), ("Ngô", 2),
    ("Dương", 2), ("Lý", 1), ("Đinh", 2), ("Mai", 1), ("Trịnh", 1),
]  # fmt: skip
MIDDLE = {
    "female": ["Thị", "Thị", "Thị", "Thu", "Ngọc", "Thanh", "Minh", "Thùy", "Hồng", "Kim"],
    "male": ["Văn", "Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Xuân", "Thế"],
}
GIVEN = {
    "female": ["Hoa", "Lan", "Mai", "Hương", "Hạnh", "Nga", "Thủy", "Hằng", "Liên", "Tuyết",
               "Loan", "Yến", "Dung", "Phượng", "Nhung", "Thảo", "Trang", "Vân", "Oanh", "Huệ"],
    "male": ["Hùng", "Dũng", "Nam", "Sơn", "Tuấn", "Hải", "Thắng", "Bình", "Cường", "Long",
             "Phong", "Quân", "Tâm", "Toàn", "Khánh", "Lực", "Hòa", "Thịnh", "Trung", "Vinh"],
}  # fmt: skip
CATEGORY_WEIGHTS = {
    "elderly": 40, "household_business": 20, "small_trader": 18, "worker": 9,
    "official": 4, "student": 4, "other": 5,
}  # fmt: skip
BIRTH_YEARS = {
    "elderly": (1938, 1965),
    "household_business": (1960, 1992),
    "small_trader": (1955, 1990),
    "worker": (1970, 2002),
    "official": (1968, 1998),
    "student": (2003, 2009),
    "other": (1950, 2000),
}
NOTES = [
    "Hỗ trợ tại nhà",
    "Hỗ trợ tại chợ",
    "Con cháu sẽ giúp thi lại",
    "Đã hướng dẫn cách đổi mật khẩu",
    "Mắt kém, đọc giúp câu hỏi",
]
DIFFICULTY_TEXTS = {
    "no_smartphone": "Cụ dùng điện thoại bàn phím, chưa có điện thoại thông minh.",
    "no_internet": "Khu chợ sóng yếu, không tải được ứng dụng.",
    "otp_not_received": "Chờ mã OTP hơn 10 phút không thấy gửi về.",
    "forgot_password": "Người dân quên mật khẩu đã đăng ký tuần trước.",
    "platform_error": "Trang thi báo lỗi khi nộp bài, phải làm lại.",
    "hard_to_use": "Chữ trên ứng dụng nhỏ, người cao tuổi khó đọc.",
    "other": "Người dân muốn được hướng dẫn thêm vào buổi tối.",
}


def sign_in_text(ward: Ward) -> str:
    """How to sign in to the demo (the same text whether it was just built or already there)."""
    return "\n".join(
        [
            f"Dữ liệu mẫu: {ward.name} (chỉ để dùng thử, mọi tên người đều là tên bịa).",
            "Mở http://127.0.0.1:5000/login và đăng nhập:",
            f"  Cán bộ phường:            {OFFICER[0]} / {OFFICER[1]}",
            f"  Tổ trưởng (Tổ dân phố 1): totruong1 / {PASSWORD}   (… totruong{RESIDENTIAL_UNITS})",
            f"  Thành viên Tổ CNSCĐ:      tv1a, tv1b / {PASSWORD}   (… tv{RESIDENTIAL_UNITS}b)",
            f"  Cán bộ cơ quan:           coquan1 / {PASSWORD}",
            f"  Cán bộ trường học:        truong1 / {PASSWORD}",
            f"  Cán bộ Sở KH&CN:          {CITY_ADMIN} / {PASSWORD}   (mọi phường, xã)",
            f"  Cán bộ xã An Lạc:         {SECOND_OFFICER} / {PASSWORD}",
            "Mật khẩu dùng chung chỉ vì đây là dữ liệu mẫu; đừng dùng cho phường thật.",
        ]
    )


def build_demo() -> str:
    """Create the demo ward once; later calls only say how to sign in."""
    ward = db.session.scalar(sa.select(Ward).where(Ward.name == WARD_NAME))
    if ward is not None:
        return "Dữ liệu mẫu đã có sẵn.\n" + sign_in_text(ward)
    taken = db.session.scalars(
        sa.select(User.username).where(User.username.in_(_demo_usernames()))
    ).all()
    if taken:
        return (
            "Không tạo được dữ liệu mẫu: đã có tài khoản trùng tên ("
            + ", ".join(sorted(taken))
            + "). Hãy dùng một cơ sở dữ liệu trống cho bản demo."
        )
    rng = random.Random(SEED)
    ward, campaign = _build(rng)
    _second_ward(random.Random(SEED + 1), campaign)
    _city_admin()
    db.session.commit()
    return "Đã tạo dữ liệu mẫu.\n" + sign_in_text(ward)


def _demo_usernames() -> list[str]:
    names = [OFFICER[0]]
    for n in range(1, RESIDENTIAL_UNITS + 1):
        names += [f"totruong{n}", f"tv{n}a", f"tv{n}b", f"tv{n}c"]
    names += [SECOND_OFFICER, CITY_ADMIN]
    for n in range(1, len(SECOND_UNITS) + 1):
        names += [f"anlac_tt{n}", f"anlac_tv{n}a", f"anlac_tv{n}b"]
    return names + [username for _, _, username in AGENCIES + SCHOOLS]


def _person(rng: random.Random, gender: str | None = None) -> tuple[str, str]:
    gender = gender or rng.choice(["female", "female", "male"])  # more women volunteer and ask
    family = rng.choices([f for f, _ in FAMILY], weights=[w for _, w in FAMILY])[0]
    return f"{family} {rng.choice(MIDDLE[gender])} {rng.choice(GIVEN[gender])}", gender


def _user(
    username: str, role: str, ward: Ward | None, unit: Unit | None, name: str, pw: str
) -> User:
    user = User(
        username=username,
        role=role,
        ward_id=ward.id if ward else None,
        unit_id=unit.id if unit else None,
    )
    user.set_name(name)
    user.password_hash = pw
    db.session.add(user)
    return user


def _utc(day: date, hour: int, minute: int) -> datetime:
    """A local (Asia/Ho_Chi_Minh) wall-clock time as naive UTC."""
    local = datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ)
    return local.astimezone(UTC).replace(tzinfo=None)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _build(rng: random.Random) -> tuple[Ward, Campaign]:
    ward = Ward(name=WARD_NAME, code="DEMO-01", kind="ward", unit_label="Tổ dân phố")
    db.session.add(ward)
    db.session.flush()
    # The city's campaign (no ward): every ward of the demo city takes part in it.
    campaign = Campaign(
        ward_id=None,
        name="Công dân số Hải Phòng – sử dụng thông minh, sống an toàn",
        starts_on=STARTS,
        ends_on=ENDS,
        report_due=DUE,
        contest_url="https://cuocthi.example.vn/cong-dan-so",
        steps=[dict(s) for s in DEFAULT_STEPS],
        categories=[dict(c) for c in DEFAULT_CATEGORIES],
        consent_version=1,
        retention_until=date(2026, 5, 12),
    )
    db.session.add(campaign)
    db.session.flush()
    db.session.add(ConsentText(campaign_id=campaign.id, version=1, text=DEFAULT_CONSENT))

    residential = [
        Unit(ward_id=ward.id, kind="residential", name=f"Tổ dân phố số {n}")
        for n in range(1, RESIDENTIAL_UNITS + 1)
    ]
    agencies = [Unit(ward_id=ward.id, kind="agency", name=name) for name, _, _ in AGENCIES]
    schools = [Unit(ward_id=ward.id, kind="school", name=name) for name, _, _ in SCHOOLS]
    db.session.add_all(residential + agencies + schools)
    db.session.flush()
    for unit in residential:
        db.session.add(
            Target(unit_id=unit.id, campaign_id=campaign.id, value=rng.randrange(60, 151, 5))
        )
    for unit, (_, target, _) in zip(agencies + schools, AGENCIES + SCHOOLS, strict=True):
        db.session.add(Target(unit_id=unit.id, campaign_id=campaign.id, value=target))

    shared_hash = generate_password_hash(PASSWORD)
    officer = _user(
        OFFICER[0], "officer", ward, None, _person(rng)[0], generate_password_hash(OFFICER[1])
    )
    loggers: list[tuple[User, Unit]] = []
    for n, unit in enumerate(residential, start=1):
        head = _user(f"totruong{n}", "group_head", ward, unit, _person(rng)[0], shared_hash)
        loggers.append((head, unit))
        for letter in "abc"[: 2 + (n % 3 == 0)]:  # every third group has a third member
            member = _user(f"tv{n}{letter}", "member", ward, unit, _person(rng)[0], shared_hash)
            loggers.append((member, unit))
    for unit, (_, _, username) in zip(agencies + schools, AGENCIES + SCHOOLS, strict=True):
        _user(username, "reporter", ward, unit, _person(rng)[0], shared_hash)
    db.session.flush()

    devices = _devices(rng, loggers)
    _assists(rng, campaign, loggers, devices)
    _last_seen(devices)
    _difficulties(rng, campaign, loggers, devices, officer)
    _unit_reports(campaign, agencies[0], schools[0])
    audit.record("demo_created", ward, ward_id=ward.id)
    return ward, campaign


def _devices(rng: random.Random, loggers: list[tuple[User, Unit]]) -> dict[int, Device]:
    devices = {}
    for user, _ in loggers:
        token = hashlib.sha256(f"demo-device-{user.username}".encode()).hexdigest()
        devices[user.id] = Device(
            user_id=user.id,
            token_hash=token,
            label=rng.choice(["Samsung Galaxy A05", "OPPO A18", "Xiaomi Redmi 13C", "iPhone 11"]),
            created_at=_utc(STARTS, 8, rng.randrange(0, 59)),
        )
    db.session.add_all(devices.values())
    db.session.flush()
    return devices


def _last_seen(devices: dict[int, Device]) -> None:
    for device in devices.values():  # a phone was last seen when it last sent something
        device.last_seen_at = db.session.scalar(
            sa.select(sa.func.max(Assist.received_at)).where(Assist.device_id == device.id)
        )


def _second_ward(rng: random.Random, campaign: Campaign) -> Ward:
    """A small commune in the same city campaign, with its own officer, villages and log."""
    ward = Ward(name=SECOND_WARD, code="DEMO-02", kind="commune", unit_label="Thôn")
    db.session.add(ward)
    db.session.flush()
    units = [Unit(ward_id=ward.id, kind="residential", name=name) for name in SECOND_UNITS]
    db.session.add_all(units)
    db.session.flush()
    for unit in units:
        db.session.add(
            Target(unit_id=unit.id, campaign_id=campaign.id, value=rng.randrange(40, 81, 5))
        )
    shared_hash = generate_password_hash(PASSWORD)
    officer = _user(SECOND_OFFICER, "officer", ward, None, _person(rng)[0], shared_hash)
    loggers: list[tuple[User, Unit]] = []
    for n, unit in enumerate(units, start=1):
        loggers.append(
            (_user(f"anlac_tt{n}", "group_head", ward, unit, _person(rng)[0], shared_hash), unit)
        )
        for letter in "ab":
            member = _user(
                f"anlac_tv{n}{letter}", "member", ward, unit, _person(rng)[0], shared_hash
            )
            loggers.append((member, unit))
    db.session.flush()
    devices = _devices(rng, loggers)
    _assists(rng, campaign, loggers, devices, count=(50, 70))
    _last_seen(devices)
    _difficulties(rng, campaign, loggers, devices, officer, count=3)
    audit.record("demo_created", ward, ward_id=ward.id)
    return ward


def _city_admin() -> User:
    """The Department's account: sees wards and the city campaign, never residents."""
    return _user(
        CITY_ADMIN, "city_admin", None, None, "Đinh Thị Quỳnh", generate_password_hash(PASSWORD)
    )


def _campaign_day(rng: random.Random) -> date:
    """A day of the campaign, busier at weekends and in the last week."""
    days = [STARTS + timedelta(d) for d in range((ENDS - STARTS).days + 1)]
    weights = [
        (2 if day.weekday() >= 5 else 1) * (2 if (ENDS - day).days < 7 else 1) for day in days
    ]
    return rng.choices(days, weights=weights)[0]


def _steps(rng: random.Random) -> tuple[list[str], int]:
    roll = rng.random()
    if roll < 0.10:
        return ["installed"], 0
    if roll < 0.35:
        return ["installed", "registered"], 0
    return ["installed", "registered", "tested"], rng.choices([1, 2, 3], weights=[60, 30, 10])[0]


def _assists(
    rng: random.Random,
    campaign: Campaign,
    loggers: list[tuple[User, Unit]],
    devices: dict[int, Device],
    count: tuple[int, int] = (380, 440),
) -> None:
    categories = list(CATEGORY_WEIGHTS)
    for _ in range(rng.randint(*count)):
        user, unit = rng.choice(loggers)
        category = rng.choices(categories, weights=list(CATEGORY_WEIGHTS.values()))[0]
        name, gender = _person(rng)
        low, high = BIRTH_YEARS[category]
        steps, attempts = _steps(rng)
        day = _campaign_day(rng)
        recorded = _utc(day, rng.randrange(7, 20), rng.randrange(0, 60))
        delay = rng.choice(
            [timedelta(minutes=rng.randrange(1, 30))] * 6
            + [timedelta(hours=rng.randrange(1, 10), minutes=rng.randrange(0, 60))] * 3
        )
        base = {
            "record_id": _uuid(rng),
            "ward_id": unit.ward_id,
            "campaign_id": campaign.id,
            "unit_id": unit.id,
            "user_id": user.id,
            "device_id": devices[user.id].id,
            "recorded_at": recorded,
            "received_at": recorded + delay,
            "full_name": name,
            "name_key": fold(name),
            "birth_year": rng.randint(low, high) if rng.random() < 0.85 else None,
            "gender": gender,
            "phone": f"09{rng.randrange(10**8):08d}" if rng.random() < 0.3 else None,
            "category": category,
            "steps": Assist.join_steps(steps),
            "attempts": attempts,
            "consent": True,
            "consent_version": 1,
            "note": rng.choice(NOTES) if rng.random() < 0.15 else None,
        }
        roll = rng.random()
        if roll < 0.06:  # corrected later: the test was taken on a second visit
            db.session.add(Assist(**base, rev=1, is_current=False))
            later = recorded + timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 5))
            fixed = {
                **base,
                "recorded_at": later,
                "received_at": later + timedelta(minutes=rng.randrange(1, 40)),
                "steps": Assist.join_steps(["installed", "registered", "tested"]),
                "attempts": max(attempts, 1),
            }
            db.session.add(Assist(**fixed, rev=2, is_current=True))
        elif roll < 0.08:  # logged twice by mistake, then voided
            db.session.add(Assist(**base, rev=1, is_current=False))
            voided = {**base, "received_at": base["received_at"] + timedelta(minutes=5)}
            db.session.add(Assist(**voided, rev=2, is_current=True, voided=True))
        else:
            db.session.add(Assist(**base, rev=1, is_current=True))
    db.session.flush()


def _difficulties(
    rng: random.Random,
    campaign: Campaign,
    loggers: list[tuple[User, Unit]],
    devices: dict[int, Device],
    officer: User,
    count: int = 10,
) -> None:
    kinds = list(DIFFICULTY_KINDS)
    for index in range(count):
        user, unit = rng.choice(loggers)
        kind = kinds[index % len(kinds)]
        recorded = _utc(_campaign_day(rng), rng.randrange(8, 19), rng.randrange(0, 60))
        resolved = index % 3 == 0
        db.session.add(
            Difficulty(
                record_id=_uuid(rng),
                rev=1,
                is_current=True,
                ward_id=unit.ward_id,
                campaign_id=campaign.id,
                unit_id=unit.id,
                user_id=user.id,
                device_id=devices[user.id].id,
                recorded_at=recorded,
                received_at=recorded + timedelta(minutes=rng.randrange(1, 90)),
                kind=kind,
                text=DIFFICULTY_TEXTS[kind],
                resolved_at=recorded + timedelta(days=1) if resolved else None,
                resolved_by_id=officer.id if resolved else None,
            )
        )


def _unit_reports(campaign: Campaign, agency: Unit, school: Unit) -> None:
    """One agency and one school have reported; the others have not yet."""
    db.session.add_all(
        [
            UnitReport(unit_id=agency.id, campaign_id=campaign.id, completed=24, attempts=31),
            UnitReport(
                unit_id=school.id,
                campaign_id=campaign.id,
                completed=412,
                attempts=530,
                pupils=380,
                teachers=32,
            ),
        ]
    )
