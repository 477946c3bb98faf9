"""A demo city: a ward with made-up people and a few hundred assists, a small commune beside
it, both in the city's campaigns, and the city administrator; the same every time it is built
on a given day.

The demo is alive on whatever day it is built: its current city campaign started five weeks
before and ends six days after, so every journey (logging, a group head's progress, a unit's
own report, the ward's and the city's dashboards) works. The 2025 contest, with its real
dates, is kept beside it as an ended campaign whose personal data the daily purge has cleared:
the closed state can be seen too (the city's dashboard, choosing that contest).
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from . import audit, lifecycle
from .extensions import db
from .models import (
    Assist,
    Campaign,
    ConsentText,
    Device,
    Difficulty,
    Participant,
    Target,
    Unit,
    UnitReport,
    User,
    Ward,
)
from .privacy import erasure
from .retention import consent_with_retention
from .text import LOCAL_TZ, fold, local_today, utcnow
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
CAMPAIGN_NAME = "Công dân số Hải Phòng – sử dụng thông minh, sống an toàn"
# The first contest's real dates (the ward's letter): the demo's history.
HISTORY = (date(2025, 10, 11), date(2025, 11, 11), date(2025, 11, 12))
HISTORY_RETENTION = date(2026, 5, 12)

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


def live_days(today: date) -> tuple[date, date, date]:
    """The running campaign's days: started five weeks ago, ends in six days, report two later."""
    starts, ends = today - timedelta(weeks=5), today + timedelta(days=6)
    return starts, ends, ends + timedelta(days=2)


@dataclass
class Round:
    """One campaign of the demo and the days its records fall on."""

    campaign: Campaign
    first: date  # the first day with records
    last: date  # the last day with records (yesterday, for the running campaign)
    finished: bool  # ended: every unit has reported


def sign_in_text(ward: Ward, today: date | None = None) -> str:
    """How to sign in to the demo (the same text whether it was just built or already there)."""
    today = today or local_today()
    lines = [f"Dữ liệu mẫu: {ward.name} (chỉ để dùng thử, mọi tên người đều là tên bịa)."]
    campaign = ward.current_campaign()
    if campaign is not None:
        life = lifecycle.of(campaign, today)
        lines.append(f"{campaign.name}: {life.text}.")
        if not life.logging_open:
            lines.append(
                "Dữ liệu mẫu này được tạo từ trước: muốn có Cuộc thi đang diễn ra hôm nay,"
                " hãy xóa instance/fieldapp.sqlite rồi chạy lại lệnh demo."
            )
    lines += [
        "Mở http://127.0.0.1:5000/login và đăng nhập:",
        f"  Cán bộ phường:            {OFFICER[0]} / {OFFICER[1]}",
        f"  Tổ trưởng (Tổ dân phố 1): totruong1 / {PASSWORD}   (… totruong{RESIDENTIAL_UNITS})",
        f"  Thành viên Tổ CNSCĐ:      tv1a, tv1b / {PASSWORD}   (… tv{RESIDENTIAL_UNITS}b)",
        f"  Cán bộ cơ quan:           coquan1 / {PASSWORD}   (coquan2 chưa báo cáo)",
        f"  Cán bộ trường học:        truong1 / {PASSWORD}   (truong2 chưa báo cáo)",
        f"  Cán bộ Sở KH&CN:          {CITY_ADMIN} / {PASSWORD}   (mọi phường, xã)",
        f"  Cán bộ xã An Lạc:         {SECOND_OFFICER} / {PASSWORD}",
        "Mật khẩu dùng chung chỉ vì đây là dữ liệu mẫu; đừng dùng cho phường thật.",
    ]
    return "\n".join(lines)


def build_demo(today: date | None = None) -> str:
    """Create the demo ward once (its campaign running on `today`); later calls only say how
    to sign in."""
    today = today or local_today()
    ward = db.session.scalar(sa.select(Ward).where(Ward.name == WARD_NAME))
    if ward is not None:
        return "Dữ liệu mẫu đã có sẵn.\n" + sign_in_text(ward, today)
    taken = db.session.scalars(
        sa.select(User.username).where(User.username.in_(_demo_usernames()))
    ).all()
    if taken:
        return (
            "Không tạo được dữ liệu mẫu: đã có tài khoản trùng tên ("
            + ", ".join(sorted(taken))
            + "). Hãy dùng một cơ sở dữ liệu trống cho bản demo."
        )
    # Nothing is received after this moment (a record of yesterday evening may arrive late).
    now = min(utcnow(), _utc(today, 23, 59))
    history = _campaign(*HISTORY, HISTORY_RETENTION, name=f"{CAMPAIGN_NAME} (2025)")
    starts, ends, due = live_days(today)
    live = _campaign(starts, ends, due, due + timedelta(days=180), name=f"{CAMPAIGN_NAME} (đợt 2)")
    rounds = [
        Round(history, HISTORY[0], HISTORY[1], finished=True),
        Round(live, starts, today - timedelta(days=1), finished=False),
    ]
    rng = random.Random(SEED)
    ward = _build(rng, rounds, now)
    _second_ward(random.Random(SEED + 1), rounds, now)
    _city_admin()
    db.session.flush()
    # The daily `flask purge` would have cleared the ended contest's personal data by now.
    erasure.purge(today, campaign_id=history.id)
    db.session.commit()
    return "Đã tạo dữ liệu mẫu.\n" + sign_in_text(ward, today)


def _campaign(starts: date, ends: date, due: date, keep_until: date, name: str) -> Campaign:
    """A city campaign (no ward): every ward of the demo city takes part in it."""
    campaign = Campaign(
        ward_id=None,
        name=name,
        starts_on=starts,
        ends_on=ends,
        report_due=due,
        contest_url="https://cuocthi.example.vn/cong-dan-so",
        steps=[dict(s) for s in DEFAULT_STEPS],
        categories=[dict(c) for c in DEFAULT_CATEGORIES],
        consent_version=1,
        retention_until=keep_until,
    )
    db.session.add(campaign)
    db.session.flush()
    wording = consent_with_retention(DEFAULT_CONSENT, keep_until)  # as the form stores it
    db.session.add(ConsentText(campaign_id=campaign.id, version=1, text=wording))
    return campaign


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


def _build(rng: random.Random, rounds: list[Round], now: datetime) -> Ward:
    ward = Ward(name=WARD_NAME, code="DEMO-01", kind="ward", unit_label="Tổ dân phố")
    db.session.add(ward)
    db.session.flush()
    residential = [
        Unit(ward_id=ward.id, kind="residential", name=f"Tổ dân phố số {n}")
        for n in range(1, RESIDENTIAL_UNITS + 1)
    ]
    agencies = [Unit(ward_id=ward.id, kind="agency", name=name) for name, _, _ in AGENCIES]
    schools = [Unit(ward_id=ward.id, kind="school", name=name) for name, _, _ in SCHOOLS]
    db.session.add_all(residential + agencies + schools)
    db.session.flush()

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
    for one in rounds:
        for unit in residential:
            db.session.add(
                Target(
                    unit_id=unit.id, campaign_id=one.campaign.id, value=rng.randrange(60, 151, 5)
                )
            )
        for unit, (_, target, _) in zip(agencies + schools, AGENCIES + SCHOOLS, strict=True):
            db.session.add(Target(unit_id=unit.id, campaign_id=one.campaign.id, value=target))
        _assists(rng, one, loggers, devices, now)
        _difficulties(rng, one, loggers, devices, officer, now)
        _unit_reports(rng, one, agencies, schools)
    # A member tried the form a few days before the running contest opened: the officer sees
    # these under "Cần xem lại", and the campaign's rule decides whether they count.
    _early_assists(rng, rounds[-1], loggers[:3], devices, now)
    _last_seen(devices)
    audit.record("demo_created", ward, ward_id=ward.id)
    return ward


def _devices(rng: random.Random, loggers: list[tuple[User, Unit]]) -> dict[int, Device]:
    devices = {}
    for user, _ in loggers:
        token = hashlib.sha256(f"demo-device-{user.username}".encode()).hexdigest()
        devices[user.id] = Device(
            user_id=user.id,
            token_hash=token,
            label=rng.choice(["Samsung Galaxy A05", "OPPO A18", "Xiaomi Redmi 13C", "iPhone 11"]),
            created_at=_utc(HISTORY[0], 8, rng.randrange(0, 59)),
        )
    db.session.add_all(devices.values())
    db.session.flush()
    return devices


def _last_seen(devices: dict[int, Device]) -> None:
    for device in devices.values():  # a phone was last seen when it last sent something
        device.last_seen_at = db.session.scalar(
            sa.select(sa.func.max(Assist.received_at)).where(Assist.device_id == device.id)
        )


def _second_ward(rng: random.Random, rounds: list[Round], now: datetime) -> Ward:
    """A small commune in the same city campaigns, with its own officer, villages and log."""
    ward = Ward(name=SECOND_WARD, code="DEMO-02", kind="commune", unit_label="Thôn")
    db.session.add(ward)
    db.session.flush()
    units = [Unit(ward_id=ward.id, kind="residential", name=name) for name in SECOND_UNITS]
    db.session.add_all(units)
    db.session.flush()
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
    for one in rounds:
        for unit in units:
            db.session.add(
                Target(unit_id=unit.id, campaign_id=one.campaign.id, value=rng.randrange(40, 81, 5))
            )
        _assists(rng, one, loggers, devices, now, count=(50, 70))
        _difficulties(rng, one, loggers, devices, officer, now, count=3)
    _last_seen(devices)
    audit.record("demo_created", ward, ward_id=ward.id)
    return ward


def _city_admin() -> User:
    """The Department's account: sees wards and the city campaign, never residents."""
    return _user(
        CITY_ADMIN, "city_admin", None, None, "Đinh Thị Quỳnh", generate_password_hash(PASSWORD)
    )


def _campaign_day(rng: random.Random, one: Round) -> date:
    """A day with records, busier at weekends and in the campaign's (or the log's) last week."""
    days = [one.first + timedelta(d) for d in range((one.last - one.first).days + 1)]
    weights = [
        (2 if day.weekday() >= 5 else 1) * (2 if (one.last - day).days < 7 else 1) for day in days
    ]
    return rng.choices(days, weights=weights)[0]


def _steps(rng: random.Random) -> tuple[list[str], int]:
    roll = rng.random()
    if roll < 0.10:
        return ["installed"], 0
    if roll < 0.35:
        return ["installed", "registered"], 0
    return ["installed", "registered", "tested"], rng.choices([1, 2, 3], weights=[60, 30, 10])[0]


def _assist_values(
    rng: random.Random,
    one: Round,
    user: User,
    unit: Unit,
    device: Device,
    recorded: datetime,
    now: datetime,
) -> dict[str, object]:
    """The columns of one made-up assist's first revision, received a little after."""
    category = rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()))[0]
    name, gender = _person(rng)
    low, high = BIRTH_YEARS[category]
    steps, attempts = _steps(rng)
    delay = rng.choice(
        [timedelta(minutes=rng.randrange(1, 30))] * 6
        + [timedelta(hours=rng.randrange(1, 10), minutes=rng.randrange(0, 60))] * 3
    )
    return {
        "record_id": _uuid(rng),
        "ward_id": unit.ward_id,
        "campaign_id": one.campaign.id,
        "unit_id": unit.id,
        "user_id": user.id,
        "device_id": device.id,
        "recorded_at": recorded,
        "received_at": min(recorded + delay, now),
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


def _assists(
    rng: random.Random,
    one: Round,
    loggers: list[tuple[User, Unit]],
    devices: dict[int, Device],
    now: datetime,
    count: tuple[int, int] = (380, 440),
) -> None:
    for _ in range(rng.randint(*count)):
        user, unit = rng.choice(loggers)
        day = _campaign_day(rng, one)
        recorded = _utc(day, rng.randrange(7, 20), rng.randrange(0, 60))
        base = _assist_values(rng, one, user, unit, devices[user.id], recorded, now)
        roll = rng.random()
        later = recorded + timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 5))
        if roll < 0.06 and later < now:  # corrected later: the test was taken on a second visit
            db.session.add(Assist(**base, rev=1, is_current=False))
            fixed = {
                **base,
                "recorded_at": later,
                "received_at": min(later + timedelta(minutes=rng.randrange(1, 40)), now),
                "steps": Assist.join_steps(["installed", "registered", "tested"]),
                "attempts": max(int(base["attempts"]), 1),
            }
            db.session.add(Assist(**fixed, rev=2, is_current=True))
        elif roll < 0.08:  # logged twice by mistake, then voided
            db.session.add(Assist(**base, rev=1, is_current=False))
            voided = {**base, "received_at": min(base["received_at"] + timedelta(minutes=5), now)}
            db.session.add(Assist(**voided, rev=2, is_current=True, voided=True))
        else:
            db.session.add(Assist(**base, rev=1, is_current=True))
    db.session.flush()


def _early_assists(
    rng: random.Random,
    one: Round,
    loggers: list[tuple[User, Unit]],
    devices: dict[int, Device],
    now: datetime,
) -> None:
    """Three assists logged two days before the campaign opened (device time outside it)."""
    day = one.campaign.starts_on - timedelta(days=2)
    for user, unit in loggers:
        recorded = _utc(day, rng.randrange(8, 17), rng.randrange(0, 60))
        values = _assist_values(rng, one, user, unit, devices[user.id], recorded, now)
        db.session.add(Assist(**values, rev=1, is_current=True))
    db.session.flush()


def _difficulties(
    rng: random.Random,
    one: Round,
    loggers: list[tuple[User, Unit]],
    devices: dict[int, Device],
    officer: User,
    now: datetime,
    count: int = 10,
) -> None:
    kinds = list(DIFFICULTY_KINDS)
    for index in range(count):
        user, unit = rng.choice(loggers)
        kind = kinds[index % len(kinds)]
        recorded = _utc(_campaign_day(rng, one), rng.randrange(8, 19), rng.randrange(0, 60))
        received = min(recorded + timedelta(minutes=rng.randrange(1, 90)), now)
        # An ended campaign's difficulties were all dealt with; a running one's partly.
        resolved = one.finished or index % 3 == 0
        db.session.add(
            Difficulty(
                record_id=_uuid(rng),
                rev=1,
                is_current=True,
                ward_id=unit.ward_id,
                campaign_id=one.campaign.id,
                unit_id=unit.id,
                user_id=user.id,
                device_id=devices[user.id].id,
                recorded_at=recorded,
                received_at=received,
                kind=kind,
                text=DIFFICULTY_TEXTS[kind],
                resolved_at=min(received + timedelta(days=1), now) if resolved else None,
                resolved_by_id=officer.id if resolved else None,
            )
        )


def _unit_reports(
    rng: random.Random, one: Round, agencies: list[Unit], schools: list[Unit]
) -> None:
    """The ended campaign: every unit reported. The running one: one agency and one school
    have (the school with its list of participants), the others not yet."""
    reporting = agencies + schools if one.finished else [agencies[0], schools[0]]
    for unit in reporting:
        if unit.kind == "school":
            pupils, teachers = rng.randrange(350, 450), rng.randrange(25, 40)
            report = UnitReport(
                unit_id=unit.id,
                campaign_id=one.campaign.id,
                completed=pupils + teachers,
                attempts=pupils + teachers + rng.randrange(40, 120),
                pupils=pupils,
                teachers=teachers,
            )
        else:
            completed = rng.randrange(15, 28)
            report = UnitReport(
                unit_id=unit.id,
                campaign_id=one.campaign.id,
                completed=completed,
                attempts=completed + rng.randrange(3, 10),
            )
        db.session.add(report)
        db.session.flush()
        if unit.kind == "school" and not one.finished:
            for n in range(12):  # the first page of the school's list, uploaded already
                gender = "female" if n % 2 else "male"
                kind = "teacher" if n >= 10 else "pupil"
                group = "Tổ Toán" if kind == "teacher" else f"5{'ABC'[n % 3]}"
                db.session.add(
                    Participant(
                        report_id=report.id,
                        full_name=_person(rng, gender)[0],
                        group_name=group,
                        kind=kind,
                    )
                )
