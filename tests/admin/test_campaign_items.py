"""A campaign's steps and categories, edited on the campaign form of the ward and of the city:
the rules (no request), the form over HTTP for both roles, and what a phone then receives."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from fieldapp.admin import campaign_items as ci
from fieldapp.admin.campaign_items import CATEGORIES, STEPS, Row
from fieldapp.extensions import db
from fieldapp.field import enrol
from fieldapp.models import AuditEvent, Campaign
from fieldapp.vocab import DEFAULT_CATEGORIES, DEFAULT_STEPS
from tests.admin.test_views import campaign_data
from tests.builder import add_campaign
from tests.city.test_views import build_city, sign_in
from tests.sync.test_api import API, bearer, enrol_phone
from tests.tally_world import add_assist

WHEN = datetime(2025, 10, 20, 3, 0)


def steps() -> list[dict[str, str]]:
    return [dict(s) for s in DEFAULT_STEPS]


def categories() -> list[dict[str, str]]:
    return [dict(c) for c in DEFAULT_CATEGORIES]


def keep_rows(items: list[dict[str, str]]) -> list[Row]:
    return [Row(item["key"], item["label"]) for item in items]


# ---------------------------------------------------------------- the rules


def test_rows_are_read_from_the_posted_form_in_order():
    form = MultiDict(
        [
            ("name", "Cuộc thi"),
            ("steps-k-installed-label", "  Cài  ứng dụng "),
            ("steps-k-installed-remove", "1"),
            ("steps-k-tested-label", "Thi\x00 trực\ttuyến"),
            ("steps-new-1-label", "Nộp bài"),
            ("steps-new-0-label", "Đăng ký VNeID"),
            ("steps-k-Bad Key-label", "x"),  # not a key: ignored
            ("categories-k-elderly-label", "Người già"),
        ]
    )
    assert ci.parse_rows(form, "steps") == [
        Row("installed", "Cài ứng dụng", True),
        Row("tested", "Thi trực tuyến", False),
        Row(None, "Đăng ký VNeID"),
        Row(None, "Nộp bài"),
    ]
    assert ci.parse_rows(form, "categories") == [Row("elderly", "Người già", False)]
    assert ci.parse_rows(MultiDict({"name": "x"}), "steps") is None


def test_keys_come_from_the_folded_label_and_stay_unique():
    assert ci.make_key("Đăng ký VNeID", set(), "step") == "dang_ky_vneid"
    assert ci.make_key("Người khuyết tật", set(), "category") == "nguoi_khuyet_tat"
    assert ci.make_key("Cài đặt", {"cai_dat"}, "step") == "cai_dat_2"
    assert ci.make_key("Cài đặt", {"cai_dat", "cai_dat_2"}, "step") == "cai_dat_3"
    assert ci.make_key("!!! ???", set(), "step") == "step"
    long = ci.make_key("Hướng dẫn sử dụng ứng dụng trên điện thoại thông minh", set(), "step")
    assert long == "huong_dan_su_dung_un" and len(long) <= ci.KEY_MAX
    assert ci.make_key("Hướng dẫn sử dụng ứng dụng", {long}, "step") == "huong_dan_su_dung_2"


def test_renaming_keeps_keys_and_order_and_new_items_go_last():
    rows = [
        Row("installed", "Cài ứng dụng"),
        Row("registered", "Đăng ký tài khoản"),
        Row("tested", "Thi trực tuyến"),
        Row(None, "Đăng ký VNeID"),
        Row(None, ""),  # an empty new row adds nothing
    ]
    outcome = ci.apply_rows(STEPS, steps(), rows)
    assert outcome.errors == []
    assert outcome.items == [
        {"key": "installed", "label": "Cài ứng dụng"},
        {"key": "registered", "label": "Đăng ký tài khoản"},
        {"key": "tested", "label": "Thi trực tuyến"},
        {"key": "dang_ky_vneid", "label": "Đăng ký VNeID"},
    ]
    assert (outcome.renamed, outcome.added, outcome.removed) == (
        ["installed"],
        ["dang_ky_vneid"],
        [],
    )
    # Re-using a removed item's label gives a new key: records of the old one stay apart.
    again = ci.apply_rows(STEPS, steps(), [Row("installed", "x", True), Row(None, "Installed")])
    assert again.errors == [] and again.items[-1]["key"] == "installed_2"


def test_no_rows_or_unknown_rows_change_nothing():
    assert ci.apply_rows(STEPS, steps(), None).items == steps()
    outcome = ci.apply_rows(STEPS, steps(), [Row("gone", "Đã bỏ", True)])
    assert outcome.items == steps() and not outcome.changed and outcome.errors == []


def test_removing_an_unused_item_is_allowed():
    rows = [*keep_rows(categories()[:-1]), Row("other", "Khác", remove=True)]
    outcome = ci.apply_rows(CATEGORIES, categories(), rows, in_use={"elderly": 3})
    assert outcome.errors == [] and outcome.removed == ["other"]
    assert [c["key"] for c in outcome.items] == [c["key"] for c in DEFAULT_CATEGORIES[:-1]]


@pytest.mark.parametrize(
    ("kind", "current", "rows", "in_use", "message"),
    [
        (
            CATEGORIES,
            categories(),
            [Row("elderly", "Người cao tuổi", remove=True)],
            {"elderly": 3},
            "Không thể bỏ đối tượng “Người cao tuổi”: đã có 3 lượt hỗ trợ",
        ),
        (
            STEPS,
            steps(),
            [Row("installed", "Cài đặt", remove=True)],
            {"installed": 1},
            "Không thể bỏ bước “Cài đặt”: đã có 1 lượt hỗ trợ",
        ),
        (
            STEPS,
            steps(),
            [Row("tested", "Thi trực tuyến", remove=True)],
            {},
            "Không thể bỏ bước “Thi trực tuyến”: tiến độ thi",
        ),
        (
            CATEGORIES,
            categories(),
            [Row(c["key"], c["label"], remove=True) for c in DEFAULT_CATEGORIES],
            {},
            "Cuộc thi cần ít nhất một đối tượng.",
        ),
        (
            STEPS,
            steps(),
            [Row("installed", "Cai dat"), Row(None, "CÀI ĐẶT")],
            {},
            "Tên “CÀI ĐẶT” trùng với “Cai dat”",
        ),
        (
            CATEGORIES,
            categories(),
            [Row("other", "K" * 61)],
            {},
            "dài quá 60 ký tự",
        ),
        (
            STEPS,
            steps(),
            [Row(None, f"Bước thêm {n}") for n in range(6)],
            {},
            "Tối đa 8 bước; hiện có 9.",
        ),
        (
            CATEGORIES,
            categories(),
            [Row(None, f"Nhóm {n}") for n in range(6)],
            {},
            "Tối đa 12 đối tượng; hiện có 13.",
        ),
        (
            STEPS,
            steps(),
            [Row("registered", "")],
            {},
            "Vui lòng nhập tên cho mọi bước",
        ),
    ],
)
def test_broken_rules_are_refused_with_a_clear_message(kind, current, rows, in_use, message):
    outcome = ci.apply_rows(kind, current, rows, in_use)
    assert any(message in error for error in outcome.errors), outcome.errors


def test_sixty_characters_eight_steps_and_twelve_categories_are_fine():
    outcome = ci.apply_rows(STEPS, steps(), [Row(None, f"Bước thêm {n}") for n in range(5)])
    assert outcome.errors == [] and len(outcome.items) == 8
    outcome = ci.apply_rows(CATEGORIES, categories(), [Row(None, f"Nhóm {n}") for n in range(5)])
    assert outcome.errors == [] and len(outcome.items) == 12
    outcome = ci.apply_rows(CATEGORIES, categories(), [Row("other", "K" * 60)])
    assert outcome.errors == []
    # Eight keys of the longest kind still fit Assist.steps (200 characters).
    assert len("," + ",".join(["x" * ci.KEY_MAX] * 8) + ",") <= 200


def test_keys_in_use_count_assists_in_any_revision_and_only_whole_keys(world):
    old = add_assist(world, "kdc1", "member", name=None, steps=["installed"], received=WHEN)
    add_assist(
        world, "kdc1", "member", name=None, steps=["registered"], received=WHEN,
        record_id=old.record_id, category="student",
    )  # fmt: skip
    add_assist(world, "kdc1", "member", name=None, steps=["tested"], received=WHEN, voided=True)
    # "a_b" must not match "aXb": the LIKE pattern is escaped.
    add_assist(world, "kdc1", "member", name=None, steps=["smallXtrader"], received=WHEN)
    other = dataclasses.replace(world, campaign=world.other_campaign)
    add_assist(other, "kdc1", "member", name=None, steps=["registered"], received=WHEN)
    db.session.commit()
    keys = {"installed", "registered", "tested", "small_trader"}
    assert ci.keys_in_use(world.campaign, STEPS, keys) == {
        "installed": 1,
        "registered": 1,
        "tested": 1,
    }
    assert ci.keys_in_use(world.campaign, CATEGORIES, {"elderly", "student", "other"}) == {
        "elderly": 3,
        "student": 1,
    }
    assert ci.keys_in_use(None, STEPS, keys) == {}


# ---------------------------------------------------------------- the ward officer's form


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def rows_data(items: list[dict[str, str]], name: str, **labels: str) -> dict[str, str]:
    """Every item's row as the form posts it, with some labels changed ("" in remove_<key>)."""
    data = {}
    for item in items:
        data[f"{name}-k-{item['key']}-label"] = labels.get(item["key"], item["label"])
    data[f"{name}-new-0-label"] = labels.get("new0", "")
    data[f"{name}-new-1-label"] = labels.get("new1", "")
    return data


@pytest.fixture
def officer(client, world, auth):
    auth.login("canbo")
    return world


def test_officer_sees_each_step_and_category_as_an_editable_row(client, officer):
    page = client.get("/admin/campaign").get_data(as_text=True)
    assert 'name="steps-k-installed-label" value="Cài đặt"' in page
    assert 'name="steps-k-installed-remove"' in page
    assert 'name="steps-k-tested-remove"' not in page and "Luôn giữ" in page
    assert 'name="categories-k-other-label" value="Khác"' in page
    assert page.count('name="steps-new-') == 2 and page.count('name="categories-new-') == 2


def test_officer_renames_removes_and_adds_and_the_phone_gets_it(client, officer):
    token = enrol_phone(client, officer)
    data = {
        **campaign_data(),
        **rows_data(steps(), "steps", installed="Cài ứng dụng", new0="Đăng ký VNeID"),
        **rows_data(categories(), "categories", new1="Người khuyết tật"),
        "categories-k-other-remove": "1",
    }
    response = client.post("/admin/campaign", data=data)
    assert response.status_code == 302
    campaign = db.session.get(Campaign, officer.campaign.id)
    assert campaign.steps == [
        {"key": "installed", "label": "Cài ứng dụng"},
        {"key": "registered", "label": "Đăng ký tài khoản"},
        {"key": "tested", "label": "Thi trực tuyến"},
        {"key": "dang_ky_vneid", "label": "Đăng ký VNeID"},
    ]
    assert campaign.category_keys == [
        *(c["key"] for c in DEFAULT_CATEGORIES[:-1]),
        "nguoi_khuyet_tat",
    ]
    (event,) = events("campaign_updated")
    assert set(event.detail["fields"]) >= {"steps", "categories"}
    assert event.detail["steps"] == {
        "added": ["dang_ky_vneid"],
        "removed": [],
        "renamed": ["installed"],
    }
    assert event.detail["categories"]["removed"] == ["other"]
    # The phone sees the new labels at its next sync (GET /me carries the campaign).
    body = client.get(f"{API}/me", headers=bearer(token)).get_json()
    assert body["campaign"]["steps"][0] == {"key": "installed", "label": "Cài ứng dụng"}
    assert body["campaign"]["categories"][-1]["key"] == "nguoi_khuyet_tat"
    # The form now shows the saved rows.
    page = client.get("/admin/campaign").get_data(as_text=True)
    assert 'name="steps-k-dang_ky_vneid-label" value="Đăng ký VNeID"' in page


def test_removing_a_category_in_use_is_refused_and_nothing_is_saved(client, officer):
    add_assist(officer, "kdc1", "member", name=None, steps=["installed"], received=WHEN)
    db.session.commit()
    data = {
        **campaign_data(name="Tên mới của Cuộc thi"),
        **rows_data(steps(), "steps", installed="Cài ứng dụng"),
        **rows_data(categories(), "categories"),
        "categories-k-elderly-remove": "1",
        "steps-k-installed-remove": "1",
    }
    response = client.post("/admin/campaign", data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Không thể bỏ đối tượng “Người cao tuổi”: đã có 1 lượt hỗ trợ" in page
    assert "Không thể bỏ bước “Cài đặt”: đã có 1 lượt hỗ trợ" in page
    assert "Chưa lưu được" in page
    assert 'name="steps-k-installed-label" value="Cài ứng dụng"' in page  # what was typed
    assert 'name="categories-k-elderly-remove" value="1" checked' in page
    campaign = db.session.get(Campaign, officer.campaign.id)
    assert campaign.steps == steps() and campaign.categories == categories()
    assert campaign.name != "Tên mới của Cuộc thi"
    assert not events("campaign_updated")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"steps-k-tested-remove": "1"}, "Không thể bỏ bước “Thi trực tuyến”"),
        ({"steps-new-0-label": "cai dat"}, "Tên “cai dat” trùng với “Cài đặt”"),
        ({"categories-k-other-label": "K" * 61}, "dài quá 60 ký tự"),
        ({"steps-k-registered-label": ""}, "Vui lòng nhập tên cho mọi bước"),
    ],
)
def test_bad_rows_are_refused_over_http(client, officer, extra, message):
    data = {
        **campaign_data(),
        **rows_data(steps(), "steps"),
        **rows_data(categories(), "categories"),
    }
    response = client.post("/admin/campaign", data={**data, **extra})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    campaign = db.session.get(Campaign, officer.campaign.id)
    assert campaign.steps == steps() and campaign.categories == categories()


def test_a_new_ward_campaign_starts_with_the_rows_as_edited(client, world, auth):
    auth.login("canbo")
    data = {
        **campaign_data(name="Cuộc thi riêng của phường"),
        **rows_data(steps(), "steps", registered="Tạo tài khoản"),
        **rows_data(categories(), "categories", new0="Hộ nghèo"),
    }
    assert client.post("/admin/campaign/new", data=data).status_code == 302
    campaign = db.session.scalar(
        sa.select(Campaign).where(Campaign.name == "Cuộc thi riêng của phường")
    )
    assert campaign.step_label("registered") == "Tạo tài khoản"
    assert campaign.category_keys[-1] == "ho_ngheo"


# ---------------------------------------------------------------- the city administrator's form


@pytest.fixture
def city(app):
    return build_city()


def test_city_admin_edits_the_city_campaigns_steps_and_categories(client, city):
    sign_in(client, city.users["city_admin"])
    campaign = city.campaign
    page = client.get(f"/city/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'name="categories-k-student-label" value="Học sinh, sinh viên"' in page
    data = {
        **campaign_data(),
        **rows_data(steps(), "steps", new0="Nộp bài thi"),
        **rows_data(categories(), "categories", student="Học sinh"),
        "categories-k-official-remove": "1",  # the wards' assists are all "elderly"
    }
    data.pop("unit_label")
    response = client.post(f"/city/campaigns/{campaign.id}", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    campaign = db.session.get(Campaign, campaign.id)
    assert campaign.step_keys == ["installed", "registered", "tested", "nop_bai_thi"]
    assert campaign.category_label("student") == "Học sinh"
    assert "official" not in campaign.category_keys
    (event,) = events("campaign_updated")
    assert event.detail["categories"] == {
        "added": [],
        "removed": ["official"],
        "renamed": ["student"],
    }
    # Every ward's phone gets the new label.
    token = enrol_for(client, city, "A")
    body = client.get(f"{API}/me", headers=bearer(token)).get_json()
    assert {"key": "student", "label": "Học sinh"} in body["campaign"]["categories"]


def enrol_for(client, city, ward: str) -> str:
    code, _ = enrol.issue_code(city.users[f"{ward}_member"], city.users[f"{ward}_officer"])
    db.session.commit()
    response = client.post(f"{API}/devices", json={"code": code, "label": "Máy B"})
    assert response.status_code == 201
    return response.get_json()["token"]


def test_city_admin_cannot_remove_an_item_a_ward_has_used(client, city):
    sign_in(client, city.users["city_admin"])
    used = db.session.get(Campaign, city.campaign.id)
    data = {
        **campaign_data(),
        **rows_data(steps(), "steps"),
        **rows_data(categories(), "categories"),
        "categories-k-elderly-remove": "1",  # one assist of each ward is of this category
        "steps-k-registered-remove": "1",  # and has this step
    }
    data.pop("unit_label")
    response = client.post(f"/city/campaigns/{used.id}", data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Không thể bỏ đối tượng “Người cao tuổi”: đã có 2 lượt hỗ trợ" in page
    assert "Không thể bỏ bước “Đăng ký tài khoản”: đã có 2 lượt hỗ trợ" in page
    campaign = db.session.get(Campaign, used.id)
    assert campaign.categories == categories() and campaign.steps == steps()


def test_city_admin_creates_a_campaign_with_its_own_steps(client, city):
    sign_in(client, city.users["city_admin"])
    data = {
        **campaign_data(name="Cuộc thi Chuyển đổi số 2026"),
        **rows_data(steps(), "steps", new0="Chia sẻ kết quả"),
        **rows_data(categories(), "categories"),
    }
    data.pop("unit_label")
    assert client.post("/city/campaigns/new", data=data).status_code == 302
    campaign = db.session.scalar(
        sa.select(Campaign).where(Campaign.name == "Cuộc thi Chuyển đổi số 2026")
    )
    assert campaign.is_city and campaign.step_keys[-1] == "chia_se_ket_qua"


def test_a_ward_officer_still_cannot_edit_the_city_campaign(client, city):
    sign_in(client, city.users["A_officer"])
    page = client.get("/admin/campaign").get_data(as_text=True)
    assert "steps-k-" not in page and "Đăng ký tài khoản" in page  # read-only chips
    data = {
        **campaign_data(),
        **rows_data(steps(), "steps", installed="Đổi tên"),
        **rows_data(categories(), "categories", new0="Nhóm mới"),
        "steps-k-registered-remove": "1",
    }
    assert client.post("/admin/campaign", data=data).status_code == 302
    campaign = db.session.get(Campaign, city.campaign.id)
    assert campaign.steps == steps() and campaign.categories == categories()
    assert not events("campaign_updated")


def test_a_wards_own_campaign_is_not_the_city_admins_to_edit(client, city):
    own = add_campaign(city.wards["A"])
    db.session.commit()
    sign_in(client, city.users["city_admin"])
    data = {**campaign_data(), **rows_data(steps(), "steps", installed="Đổi")}
    assert client.post(f"/city/campaigns/{own.id}", data=data).status_code == 404
    assert db.session.get(Campaign, own.id).steps == steps()
