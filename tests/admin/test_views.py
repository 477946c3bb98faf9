"""The officer's setup screens: campaign, units, people, devices."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from fieldapp.extensions import db
from fieldapp.models import AuditEvent, Campaign, ConsentText, Device, Target, Unit, User, Ward
from fieldapp.retention import consent_with_retention
from fieldapp.text import local_today
from fieldapp.vocab import DEFAULT_CONSENT
from tests.conftest import sign_in_directly
from tests.world import PASSWORD, add_user


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def campaign_data(**changes: str) -> dict[str, str]:
    data = {
        "name": "Công dân số Hải Phòng – sử dụng thông minh, sống an toàn",
        "starts_on": "11/10/2025",
        "ends_on": "11/11/2025",
        "report_due": "12/11/2025",
        "contest_url": "https://congdanso.example.vn/cuoc-thi",
        # The world's (kept on the day the tests run, tests/world.py).
        "retention_until": (local_today() + timedelta(days=180)).strftime("%d/%m/%Y"),
        "unit_label": "Khu dân cư",
        "consent_wording": DEFAULT_CONSENT,
    }
    data.update(changes)
    return data


def add_device(user: User, label: str = "Điện thoại Android") -> Device:
    device = Device(user_id=user.id, token_hash=f"hash-{user.id}-{label}", label=label)
    db.session.add(device)
    db.session.commit()
    return device


@pytest.fixture
def officer(client, world, auth):
    auth.login("canbo")
    return world


# ---------------------------------------------------------------- overview


def test_overview_shows_campaign_dates_and_counts(client, officer):
    page = client.get("/admin/").get_data(as_text=True)
    assert "Phường Thành Đông" in page
    assert "12/11/2025" in page  # the report deadline, dd/mm/yyyy
    assert ">4<" in page  # four units of this ward (not the other ward's)


# ---------------------------------------------------------------- campaign


def test_campaign_form_shows_dates_in_vietnamese_order(client, officer):
    page = client.get("/admin/campaign").get_data(as_text=True)
    assert 'value="11/10/2025"' in page
    assert "Cài đặt" in page and "Người cao tuổi" in page  # steps and categories listed


def test_campaign_update_accepts_both_date_forms_and_is_audited(client, officer):
    response = client.post(
        "/admin/campaign", data=campaign_data(ends_on="2025-11-15", report_due="20/11/2025")
    )
    assert response.status_code == 302
    campaign = db.session.get(Campaign, officer.campaign.id)
    assert campaign.ends_on == date(2025, 11, 15)
    assert campaign.report_due == date(2025, 11, 20)
    (event,) = events("campaign_updated")
    assert sorted(event.detail["fields"]) == ["ends_on", "report_due"]
    assert event.ward_id == officer.ward.id
    assert not events("consent_changed")  # same wording: no new version


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ends_on": "10/10/2025"}, "Ngày kết thúc phải bằng hoặc sau ngày bắt đầu."),
        ({"report_due": "01/11/2025"}, "Hạn báo cáo phải bằng hoặc sau ngày kết thúc."),
        ({"starts_on": "31/02/2025"}, "Ngày chưa đúng"),
        ({"starts_on": ""}, "Vui lòng nhập ngày bắt đầu."),
        ({"contest_url": "javascript:alert(1)"}, "http:// hoặc https://"),
        ({"contest_url": "congdanso.example.vn"}, "http:// hoặc https://"),
        ({"name": "  "}, "Vui lòng nhập tên Cuộc thi."),
        ({"consent_wording": ""}, "Vui lòng nhập nội dung đồng ý."),
    ],
)
def test_campaign_bad_input_changes_nothing_and_keeps_what_was_typed(
    client, officer, changes, message
):
    response = client.post("/admin/campaign", data=campaign_data(**changes))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert message in page
    for value in changes.values():
        if value.strip() and "<" not in value:
            assert f'value="{value}"' in page or value in page
    campaign = db.session.get(Campaign, officer.campaign.id)
    assert campaign.ends_on == date(2025, 11, 11)
    assert campaign.starts_on == date(2025, 10, 11)
    assert not events("campaign_updated")


def test_changed_consent_wording_is_a_new_version_and_old_ones_are_kept(client, officer):
    new_text = DEFAULT_CONSENT + " Xin cảm ơn."
    assert (
        client.post("/admin/campaign", data=campaign_data(consent_wording=new_text)).status_code
        == 302
    )
    campaign = db.session.get(Campaign, officer.campaign.id)
    assert campaign.consent_version == 2
    texts = db.session.scalars(
        sa.select(ConsentText)
        .where(ConsentText.campaign_id == campaign.id)
        .order_by(ConsentText.version)
    ).all()
    kept = consent_with_retention  # the wording read out names the retention date
    until = campaign.retention_until
    assert [(t.version, t.text) for t in texts] == [
        (1, kept(DEFAULT_CONSENT, until)),
        (2, kept(new_text, until)),
    ]
    (event,) = events("consent_changed")
    assert event.detail == {"version": 2}
    page = client.get("/admin/campaign").get_data(as_text=True)
    assert "Phiên bản 1" in page and "Phiên bản 2" in page


def test_unit_label_setting_renames_residential_units_on_screens(client, officer):
    client.post("/admin/campaign", data=campaign_data(unit_label="Thôn"))
    assert db.session.get(Ward, officer.ward.id).unit_label == "Thôn"
    page = client.get("/admin/units").get_data(as_text=True)
    assert "<td>Thôn</td>" in page


def test_campaign_screen_creates_the_first_campaign_with_default_steps(client, world, auth):
    ward = Ward(name="Phường Mới Lập", unit_label="Tổ dân phố")
    db.session.add(ward)
    db.session.flush()
    add_user("canbomoi", "officer", ward)
    db.session.commit()
    auth.login("canbomoi")
    page = client.get("/admin/campaign").get_data(as_text=True)
    assert "Tạo Cuộc thi" in page
    assert client.post("/admin/campaign", data=campaign_data()).status_code == 302
    campaign = db.session.get(Ward, ward.id).current_campaign()
    assert campaign.step_keys == ["installed", "registered", "tested"]
    assert "elderly" in campaign.category_keys
    assert campaign.consent().text == consent_with_retention(
        DEFAULT_CONSENT, campaign.retention_until
    )
    assert events("campaign_created")


# ---------------------------------------------------------------- units


def test_units_are_listed_by_kind_then_name_with_targets_and_people(client, officer):
    page = client.get("/admin/units").get_data(as_text=True)
    order = [page.index(n) for n in ("Khu dân cư số 1", "Khu dân cư số 2", "Trạm Y tế", "THCS")]
    assert order == sorted(order)
    row = re.search(r"Khu dân cư số 1</a></td>(.*?)</tr>", page, re.S).group(1)
    assert ">100<" in row  # target
    assert ">3</a>" in row  # group head + two members
    assert "Phường Lê Chân" not in page


def test_new_unit_with_target_is_saved_and_audited(client, officer):
    response = client.post(
        "/admin/units/new",
        data={
            "name": "  Khu dân cư   số 3 ",
            "kind": "residential",
            "target": "1.200",
            "active": "y",
        },
    )
    assert response.status_code == 302
    unit = db.session.scalar(sa.select(Unit).where(Unit.name == "Khu dân cư số 3"))
    assert unit.ward_id == officer.ward.id
    assert unit.target_for(officer.campaign) == 1200
    assert events("unit_created")[0].target_id == str(unit.id)
    assert events("target_set")[0].detail["new"] == 1200


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "khu dân cư số 1"}, "Phường đã có đơn vị tên này."),
        ({"name": ""}, "Vui lòng nhập tên đơn vị."),
        ({"target": "-5"}, "Chỉ tiêu phải là số nguyên không âm"),
        ({"target": "mười"}, "Chỉ tiêu phải là số nguyên không âm"),
        ({"target": "12,5"}, "Chỉ tiêu phải là số nguyên không âm"),
    ],
)
def test_bad_unit_input_changes_nothing(client, officer, data, message):
    before = db.session.scalar(sa.select(sa.func.count(Unit.id)))
    form = {"name": "Khu dân cư số 9", "kind": "residential", "target": "10", **data}
    response = client.post("/admin/units/new", data=form)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    if data.get("target"):
        assert f'value="{data["target"]}"' in page
    assert db.session.scalar(sa.select(sa.func.count(Unit.id))) == before


def test_editing_a_unit_updates_its_target_and_keeps_its_people(client, officer):
    unit = officer.units["kdc1"]
    response = client.post(
        f"/admin/units/{unit.id}",
        data={"name": "Khu dân cư số 1", "kind": "residential", "target": "150", "active": "y"},
    )
    assert response.status_code == 302
    assert db.session.get(Unit, unit.id).target_for(officer.campaign) == 150
    assert not events("unit_updated")  # only the target changed
    (event,) = events("target_set")
    assert (event.detail["old"], event.detail["new"]) == (100, 150)


def test_a_unit_with_people_cannot_switch_between_residential_and_agency(client, officer):
    unit = officer.units["kdc1"]
    response = client.post(
        f"/admin/units/{unit.id}",
        data={"name": "Khu dân cư số 1", "kind": "agency", "target": "100", "active": "y"},
    )
    assert "Đơn vị đang có 3 người dùng" in response.get_data(as_text=True)
    assert db.session.get(Unit, unit.id).kind == "residential"


def test_officer_of_another_ward_cannot_see_or_edit_a_unit(client, world, auth):
    auth.login("canbo2")
    unit = world.units["kdc1"]
    assert client.get(f"/admin/units/{unit.id}").status_code == 404
    response = client.post(
        f"/admin/units/{unit.id}",
        data={"name": "Đã bị sửa", "kind": "agency", "target": "1", "active": "y"},
    )
    assert response.status_code == 404
    assert db.session.get(Unit, unit.id).name == "Khu dân cư số 1"
    assert db.session.get(Unit, unit.id).target_for(world.campaign) == 100
    assert any(e.detail.get("status") == 404 for e in events("denied"))


# ---------------------------------------------------------------- people


def person_data(**changes: str) -> dict[str, str]:
    data = {
        "username": "tv.hoa01",
        "full_name": "Nguyễn Thị Hoà",
        "phone": "0912 345 678",
        "role": "member",
        "unit_id": "",
        "password": "",
    }
    data.update(changes)
    return data


def test_member_is_added_without_password_and_audit_has_no_personal_values(client, officer):
    unit = officer.units["kdc2"]
    response = client.post("/admin/people/new", data=person_data(unit_id=str(unit.id)))
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.username == "tv.hoa01"))
    assert (user.role, user.unit_id, user.ward_id) == ("member", unit.id, officer.ward.id)
    assert user.phone == "0912345678"
    assert user.name_key == "nguyen thi hoa"
    assert user.password_hash is None
    (event,) = events("user_created")
    flat = str(event.detail)
    assert "Hoà" not in flat and "0912" not in flat and "tv.hoa01" not in flat


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"username": "Lan Anh"}, "Tên đăng nhập gồm 3–60 ký tự"),
        ({"username": "canbo2"}, "Tên đăng nhập này đã có người dùng."),  # other ward's
        ({"role": "group_head", "password": "matkhau123"}, "cần thuộc một khu dân cư"),
        ({"role": "group_head", "unit_id": "agency"}, "cần thuộc một khu dân cư"),
        ({"role": "reporter", "unit_id": "kdc1", "password": "x" * 8}, "cơ quan, trường học"),
        ({"role": "officer", "unit_id": "kdc1", "password": "x" * 8}, "không thuộc đơn vị nào"),
        ({"role": "group_head", "unit_id": "kdc1"}, "Vui lòng đặt mật khẩu ban đầu"),
        ({"unit_id": "kdc1", "password": "ngan"}, "Mật khẩu cần ít nhất 8 ký tự."),
        ({"unit_id": "kdc1", "phone": "12345"}, "Số điện thoại cần 10 chữ số"),
    ],
)
def test_bad_person_input_changes_nothing(client, officer, changes, message):
    if changes.get("unit_id") in officer.units:
        changes["unit_id"] = str(officer.units[changes["unit_id"]].id)
    before = db.session.scalar(sa.select(sa.func.count(User.id)))
    response = client.post("/admin/people/new", data=person_data(**changes))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    assert "Nguyễn Thị Hoà" in page  # what was typed is kept
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == before


def test_new_person_form_starts_as_a_member_of_the_chosen_unit(client, officer):
    unit = officer.units["kdc2"]
    page = client.get(f"/admin/people/new?unit={unit.id}").get_data(as_text=True)
    assert re.search(r'<option selected value="member">', page)
    assert re.search(rf'<option selected value="{unit.id}">', page)


def test_username_is_stored_in_lower_case(client, officer):
    data = person_data(username="TV.Hoa01", unit_id=str(officer.units["kdc1"].id))
    assert client.post("/admin/people/new", data=data).status_code == 302
    assert db.session.scalar(sa.select(User).where(User.username == "tv.hoa01"))


def test_search_ignores_accents_and_filters_by_unit_and_role(client, officer):
    ward = officer.ward
    add_user("hoa1", "member", ward, officer.units["kdc2"], "Nguyễn Thị Hoà")
    add_user("hai1", "member", ward, officer.units["kdc1"], "Nguyễn Văn Hải")
    add_user("lanlc", "member", officer.other_ward, officer.units["other1"], "Nguyễn Thị Lan")
    db.session.commit()
    page = client.get("/admin/people?q=nguyen thi").get_data(as_text=True)
    assert "Nguyễn Thị Hoà" in page
    assert "Nguyễn Văn Hải" not in page
    assert "Nguyễn Thị Lan" not in page  # another ward
    decomposed = client.get("/admin/people?q=Nguye\u0302\u0303n Thi\u0323").get_data(as_text=True)
    assert "Nguyễn Thị Hoà" in decomposed
    by_unit = client.get(f"/admin/people?unit={officer.units['kdc2'].id}").get_data(as_text=True)
    assert "Nguyễn Thị Hoà" in by_unit and "Vũ Thị Lan" in by_unit
    assert "Nguyễn Văn Hải" not in by_unit
    by_role = client.get("/admin/people?role=reporter").get_data(as_text=True)
    assert "Hoàng Văn Sơn" in by_role and "Lê Thị Mai" not in by_role


ROW = re.compile(r'<td><a href="/admin/people/(\d+)">')


def test_people_are_listed_a_page_at_a_time_with_the_filters_kept(client, officer):
    ward, unit = officer.ward, officer.units["kdc2"]
    for n in range(230):
        add_user(f"tv{n:03d}", "member", ward, unit, f"Đỗ Thị Hằng {n:03d}")
    add_user("tv_lc", "member", officer.other_ward, officer.units["other1"], "Đỗ Thị Hằng 999")
    db.session.commit()
    in_ward = set(db.session.scalars(sa.select(User.id).where(User.ward_id == ward.id)))
    pages = [client.get(f"/admin/people?page={n}").get_data(as_text=True) for n in (1, 2, 3)]
    seen = [[int(i) for i in ROW.findall(page)] for page in pages]
    assert [len(rows) for rows in seen] == [100, 100, len(in_ward) - 200]
    assert set().union(*map(set, seen)) == in_ward  # every person once, none of the other ward
    total = len(in_ward)
    assert f"Người 1–100 trong {total} người · trang 1/3" in pages[0]
    assert 'href="/admin/people?page=2"' in pages[0] and "Trang trước" not in pages[0]
    assert 'href="/admin/people?page=1"' in pages[1] and 'href="/admin/people?page=3"' in pages[1]
    assert f"Người 201–{total} trong {total} người" in pages[2] and "Trang sau" not in pages[2]

    # The search and filters travel with the page links; a page past the end shows the last.
    url = f"/admin/people?q=do+thi+hang&unit={unit.id}&role=member"
    first = client.get(url).get_data(as_text=True)
    assert "Người 1–100 trong 230 người · trang 1/3" in first
    assert f"/admin/people?page=2&amp;unit={unit.id}&amp;role=member&amp;q=do+thi+hang" in first
    last = client.get(url + "&page=999").get_data(as_text=True)
    assert "Người 201–230 trong 230 người · trang 3/3" in last
    assert "Đỗ Thị Hằng 229" in last and "Đỗ Thị Hằng 999" not in last


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "²", "1.5", "9" * 40, ""])
def test_a_bad_page_number_shows_the_first_page(client, officer, raw):
    response = client.get("/admin/people", query_string={"page": raw})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Trần Thị Thu" in page and "Trang trước" not in page


def test_editing_a_person_is_audited_with_field_names_only(client, officer):
    member = officer.users["member"]
    data = person_data(full_name="Lê Thị Mai Anh", unit_id=str(officer.units["kdc2"].id))
    del data["username"]
    assert client.post(f"/admin/people/{member.id}", data=data).status_code == 302
    user = db.session.get(User, member.id)
    assert (user.full_name, user.unit_id) == ("Lê Thị Mai Anh", officer.units["kdc2"].id)
    assert user.username == "thanhvien1"
    (event,) = events("user_updated")
    assert sorted(event.detail["fields"]) == ["full_name", "phone", "unit_id"]
    assert "Mai" not in str(event.detail)


def test_password_reset_ends_the_sessions_of_that_account(app, client, officer, auth):
    head_client = app.test_client()
    head_client.post("/login", data={"username": "totruong1", "password": PASSWORD})
    # GET /login sends a signed-in person home and shows the form to anyone else.
    assert head_client.get("/login").status_code == 302
    head = officer.users["head"]
    response = client.post(f"/admin/people/{head.id}/password", data={"new_password": "moi-12345"})
    assert response.status_code == 302
    assert head_client.get("/login").status_code == 200
    assert events("password_reset")[0].target_id == str(head.id)
    fresh = app.test_client()
    bad = fresh.post("/login", data={"username": "totruong1", "password": PASSWORD})
    assert "không đúng" in bad.get_data(as_text=True)
    good = fresh.post("/login", data={"username": "totruong1", "password": "moi-12345"})
    assert good.status_code == 302


def test_password_reset_refuses_a_short_password(client, officer):
    head = officer.users["head"]
    response = client.post(f"/admin/people/{head.id}/password", data={"new_password": "ngan"})
    assert "Mật khẩu cần ít nhất 8 ký tự." in response.get_data(as_text=True)
    assert db.session.get(User, head.id).check_password(PASSWORD)
    assert not events("password_reset")


def test_disabling_revokes_devices_and_stops_sign_in(app, client, officer):
    member = officer.users["member"]
    member.set_password("mat-khau-moi-1")
    device = add_device(member)
    member_client = app.test_client()
    member_client.post("/login", data={"username": "thanhvien1", "password": "mat-khau-moi-1"})
    assert member_client.get("/login").status_code == 302  # signed in
    response = client.post(f"/admin/people/{member.id}/disable", follow_redirects=True)
    assert "Đã thu hồi 1 thiết bị" in response.get_data(as_text=True)
    assert db.session.get(User, member.id).active is False
    assert db.session.get(Device, device.id).revoked_at is not None
    assert db.session.get(Device, device.id).revoked_by_id == officer.users["officer"].id
    assert member_client.get("/login").status_code == 200  # session ended
    again = app.test_client().post(
        "/login", data={"username": "thanhvien1", "password": "mat-khau-moi-1"}
    )
    assert "không đúng" in again.get_data(as_text=True)
    assert events("user_disabled")[0].detail == {"devices_revoked": 1, "sessions_ended": 1}
    assert events("device_revoked")

    client.post(f"/admin/people/{member.id}/enable")
    assert db.session.get(User, member.id).active is True
    assert db.session.get(Device, device.id).revoked_at is not None  # stays revoked
    ok = app.test_client().post(
        "/login", data={"username": "thanhvien1", "password": "mat-khau-moi-1"}
    )
    assert ok.status_code == 302
    assert events("user_enabled")


def test_officer_cannot_disable_own_account(client, officer):
    me = officer.users["officer"]
    client.post(f"/admin/people/{me.id}/disable")
    assert db.session.get(User, me.id).active is True


def test_officer_of_another_ward_cannot_touch_a_person(client, world, auth):
    auth.login("canbo2")
    member = world.users["member"]
    assert client.get(f"/admin/people/{member.id}").status_code == 404
    assert client.post(f"/admin/people/{member.id}/disable").status_code == 404
    response = client.post(f"/admin/people/{member.id}/password", data={"new_password": "x" * 10})
    assert response.status_code == 404
    user = db.session.get(User, member.id)
    assert user.active is True and user.check_password(PASSWORD)
    assert "Lê Thị Mai" not in client.get("/admin/people?q=mai").get_data(as_text=True)


def test_person_page_shows_devices_in_the_qr_section(client, officer):
    member = officer.users["member"]
    add_device(member, "Máy Samsung A05")
    page = client.get(f"/admin/people/{member.id}").get_data(as_text=True)
    section = page[page.index("Thiết bị / Mã QR") :]
    assert "Máy Samsung A05" in section and "Đang dùng" in section


# ---------------------------------------------------------------- devices


def test_devices_list_and_revoke_after_confirming(client, officer):
    device = add_device(officer.users["member"], "Máy Oppo")
    other = add_device(officer.users["other_member"], "Máy ở phường khác")
    page = client.get("/admin/devices").get_data(as_text=True)
    assert "Máy Oppo" in page and "Lê Thị Mai" in page and "Khu dân cư số 1" in page
    assert "Máy ở phường khác" not in page
    confirm = client.get(f"/admin/devices/{device.id}/revoke")
    assert "Thu hồi thiết bị này?" in confirm.get_data(as_text=True)
    assert db.session.get(Device, device.id).revoked_at is None  # asking changes nothing
    assert client.post(f"/admin/devices/{device.id}/revoke").status_code == 302
    assert db.session.get(Device, device.id).revoked_at is not None
    (event,) = events("device_revoked")
    assert event.target_id == str(device.id) and event.ward_id == officer.ward.id
    assert client.post(f"/admin/devices/{other.id}/revoke").status_code == 404
    assert db.session.get(Device, other.id).revoked_at is None


# ---------------------------------------------------------------- CSRF


@pytest.mark.parametrize("app_settings", [{"WTF_CSRF_ENABLED": True}])
def test_admin_forms_require_a_csrf_token(client, world):
    officer = world.users["officer"]
    sign_in_directly(client, officer)
    before = db.session.scalar(sa.select(sa.func.count(Unit.id)))
    form = {"name": "Khu dân cư số 7", "kind": "residential", "target": "5", "active": "y"}
    assert client.post("/admin/units/new", data=form).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(Unit.id))) == before
    page = client.get("/admin/units/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/admin/units/new", data={**form, "csrf_token": token}).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Unit.id))) == before + 1
    assert db.session.scalar(sa.select(Target.value).where(Target.value == 5)) == 5
