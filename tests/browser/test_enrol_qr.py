"""QR codes in a real Chromium: the officer issues a code on screen, a phone scans it and logs
offline; the enrolment sheet and the contest poster print on one A4 page and still scan."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import sqlalchemy as sa

from fieldapp.extensions import db
from fieldapp.models import Campaign, Device, EnrolmentCode, Unit, User
from tests.browser.pwa import WAIT_MS, all_sent, log_resident, ready, wait_for_states
from tests.qr.test_codes import zbar
from tests.world import PASSWORD

LAPTOP = {"width": 1280, "height": 800}
PX_PER_MM = 96 / 25.4  # CSS pixels, as print layout uses them
# What an A4 page with 12 mm margins (print.css) leaves for the content: 186 × 273 mm.
A4_PX = {"width": round(186 * PX_PER_MM), "height": round(273 * PX_PER_MM)}


def laptop(browser, live, username: str = "canbo", scale: float = 1):
    """The officer's browser, signed in through the real form."""
    context = browser.new_context(viewport=LAPTOP, locale="vi-VN", device_scale_factor=scale)
    page = context.new_page()
    page.goto(f"{live.url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/(admin|unit).*"), timeout=WAIT_MS)
    return context, page


def keep(path: Path) -> None:
    """Copy a screenshot to $FIELDAPP_SHOTS, for a person to look at."""
    if os.environ.get("FIELDAPP_SHOTS"):
        target = Path(os.environ["FIELDAPP_SHOTS"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / path.name)


def pdf_pages(page) -> int:
    """How many A4 pages the browser's print of the page has."""
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf))


def test_officer_issues_a_qr_a_phone_scans_it_and_logs_offline(
    browser, live, server_db, phone_factory, tmp_path
):
    member = server_db.new_member()  # its own first code is left unused
    context, officer = laptop(browser, live)
    officer.goto(f"{live.url}/admin/people/{member['id']}")
    officer.click("#thiet-bi button:has-text('Cấp mã QR')")
    officer.wait_for_selector("#qr-code svg", timeout=WAIT_MS)
    box = officer.locator("#qr-code svg").bounding_box()
    assert box["width"] >= 300  # about 8 cm on a laptop screen: scans from arm's length
    shot = tmp_path / "qr-issued.png"
    officer.screenshot(path=str(shot), full_page=True)
    keep(shot)
    urls = zbar(officer.locator("#qr-code").screenshot(), tmp_path)
    url = officer.text_content("#qr-url")
    assert urls == [url]
    assert re.fullmatch(re.escape(live.url) + r"/e/[A-Za-z0-9_-]{22}", url)

    phone = phone_factory()
    page = phone.new_page()
    page.goto(url)  # what the camera app opens
    page.wait_for_url("**/app#/", timeout=WAIT_MS)
    ready(page)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=WAIT_MS)
    assert page.is_visible("#view-log")
    assert page.input_value("#f-unit_id") == str(member["unit_id"])

    phone.set_offline(True)
    log_resident(page, "Nguyễn Thị Thoa", birth_year="1948", steps=("installed",))
    assert server_db.assists(member["id"]) == []
    phone.set_offline(False)
    wait_for_states(page, all_sent(1))
    rows = server_db.assists(member["id"])
    assert [(r.full_name, r.birth_year, r.unit_id) for r in rows] == [
        ("Nguyễn Thị Thoa", 1948, member["unit_id"])
    ]

    # The same QR on a second phone: a clear page, and nothing enrolled.
    second = phone_factory().new_page()
    second.goto(url)
    assert "Mã QR này đã được dùng hoặc đã hết hạn" in second.text_content("main")
    with server_db.context():
        devices = db.session.scalars(sa.select(Device).where(Device.user_id == member["id"]))
        assert [d.id for d in devices] == [rows[0].device_id]
        used = db.session.scalars(
            sa.select(EnrolmentCode).where(
                EnrolmentCode.user_id == member["id"], EnrolmentCode.used_at.is_not(None)
            )
        ).all()
        assert [c.device_id for c in used] == [rows[0].device_id]

    # The officer's screen now says which code was used, and by which device.
    officer.goto(f"{live.url}/admin/people/{member['id']}")
    codes = officer.text_content(".qr-codes")
    assert codes.count("Đã dùng") == 1 and codes.count("Chưa dùng") == 1
    assert "trên máy" in codes
    context.close()


def _a4(page) -> None:
    """Lay the page out as printed, on the printable area of A4."""
    page.set_viewport_size(A4_PX)
    page.emulate_media(media="print")
    assert page.evaluate("document.documentElement.scrollHeight") <= A4_PX["height"]


def test_enrolment_sheet_prints_on_one_a4_page_and_every_code_scans(
    browser, live, server_db, tmp_path
):
    with server_db.context():
        unit = db.session.scalar(sa.select(Unit).where(Unit.name == "Khu dân cư số 2"))
        unit_id = unit.id
        people = db.session.scalar(
            sa.select(sa.func.count(User.id)).where(
                User.unit_id == unit_id, User.active, User.role.in_(("member", "group_head"))
            )
        )
    for _ in range(12 - people):  # a full sheet: 12 people, the most one page holds
        server_db.new_member("Khu dân cư số 2")
    # Screenshots at 192 dpi: still far coarser than a phone's photo of an A4 sheet.
    context, officer = laptop(browser, live, scale=2)
    officer.goto(f"{live.url}/qr/")
    officer.click(f"form[action='/qr/units/{unit_id}/sheet'] button")
    officer.wait_for_selector(".qr-card", timeout=WAIT_MS)
    cards = officer.locator(".qr-card")
    assert cards.count() == 12
    assert "Hết hạn:" in cards.first.text_content()
    _a4(officer)
    shot = tmp_path / "qr-sheet-a4.png"
    officer.screenshot(path=str(shot), full_page=True)
    keep(shot)
    assert pdf_pages(officer) == 1
    size = officer.locator(".qr-card svg").first.bounding_box()
    assert size["width"] >= 45 * PX_PER_MM - 1  # at least 45 mm on paper
    # Read at print size (about 8 px a module), as a phone's camera sees the sheet.
    # One card at a time, as a member points a phone at their own name. (zbarimg reading all
    # twelve from one picture misses one now and then; a phone never tries that.)
    found = [u for i in range(12) for u in zbar(cards.nth(i).screenshot(), tmp_path)]
    assert len(set(found)) == 12
    assert all(re.fullmatch(re.escape(live.url) + r"/e/[A-Za-z0-9_-]{22}", u) for u in found)
    context.close()


def test_contest_poster_prints_on_one_a4_page_with_a_big_code(browser, live, server_db, tmp_path):
    with server_db.context():
        unit_id = db.session.scalar(sa.select(Unit.id).where(Unit.name == "Khu dân cư số 1"))
        link = db.session.scalar(sa.select(Campaign.contest_url).order_by(Campaign.id))
    context, head = laptop(browser, live, "totruong1", scale=2)
    head.goto(f"{live.url}/qr/poster/{unit_id}")
    assert "Cần hỗ trợ? Liên hệ Tổ trưởng Phạm Văn Hùng – Khu dân cư số 1" in " ".join(
        head.text_content(".poster-help").split()
    )
    _a4(head)
    shot = tmp_path / "qr-poster-a4.png"
    head.screenshot(path=str(shot), full_page=True)
    keep(shot)
    assert pdf_pages(head) == 1
    assert head.locator(".poster-qr svg").bounding_box()["width"] >= 100 * PX_PER_MM - 1
    assert zbar(head.screenshot(full_page=True), tmp_path) == [link]
    # Another unit's poster is not theirs to print.
    other = head.request.get(f"{live.url}/qr/poster/{unit_id + 1}")
    assert other.status == 404
    context.close()
