"""The city administrator's screens on a 360 px phone: nothing scrolls sideways, the main
action is a large tap target, and the ward import reports its errors on screen."""

from __future__ import annotations

import re

import pytest

from tests.browser.pwa import WAIT_MS
from tests.world import PASSWORD

SCREENS = [
    ("/city/", "+ Thêm phường, xã"),
    ("/city/wards/1", "Lưu thay đổi"),
    ("/city/wards/new", "Thêm"),
    ("/city/wards/1/officers/new", "Tạo tài khoản"),
    ("/city/wards/import", "Tải lên và nhập"),
    ("/city/campaigns/new", "Tạo Cuộc thi"),
]


@pytest.fixture
def city_phone(phone, live):
    page = phone.new_page()
    page.goto(f"{live.url}/login")
    page.fill("#username", "so_khcn")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/city/$"), timeout=WAIT_MS)
    return page


def test_city_screens_fit_a_phone(city_phone, live):
    page = city_phone
    for path, action in SCREENS:
        page.goto(f"{live.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
        button = page.locator("main .button.primary", has_text=action).first
        box = button.bounding_box()
        assert box is not None and box["height"] >= 44 and box["x"] + box["width"] <= 360, path


def test_ward_import_errors_show_on_the_phone(city_phone, live, tmp_path):
    page = city_phone
    bad = tmp_path / "phuong-xa.csv"
    bad.write_text("ma,ten,loai\nA1,Xã Một,Xã\na1,,Huyện\n", encoding="utf-8")
    page.goto(f"{live.url}/city/wards/import")
    page.set_input_files("#file", str(bad))
    page.click("main button.primary")
    errors = page.locator(".error-list li").all_inner_texts()
    assert errors == [
        "Dòng 3: Mã A1 trùng với dòng 2",
        "Dòng 3: Thiếu tên",
        "Dòng 3: Loại “Huyện” không rõ; hãy dùng Phường, Xã hoặc Đặc khu",
    ]
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
