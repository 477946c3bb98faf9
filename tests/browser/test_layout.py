"""Officer screens at a phone's width (360 px) in a real Chromium: nothing scrolls sideways."""

from __future__ import annotations

import re
import types
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from fieldapp.extensions import db
from fieldapp.models import Unit, User, Ward
from tests.browser.conftest import PHONE
from tests.browser.pwa import WAIT_MS
from tests.browser.test_enrol_qr import keep
from tests.tally_world import add_assist
from tests.world import PASSWORD

# Made-up residents with long names, so a narrow screen is put to the test.
RESIDENTS = [
    ("Nguyễn Thị Phương Thảo Quỳnh", 1948, "0912345601"),
    ("Nguyễn Văn Hoàng Long Khánh", 1955, "0912345602"),
    ("Nguyễn Ngọc Bảo Trâm", None, None),
]


def seed_residents(server_db) -> int:
    """Three assists of the first ward, logged by a member of its own; returns the member."""
    member = server_db.new_member()
    with server_db.context():
        ward = db.session.scalar(sa.select(Ward).where(Ward.code == "TD"))
        unit = db.session.get(Unit, member["unit_id"])
        world = types.SimpleNamespace(
            ward=ward,
            campaign=ward.current_campaign(),
            units={"kdc1": unit},
            users={"member": db.session.get(User, member["id"])},
        )
        now = datetime(2025, 10, 20, 3, 0)
        for n, (name, year, phone) in enumerate(RESIDENTS):
            add_assist(
                world, "kdc1", "member", name=name, birth_year=year, phone=phone,
                steps=["installed", "registered"], received=now + timedelta(minutes=n),
            )  # fmt: skip
        db.session.commit()
    return member["id"]


def officer_phone(browser, live):
    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{live.url}/login")
    page.fill("#username", "canbo")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin.*"), timeout=WAIT_MS)
    return context, page


def test_privacy_results_fit_a_360_px_screen_as_stacked_rows(
    browser, live, server_db, tmp_path: Path
) -> None:
    seed_residents(server_db)
    context, page = officer_phone(browser, live)
    try:
        page.goto(f"{live.url}/privacy/")
        page.fill("#q", "nguyen")  # a POST: the query is in no URL
        page.click("form[role=search] button[type=submit]")
        page.wait_for_load_state()
        rows = page.locator(".table-wrap tbody tr")
        assert rows.count() >= 3
        shot = tmp_path / "privacy-360.png"
        page.screenshot(path=str(shot), full_page=True)
        keep(shot)

        # Nothing wider than the screen: the page does not scroll sideways, nor does the table.
        widths = page.evaluate(
            """() => ({
                page: document.documentElement.scrollWidth,
                wrap: document.querySelector('.table-wrap').scrollWidth,
                wrapBox: document.querySelector('.table-wrap').clientWidth,
            })"""
        )
        assert widths["page"] <= PHONE["width"], widths
        assert widths["wrap"] <= widths["wrapBox"], widths
        for i in range(rows.count()):
            box = rows.nth(i).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box

        # Each row is a card: the cells stack, each under its column's name.
        first = rows.first
        cells = first.locator("td")
        tops = [cells.nth(i).bounding_box()["y"] for i in range(cells.count())]
        assert tops == sorted(tops) and len(set(tops)) == len(tops)  # one under another
        label = page.evaluate(
            "el => getComputedStyle(el, '::before').content",
            first.locator("td[data-label='Số điện thoại']").element_handle(),
        )
        assert label == '"Số điện thoại"'
        # Each value sits beside its label: one grid item per cell, level with the label.
        misplaced = page.evaluate(
            """() => [...document.querySelectorAll('.table-wrap td[data-label]')].filter(td => {
                const items = [...td.childNodes].filter(n =>
                    n.nodeType === 1 || (n.nodeType === 3 && n.textContent.trim()));
                if (items.length > 1) return true;
                if (!items.length || items[0].nodeType !== 1) return false;
                const gap = items[0].getBoundingClientRect().top - td.getBoundingClientRect().top;
                return gap > 12;
            }).map(td => td.dataset.label)"""
        )
        assert misplaced == [], misplaced
        assert page.locator("thead").first.bounding_box()["height"] <= 1  # hidden, still read
        button = first.get_by_role("button", name="Xóa thông tin…")
        box = button.bounding_box()
        assert box["height"] >= 44 and box["x"] + box["width"] <= PHONE["width"]

        # On a laptop it stays a table with its header row.
        page.set_viewport_size({"width": 1280, "height": 800})
        assert page.locator("thead").first.bounding_box()["height"] > 20
        assert rows.first.bounding_box()["height"] < 200
    finally:
        context.close()
