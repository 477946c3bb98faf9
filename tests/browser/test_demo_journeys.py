"""The README's demo, built on the day the test runs, walked role by role in Chromium at 360 px.

Each journey of the README's table must work today: the campaign is running, a reporter can
still report, a school can replace its list, the history shows a closed contest. Screenshots
go to $FIELDAPP_SHOTS for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldapp.demo import OFFICER, PASSWORD
from tests.browser.conftest import PHONE, new_phone
from tests.browser.live import LiveServer
from tests.browser.pwa import WAIT_MS, ready, wait_for_states
from tests.browser.test_enrol_qr import keep


@pytest.fixture
def screen(browser):
    context = new_phone(browser)
    yield context
    context.close()
    assert context.page_errors == [], context.page_errors


def sign_in(context, demo: LiveServer, username: str, password: str = PASSWORD):
    page = context.new_page()
    page.goto(f"{demo.url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def shot(page, tmp_path: Path, name: str, full: bool = True) -> None:
    path = tmp_path / f"demo-{name}-360.png"
    page.screenshot(path=str(path), full_page=full)
    keep(path)


def fits(page) -> bool:
    """Nothing on the page is wider than the phone's screen."""
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_officer_sees_a_running_campaign_and_prints_the_report(demo, screen, tmp_path):
    page = sign_in(screen, demo, *OFFICER)
    assert page.url.endswith("/admin/")
    assert "Cuộc thi đang diễn ra: còn 6 ngày" in page.inner_text(".lifecycle")
    page.goto(f"{demo.url}/reports/")
    badge = page.locator(".lifecycle")
    assert badge.get_attribute("data-phase") == "running"
    figures = page.locator(".figure-number").all_inner_texts()
    assert all(int(n.replace(".", "").split()[0]) > 0 for n in figures[:4]), figures
    assert "Giờ thiết bị không hợp lý: 3 lượt" in page.content()
    assert "vẫn được tính vào số liệu" in page.inner_text("#xem-lai")
    shot(page, tmp_path, "officer-dashboard", full=False)
    page.goto(f"{demo.url}/reports/print")
    assert "Kết quả triển khai Cuộc thi" in page.content()
    assert "Ghi chú: Các lượt ghi ngoài thời gian Cuộc thi" in page.content()
    shot(page, tmp_path, "officer-print")


def test_a_group_head_sees_the_groups_progress(demo, screen, tmp_path):
    page = sign_in(screen, demo, "totruong1")
    assert page.url.endswith("/unit")
    assert "Cuộc thi đang diễn ra" in page.inner_text(".lifecycle")
    assert int(page.locator(".figure-number").first.inner_text()) > 0
    shot(page, tmp_path, "group-head", full=False)


def test_a_member_signs_in_and_logs_a_resident_who_reaches_the_ward(demo, screen, tmp_path):
    page = sign_in(screen, demo, "tv1a")
    page.wait_for_url("**/app#/", timeout=WAIT_MS)
    ready(page)
    life = page.locator("#campaign-life")
    assert life.inner_text().startswith("Cuộc thi đang diễn ra, còn 6 ngày")
    page.fill("#f-full_name", "Ông Thử Nghiệm")
    page.check("input[name=category][value=elderly]")
    page.check("input[name=steps][value=installed]")
    page.check("#f-consent")
    page.click("#log-save")
    assert not page.locator("#confirm").evaluate("d => d.open")  # inside the campaign: no question
    found = wait_for_states(page, lambda found: found and "Đã gửi" in found[0]["states"])
    assert found[0]["name"] == "Ông Thử Nghiệm"
    # The member's history came back to the phone (the 2025 contest's too): only entries the
    # member logged outside the campaign, after the question, carry the mark.
    assert len(found) > 10 and page.locator(".fa-outside").count() == 0
    assert fits(page)
    shot(page, tmp_path, "member-sent")


def test_an_agency_that_has_not_reported_yet_reports_today(demo, screen, tmp_path):
    page = sign_in(screen, demo, "coquan2")
    assert page.url.endswith("/unit-report")
    assert "chỉ để xem" not in page.content()
    page.fill("#completed", "18")
    page.fill("#attempts", "21")
    page.click("button:has-text('Lưu số liệu')")
    assert "Đã lưu số liệu của đơn vị." in page.inner_text(".flash")
    assert page.input_value("#completed") == "18"
    assert fits(page)
    shot(page, tmp_path, "agency-report")


def test_a_school_previews_its_new_list_then_replaces_the_old_one(demo, screen, tmp_path):
    page = sign_in(screen, demo, "truong1")
    assert "Đã lưu danh sách 12 người" in page.inner_text("#danh-sach")
    listing = tmp_path / "danh-sach-lop-5.csv"
    rows = ["Họ và tên,Lớp,Đối tượng"] + [f"Học Sinh Mẫu {n},5A,Học sinh" for n in range(1, 31)]
    listing.write_text("\n".join(rows + ["Cô Giáo Mẫu,Tổ 5,Giáo viên"]), encoding="utf-8-sig")
    page.set_input_files("#file", str(listing))
    page.click("button:has-text('Tải danh sách lên để xem trước')")
    preview = page.locator("#xem-truoc")
    preview.wait_for(timeout=WAIT_MS)
    text = preview.inner_text()
    assert "Tệp có 31 người: 30 học sinh, 1 giáo viên." in text
    assert "thay cho danh sách đang lưu (12 người: 10 học sinh, 2 giáo viên)" in text
    assert page.locator(".preview-list li").count() == 10
    assert fits(page)
    shot(page, tmp_path, "school-preview")
    page.click("button:has-text('Lưu danh sách mới, thay danh sách cũ')")
    flash = page.inner_text(".flash")
    assert flash == "Đã lưu danh sách 31 người (thay cho danh sách cũ 12 người)."
    shot(page, tmp_path, "school-replaced")

    # A list without the kind column is refused, naming it, and the list stays.
    listing.write_text("Họ và tên,Lớp\nHọc Sinh Mẫu,5A\n", encoding="utf-8")
    page.set_input_files("#file", str(listing))
    page.click("button:has-text('Tải danh sách lên để xem trước')")
    assert "Tệp thiếu cột “Đối tượng”" in page.inner_text(".upload-errors")
    assert "Đã lưu danh sách 31 người" in page.inner_text("#danh-sach")
    shot(page, tmp_path, "school-missing-column")


def test_the_city_sees_the_running_campaign_and_the_closed_one(demo, screen, tmp_path):
    page = sign_in(screen, demo, "so_khcn")
    assert page.url.endswith("/city/")
    page.goto(f"{demo.url}/city/reports/")
    assert page.locator(".lifecycle").get_attribute("data-phase") == "running"
    shot(page, tmp_path, "city-running", full=False)
    history = page.locator("#campaign_id option", has_text="(2025)").get_attribute("value")
    page.select_option("#campaign_id", history)
    page.click("form.search-row button")
    badge = page.locator(".lifecycle")
    assert badge.get_attribute("data-phase") == "overdue"
    assert badge.inner_text().startswith("Cuộc thi đã kết thúc ngày 11/11/2025")
    assert int(page.locator(".figure-number").nth(2).inner_text().replace(".", "")) > 300
    shot(page, tmp_path, "city-closed", full=False)


def test_the_second_communes_officer_sees_only_the_commune(demo, screen, tmp_path):
    page = sign_in(screen, demo, "canbo_anlac")
    assert "Xã An Lạc (demo)" in page.inner_text("h1")
    page.goto(f"{demo.url}/reports/")
    assert "Phường Thành Đông" not in page.content()
    shot(page, tmp_path, "anlac-dashboard", full=False)
