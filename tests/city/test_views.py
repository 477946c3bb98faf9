"""One deployment for the city: the city administrator, city campaigns, and two wards that
share unit names and resident names but never see each other's anything."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from fieldapp.extensions import db
from fieldapp.models import (
    Assist,
    AuditEvent,
    Campaign,
    ConsentText,
    Device,
    Difficulty,
    EnrolmentCode,
    TallyPending,
    Target,
    Unit,
    UnitReport,
    User,
    Ward,
)
from fieldapp.privacy import erasure
from fieldapp.roles import visible
from fieldapp.sync import contract
from tests.builder import add_campaign
from tests.conftest import sign_in_directly
from tests.world import PASSWORD, add_user

RESIDENT = "Nguyễn Thị Hoa"  # the same resident name in both wards
BIRTH = {"A": 1950, "B": 1960}  # ...told apart here only by birth year


@dataclass
class City:
    campaign: Campaign
    wards: dict[str, Ward]
    units: dict[str, Unit] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    assists: dict[str, str] = field(default_factory=dict)  # ward -> record id
    difficulties: dict[str, int] = field(default_factory=dict)  # ward -> row id


def assist_record(unit_id: int, birth_year: int, rid: str | None = None, rev: int = 1) -> dict:
    return {
        "id": rid or str(uuid.uuid4()),
        "rev": rev,
        "type": "assist",
        "recorded_at": "2025-10-20T09:14:03+07:00",
        "voided": False,
        "data": {
            "full_name": RESIDENT,
            "birth_year": birth_year,
            "unit_id": unit_id,
            "category": "elderly",
            "steps": ["installed", "registered", "tested"],
            "attempts": 1,
            "consent": True,
        },
    }


def build_city() -> City:
    """A city campaign and two wards with the same unit names, people and resident names."""
    wards = {
        "A": Ward(name="Phường Hoa Sen", code="HS01", kind="ward"),
        "B": Ward(name="Xã An Lạc", code="AL02", kind="commune"),
    }
    db.session.add_all(wards.values())
    db.session.flush()
    campaign = add_campaign(None)
    city = City(campaign=campaign, wards=wards)
    for key, ward in wards.items():
        unit = Unit(ward=ward, kind="residential", name="Tổ dân phố số 1")
        school = Unit(ward=ward, kind="school", name="Trường Tiểu học số 1")
        db.session.add_all([unit, school])
        db.session.flush()
        city.units[key] = unit
        city.units[f"{key}_school"] = school
        low = key.lower()
        city.users[f"{key}_officer"] = add_user(f"canbo_{low}", "officer", ward, name="Trần Thu")
        city.users[f"{key}_head"] = add_user(f"totruong_{low}", "group_head", ward, unit, "Lê Mai")
        city.users[f"{key}_member"] = add_user(f"tv_{low}", "member", ward, unit, "Vũ Lan")
        city.users[f"{key}_reporter"] = add_user(
            f"truong_{low}", "reporter", ward, school, "Đỗ Sơn"
        )
        db.session.add(UnitReport(unit_id=school.id, campaign_id=campaign.id, completed=7))
    city.users["city_admin"] = add_user("so_khcn", "city_admin", None, name="Đinh Quỳnh")
    db.session.commit()
    for key in wards:
        record = assist_record(city.units[key].id, BIRTH[key])
        problem = {
            "id": str(uuid.uuid4()),
            "rev": 1,
            "type": "difficulty",
            "recorded_at": "2025-10-20T10:00:00+07:00",
            "data": {"unit_id": city.units[key].id, "kind": "other", "text": "Chưa rõ cách thi"},
        }
        results = contract.sync_records([record, problem], city.users[f"{key}_member"])["results"]
        assert [r["status"] for r in results] == ["stored", "stored"]
        city.assists[key] = record["id"]
        city.difficulties[key] = db.session.scalar(
            sa.select(Difficulty.id).where(Difficulty.record_id == problem["id"])
        )
    return city


@pytest.fixture
def city(app) -> City:
    return build_city()


def sign_in(client, user: User) -> None:
    sign_in_directly(client, user)


def current_assist(record_id: str) -> Assist:
    return db.session.scalar(
        sa.select(Assist).where(Assist.record_id == record_id, Assist.is_current)
    )


# --- the city campaign: every ward takes part, each with its own records -------------------


def test_every_ward_takes_part_in_the_city_campaign_with_its_own_records(city):
    for key, ward in city.wards.items():
        assert ward.current_campaign() == city.campaign
        row = current_assist(city.assists[key])
        assert (row.ward_id, row.campaign_id, row.unit_id) == (
            ward.id,
            city.campaign.id,
            city.units[key].id,
        )


def test_a_ward_campaign_of_its_own_does_not_reach_another_ward(city):
    own = add_campaign(city.wards["A"])
    own.starts_on = date(2025, 10, 15)  # later than the city's: it becomes A's current one
    db.session.commit()
    assert city.wards["A"].current_campaign() == own
    assert city.wards["B"].current_campaign() == city.campaign


def test_an_inactive_city_campaign_is_nobodys_current_campaign(city):
    city.campaign.active = False
    db.session.commit()
    assert city.wards["A"].current_campaign() is None


# --- two wards, same names: nothing of B reaches anyone of A --------------------------------


B_ROWS_FOR_OFFICER = [
    ("GET", "/admin/units/{B}"),
    ("POST", "/admin/units/{B}"),
    ("GET", "/admin/people/{B_member}"),
    ("POST", "/admin/people/{B_member}"),
    ("POST", "/admin/people/{B_member}/password"),
    ("POST", "/admin/people/{B_member}/sessions/end"),
    ("POST", "/admin/people/{B_member}/disable"),
    ("POST", "/reports/difficulties/{B_difficulty}/resolve"),
    ("POST", "/qr/people/{B_member}/issue"),
    ("POST", "/qr/units/{B}/sheet"),
    ("GET", "/qr/poster/{B}"),
    ("GET", "/unit?unit_id={B}"),
]


def _b_ids(city: City) -> dict[str, int]:
    return {
        "B": city.units["B"].id,
        "B_member": city.users["B_member"].id,
        "B_difficulty": city.difficulties["B"],
    }


@pytest.mark.parametrize(("method", "url"), B_ROWS_FOR_OFFICER)
def test_officer_of_a_gets_404_for_every_row_of_b(client, city, method, url):
    sign_in(client, city.users["A_officer"])
    target = url.format(**_b_ids(city))
    data = {"name": "Đổi", "kind": "residential", "new_password": "matkhau-moi-123"}
    response = client.open(target, method=method, data=data if method == "POST" else None)
    assert response.status_code == 404
    # Nothing of B changed: its unit, member, difficulty; no enrolment code was issued.
    assert db.session.get(Unit, city.units["B"].id).name == "Tổ dân phố số 1"
    member = db.session.get(User, city.users["B_member"].id)
    assert member.active and member.check_password(PASSWORD)
    assert db.session.get(Difficulty, city.difficulties["B"]).resolved_at is None
    assert db.session.scalar(sa.select(sa.func.count(EnrolmentCode.id))) == 0
    denied = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "denied")).all()
    assert [e.detail["status"] for e in denied] == [404]


@pytest.mark.parametrize("role", ["head", "member", "reporter"])
@pytest.mark.parametrize(
    ("method", "url"),
    [("GET", "/unit?unit_id={B}"), ("GET", "/qr/poster/{B}"), ("GET", "/admin/units/{B}")],
)
def test_no_one_of_a_opens_bs_unit(client, city, role, method, url):
    sign_in(client, city.users[f"A_{role}"])
    response = client.open(url.format(**_b_ids(city)), method=method)
    assert response.status_code in (403, 404)
    assert RESIDENT not in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["officer", "head"])
@pytest.mark.parametrize("path", ["/reports/assists.csv", "/reports/difficulties.csv"])
def test_downloads_of_a_hold_only_as_rows(client, city, role, path):
    sign_in(client, city.users[f"A_{role}"])
    response = client.get(path)
    assert response.status_code == 200
    lines = [line for line in response.get_data(as_text=True).splitlines() if line.strip()]
    assert len(lines) == 2, lines  # the header and A's one row
    if path == "/reports/assists.csv":
        assert RESIDENT in lines[1] and str(BIRTH["A"]) in lines[1]
        assert str(BIRTH["B"]) not in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["member", "reporter"])
@pytest.mark.parametrize(
    "path", ["/reports/assists.csv", "/reports/difficulties.csv", "/reports/ward.xlsx"]
)
def test_members_and_reporters_download_nothing(client, city, role, path):
    sign_in(client, city.users[f"A_{role}"])
    assert client.get(path).status_code == 403


def test_the_ward_dashboard_and_workbook_of_a_count_only_a(client, city):
    from fieldapp.tally import counts

    a_units = [city.units["A"].id, city.units["A_school"].id]
    assert counts.totals(city.campaign, a_units).assists == 1
    sign_in(client, city.users["A_officer"])
    assert client.get("/reports/").status_code == 200
    assert client.get("/reports/ward.xlsx").status_code == 200


def test_privacy_search_of_a_finds_only_as_resident(client, city):
    sign_in(client, city.users["A_officer"])
    page = client.post("/privacy/", data={"q": RESIDENT}).get_data(as_text=True)
    assert str(BIRTH["A"]) in page and str(BIRTH["B"]) not in page
    found = erasure.find_residents(city.users["A_officer"], RESIDENT)
    assert [r.record_ids for r in found] == [[city.assists["A"]]]


def test_officer_of_a_cannot_erase_bs_resident(client, city):
    sign_in(client, city.users["A_officer"])
    client.post("/privacy/erase", data={"record": city.assists["B"], "confirm": "1"})
    row = current_assist(city.assists["B"])
    assert row.full_name == RESIDENT and row.erased_at is None
    # Erasing A's own resident of the same name leaves B's untouched.
    client.post("/privacy/erase", data={"record": city.assists["A"], "confirm": "1"})
    assert current_assist(city.assists["A"]).full_name is None
    assert current_assist(city.assists["B"]).full_name == RESIDENT


def test_member_of_a_cannot_log_into_bs_unit_nor_revise_bs_record(city):
    member = city.users["A_member"]
    into_b = assist_record(city.units["B"].id, 1970)
    revise_b = assist_record(city.units["A"].id, 1971, rid=city.assists["B"], rev=2)
    results = contract.sync_records([into_b, revise_b], member)["results"]
    assert results[0]["status"] == "invalid" and "data.unit_id" in results[0]["errors"]
    assert results[1]["status"] != "stored"
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(Assist.record_id == into_b["id"])) == 0
    )
    assert current_assist(city.assists["B"]).rev == 1
    # The records a member's phone may pull are only their own.
    pulled = [r["id"] for r in contract.records_page(member, None)["records"]]
    assert city.assists["A"] in pulled and city.assists["B"] not in pulled


@pytest.mark.parametrize("role", ["officer", "head", "member", "reporter"])
def test_each_role_of_a_sees_nothing_of_b(city, role):
    user = city.users[f"A_{role}"]
    b = city.wards["B"]
    b_units = {city.units["B"].id, city.units["B_school"].id}
    for model in (Assist, Difficulty):
        rows = db.session.scalars(visible(model, user)).all()
        assert all(r.ward_id != b.id for r in rows)
    assert not b_units & {u.id for u in db.session.scalars(visible(Unit, user))}
    assert all(u.ward_id != b.id for u in db.session.scalars(visible(User, user)))
    assert all(r.unit_id not in b_units for r in db.session.scalars(visible(UnitReport, user)))
    assert all(d.user.ward_id != b.id for d in db.session.scalars(visible(Device, user)))


def test_enrolment_code_of_a_member_enrols_into_that_members_ward_only(client, city):
    sign_in(client, city.users["A_officer"])
    assert client.post(f"/qr/people/{city.users['A_member'].id}/issue").status_code == 200
    codes = db.session.scalars(sa.select(EnrolmentCode)).all()
    assert [c.user_id for c in codes] == [city.users["A_member"].id]


# --- what a ward officer may do with the city campaign -------------------------------------


def test_officer_sees_the_city_campaign_read_only(client, city):
    sign_in(client, city.users["A_officer"])
    page = client.get("/admin/campaign").get_data(as_text=True)
    assert "Cuộc thi của thành phố" in page and city.campaign.name in page
    assert 'name="starts_on"' not in page
    response = client.post(
        "/admin/campaign",
        data={
            "name": "Đổi tên Cuộc thi",
            "starts_on": "01/01/2025",
            "ends_on": "02/01/2025",
            "report_due": "03/01/2025",
            "contest_url": "https://khac.example.vn",
            "consent_wording": "Nội dung khác",
            "unit_label": "Thôn",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    campaign = db.session.get(Campaign, city.campaign.id)
    assert campaign.name != "Đổi tên Cuộc thi"
    assert campaign.starts_on == date(2025, 10, 11)
    assert campaign.consent_version == 1
    assert db.session.scalar(sa.select(sa.func.count(ConsentText.id))) == 1
    # Only the ward's own setting changed, and only for ward A.
    assert db.session.get(Ward, city.wards["A"].id).unit_label == "Thôn"
    assert db.session.get(Ward, city.wards["B"].id).unit_label == "Tổ dân phố"


def test_officer_sets_own_units_targets_for_the_city_campaign(client, city):
    sign_in(client, city.users["A_officer"])
    response = client.post(
        f"/admin/units/{city.units['A'].id}",
        data={"name": "Tổ dân phố số 1", "kind": "residential", "active": "y", "target": "120"},
    )
    assert response.status_code == 302
    targets = db.session.execute(sa.select(Target.unit_id, Target.campaign_id, Target.value)).all()
    assert targets == [(city.units["A"].id, city.campaign.id, 120)]
    assert "120" in client.get("/admin/units").get_data(as_text=True)


def test_officer_creates_a_campaign_of_the_wards_own(client, city):
    sign_in(client, city.users["A_officer"])
    assert "Tạo Cuộc thi" in client.get("/admin/campaign/new").get_data(as_text=True)
    response = client.post(
        "/admin/campaign/new",
        data={
            "name": "Tuần lễ chuyển đổi số của phường",
            "starts_on": "01/11/2025",
            "ends_on": "30/11/2025",
            "report_due": "02/12/2025",
            "contest_url": "https://phuong.example.vn",
            "consent_wording": "Tôi đồng ý.",
            "unit_label": "Tổ dân phố",
        },
    )
    assert response.status_code == 302
    own = db.session.scalar(sa.select(Campaign).where(Campaign.name.like("Tuần lễ%")))
    assert own.ward_id == city.wards["A"].id
    assert city.wards["A"].current_campaign() == own
    assert city.wards["B"].current_campaign() == city.campaign
    # Now the ward's own campaign is current: its officer edits it as before.
    assert 'name="starts_on"' in client.get("/admin/campaign").get_data(as_text=True)


def test_purging_a_city_campaign_tells_each_ward_its_own_counts(client, city):
    done = erasure.purge(city.campaign.retention_until + timedelta(days=1))
    db.session.commit()
    assert [(p.campaign_id, p.records) for p in done] == [(city.campaign.id, 2)]
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "campaign_purged")
    ).all()
    per_ward = {e.ward_id: e.detail["records"] for e in events}
    assert per_ward == {None: 2, city.wards["A"].id: 1, city.wards["B"].id: 1}
    seen_by_a = db.session.scalars(
        visible(AuditEvent, city.users["A_officer"]).where(AuditEvent.action == "campaign_purged")
    ).all()
    assert [e.detail["records"] for e in seen_by_a] == [1]
    assert all(current_assist(city.assists[k]).full_name is None for k in "AB")


# --- the city administrator ---------------------------------------------------------------


def test_city_admin_never_sees_residents(client, city):
    admin = city.users["city_admin"]
    for model in (Assist, Difficulty, Unit, UnitReport, Device, AuditEvent):
        assert db.session.scalars(visible(model, admin)).all() == []
    assert {u.role for u in db.session.scalars(visible(User, admin))} == {"officer", "city_admin"}
    sign_in(client, admin)
    pages = [
        client.get("/city/"),
        client.get(f"/city/wards/{city.wards['A'].id}"),
        client.get(f"/city/campaigns/{city.campaign.id}"),
    ]
    for page in pages:
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert RESIDENT not in text and "Vũ Lan" not in text  # no resident, no member
    for path in ("/reports/assists.csv", "/privacy/", "/admin/people", "/unit"):
        assert client.get(path).status_code == 403


def test_city_admin_signs_in_and_lands_on_the_city_home(client, auth, city):
    response = auth.login("so_khcn", PASSWORD)
    assert response.status_code == 302
    home = client.get("/", follow_redirects=True)
    assert home.request.path == "/city/"
    text = home.get_data(as_text=True)
    assert "Phường Hoa Sen" in text and "Xã An Lạc" in text and "HS01" in text
    assert city.campaign.name in text


def test_city_admin_creates_and_edits_a_ward(client, city):
    sign_in(client, city.users["city_admin"])
    data = {"code": "dk03", "name": "Đặc khu Đảo Ngọc", "kind": "special_zone"}
    response = client.post("/city/wards/new", data={**data, "unit_label": "Thôn"})
    assert response.status_code == 302
    ward = db.session.scalar(sa.select(Ward).where(Ward.code == "DK03"))
    assert (ward.name, ward.kind, ward.kind_label, ward.unit_label) == (
        "Đặc khu Đảo Ngọc",
        "special_zone",
        "Đặc khu",
        "Thôn",
    )
    assert ward.current_campaign() == city.campaign  # a new ward takes part at once
    edited = {**data, "code": "DK03", "name": "Đặc khu Đảo Ngọc Mới", "unit_label": "Khu dân cư"}
    assert client.post(f"/city/wards/{ward.id}", data=edited).status_code == 302
    db.session.expire_all()
    assert db.session.get(Ward, ward.id).name == "Đặc khu Đảo Ngọc Mới"
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.target_type == "wards")
    ).all()
    assert actions == ["ward_created", "ward_updated"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"code": "hs01", "name": "Phường Mới"}, "Mã HS01 đã có"),
        ({"code": "XY9", "name": "phường hoa sen"}, "Đã có phường, xã hoặc đặc khu tên này"),
        ({"code": "XY9", "name": ""}, "Vui lòng nhập tên"),
        ({"code": "", "name": "Phường Mới"}, "Vui lòng nhập mã"),
        ({"code": "mã có dấu", "name": "Phường Mới"}, "Mã gồm tối đa 20 ký tự"),
        ({"code": "XY9", "name": "Phường Mới", "kind": "tinh"}, "Not a valid choice"),
    ],
)
def test_a_bad_ward_is_refused_with_a_clear_message(client, city, data, message):
    sign_in(client, city.users["city_admin"])
    form = {"kind": "ward", "unit_label": "Tổ dân phố", **data}
    response = client.post("/city/wards/new", data=form)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Ward.id))) == 2


def test_city_admin_creates_an_officer_who_then_runs_the_ward(client, auth, city):
    sign_in(client, city.users["city_admin"])
    ward = city.wards["B"]
    response = client.post(
        f"/city/wards/{ward.id}/officers/new",
        data={"username": "CanBo.AnLac", "full_name": "Phan Văn Đức", "password": "mat-khau-1"},
    )
    assert response.status_code == 302
    officer = db.session.scalar(sa.select(User).where(User.username == "canbo.anlac"))
    assert (officer.role, officer.ward_id, officer.unit_id) == ("officer", ward.id, None)
    assert "Phan Văn Đức" in client.get(f"/city/wards/{ward.id}").get_data(as_text=True)
    client.post("/logout")
    auth.login("canbo.anlac", "mat-khau-1")
    page = client.get("/", follow_redirects=True)
    assert page.request.path == "/admin/" and "Xã An Lạc" in page.get_data(as_text=True)
    assert client.get("/city/").status_code == 403


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "canbo_a"}, "Tên đăng nhập này đã có người dùng"),
        ({"password": ""}, "Vui lòng đặt mật khẩu ban đầu"),
        ({"password": "ngan"}, "Mật khẩu cần ít nhất 8 ký tự"),
        ({"username": "Cán bộ"}, "Tên đăng nhập gồm 3–60 ký tự"),
        ({"full_name": ""}, "Vui lòng nhập họ và tên"),
    ],
)
def test_a_bad_officer_account_is_refused(client, city, data, message):
    sign_in(client, city.users["city_admin"])
    form = {"username": "canbo.moi", "full_name": "Phan Văn Đức", "password": "mat-khau-1"}
    response = client.post(f"/city/wards/{city.wards['A'].id}/officers/new", data={**form, **data})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(User).where(User.username == "canbo.moi")) is None


def test_a_ward_officer_cannot_make_a_city_admin(client, city):
    sign_in(client, city.users["A_officer"])
    response = client.post(
        "/admin/people/new",
        data={
            "username": "gia.mao",
            "full_name": "Giả Mạo",
            "role": "city_admin",
            "password": "x" * 10,
        },
    )
    assert response.status_code == 200
    assert db.session.scalar(sa.select(User).where(User.username == "gia.mao")) is None
    assert "Cán bộ Sở" not in client.get("/admin/people/new").get_data(as_text=True)


def test_city_admin_defines_a_city_campaign_once(client, city):
    sign_in(client, city.users["city_admin"])
    form = {
        "name": "Cuộc thi Chuyển đổi số 2026",
        "starts_on": "01/03/2026",
        "ends_on": "31/03/2026",
        "report_due": "02/04/2026",
        "contest_url": "https://cuocthi2026.example.vn",
        "retention_until": "30/09/2026",
        "consent_wording": "Tôi đồng ý cho ghi lại họ tên.",
    }
    response = client.post("/city/campaigns/new", data=form)
    assert response.status_code == 302
    campaign = db.session.scalar(sa.select(Campaign).where(Campaign.name == form["name"]))
    assert campaign.ward_id is None
    assert campaign.consent().text == (
        "Tôi đồng ý cho ghi lại họ tên."
        " Thông tin của tôi được lưu đến hết ngày 30/09/2026, sau đó sẽ bị xóa."
    )
    for ward in city.wards.values():
        assert ward.current_campaign() == campaign
    response = client.post(
        f"/city/campaigns/{campaign.id}", data={**form, "consent_wording": "Nội dung mới."}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).consent_version == 2
    # Bad input: a clear message, nothing changes.
    bad = client.post(f"/city/campaigns/{campaign.id}", data={**form, "ends_on": "01/01/2026"})
    assert "Ngày kết thúc phải bằng hoặc sau ngày bắt đầu" in bad.get_data(as_text=True)
    assert "Chưa lưu được: vui lòng sửa các ô báo đỏ bên dưới." in bad.get_data(as_text=True)
    assert db.session.get(Campaign, campaign.id).ends_on == date(2026, 3, 31)


def test_the_city_decides_whether_other_days_count_in_every_ward(client, city):
    from fieldapp.tally import rollup, store

    # One entry of ward A logged in September, before the campaign.
    early = assist_record(city.units["A"].id, 1970)
    early["recorded_at"] = "2025-09-20T09:00:00+07:00"
    contract.sync_records([early], city.users["A_member"])
    wards = list(city.wards.values())
    assert rollup.city_figures(city.campaign, wards).totals.assists == 3
    sign_in(client, city.users["city_admin"])
    page = client.get("/city/reports/").get_data(as_text=True)
    assert "vẫn được tính vào số liệu" in page
    c = city.campaign
    form = {
        "name": c.name,
        "starts_on": "11/10/2025",
        "ends_on": "11/11/2025",
        "report_due": "12/11/2025",
        "contest_url": c.contest_url,
        "retention_until": c.retention_until.strftime("%d/%m/%Y"),
        "consent_wording": c.consent().text,
        "count_outside": "False",
    }
    assert client.post(f"/city/campaigns/{c.id}", data=form).status_code == 302
    db.session.expire_all()
    # Every ward's stored figures were marked for a recount, and count without it.
    asked = db.session.scalars(
        sa.select(TallyPending.ward_id).where(
            TallyPending.campaign_id == c.id, TallyPending.resident_key.is_(None)
        )
    )
    assert sorted(asked) == sorted(w.id for w in wards)
    figures = rollup.city_figures(c, wards)
    assert figures.totals.assists == 2
    assert store.ward_figures(c, city.wards["A"].id).totals.assists == 1
    page = client.get("/city/reports/").get_data(as_text=True)
    assert "không được tính vào số liệu" in page
    rows = client.get("/city/reports/wards.csv").data.decode("utf-8-sig").strip().splitlines()
    assert "không được tính vào số liệu. Có 1 lượt như vậy." in rows[-1]
    # The ward's officer sees the rule, read-only.
    sign_in(client, city.users["A_officer"])
    assert "Không tính vào số liệu" in client.get("/admin/campaign").get_data(as_text=True)


def test_city_admin_cannot_touch_a_wards_own_campaign(client, city):
    own = add_campaign(city.wards["A"])
    db.session.commit()
    sign_in(client, city.users["city_admin"])
    response = client.post(f"/city/campaigns/{own.id}", data={"name": "Đổi"})
    assert response.status_code == 404
    assert db.session.get(Campaign, own.id).name != "Đổi"


# --- flask create-city-admin ----------------------------------------------------------------


def test_create_city_admin_command(app, runner, monkeypatch):
    monkeypatch.setenv("FIELDAPP_PASSWORD", "mat-khau-so")
    result = runner.invoke(args=["create-city-admin", "So.KHCN", "--name", "Đinh Thị Quỳnh"])
    assert result.exit_code == 0, result.output
    admin = db.session.scalar(sa.select(User).where(User.username == "so.khcn"))
    assert (admin.role, admin.ward_id, admin.full_name) == ("city_admin", None, "Đinh Thị Quỳnh")
    assert admin.check_password("mat-khau-so")
    again = runner.invoke(args=["create-city-admin", "so.khcn"])
    assert again.exit_code != 0 and "đã có" in again.output
    monkeypatch.setenv("FIELDAPP_PASSWORD", "ngan")
    short = runner.invoke(args=["create-city-admin", "so2"])
    assert short.exit_code != 0 and "ít nhất 8 ký tự" in short.output
    bad = runner.invoke(args=["create-city-admin", "sở"])
    assert bad.exit_code != 0 and "Tên đăng nhập" in bad.output
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 1
