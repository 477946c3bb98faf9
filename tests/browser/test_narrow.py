"""Every role's screens on a 360 × 740 phone (touch, 2× pixels) in Chromium, over today's demo.

On every page: nothing scrolls sideways, no control is cut off at the screen's edge, a table
either fits (as cards) or says above itself that it scrolls, and every menu item can be
reached and tapped (visible and inside the screen once the menu is open, at least 44 px).
The menu is walked by tapping it, page after page. Screenshots go to a tmp dir (and to
$FIELDAPP_SHOTS when set) for a person to look at.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from fieldapp.demo import CITY_ADMIN, OFFICER, PASSWORD
from fieldapp.text import local_today
from tests.browser.conftest import PHONE
from tests.browser.pwa import WAIT_MS, go, ready
from tests.browser.test_enrol_qr import keep
from tests.world import PASSWORD as WORLD_PASSWORD

TARGET = 44  # px: the least a finger can hit (WCAG 2.5.5); the app aims at 48


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("narrow-shots")


@pytest.fixture
def handset(browser):
    """A phone as the issue tried it: 360 × 740 CSS px, touch, 2× device pixels."""
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="vi-VN"
    )
    context.page_errors = []
    context.on("page", lambda page: page.on("pageerror", lambda e: context.page_errors.append(e)))
    yield context
    context.close()
    assert context.page_errors == [], context.page_errors


def sign_in(context, base: str, username: str, password: str = PASSWORD):
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation(timeout=WAIT_MS):
        page.locator("button[type=submit]").tap()
    page.wait_for_load_state()
    return page


def settle(page) -> None:
    """Loaded, and the page's script has marked its wide tables (two frames later)."""
    page.wait_for_load_state("load")
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def check_fits(page, shots: Path, name: str) -> None:
    """The page's promise at 360 px, and a screenshot of it."""
    settle(page)
    path = shots / f"narrow-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    keep(path)
    width = page.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
    assert width[0] <= width[1], f"{name}: the page scrolls sideways ({width})"
    problems = page.evaluate(PROBLEMS)
    assert problems == [], f"{name}: {problems}"


# What breaks the promise on the page in view, as a list of short descriptions.
PROBLEMS = """() => {
  // not display:none, not in a closed <details>, not visibility:hidden
  const shown = (el) => el.checkVisibility({visibilityProperty: true});
  const what = (el) => (el.textContent || el.name || el.id).trim().slice(0, 40);
  const out = [];
  // A table wider than its box must say so above itself.
  for (const wrap of document.querySelectorAll('.table-wrap')) {
    if (!shown(wrap) || wrap.scrollWidth <= wrap.clientWidth + 1) continue;
    const hint = wrap.previousElementSibling;
    if (!hint || !hint.classList.contains('scroll-hint') || !shown(hint)) {
      out.push('table without a hint: ' + what(wrap.querySelector('caption, th') || wrap));
    }
  }
  // No control cut off at the screen's edge (but inside a table that says it scrolls).
  const controls = 'a[href], button, input:not([type=hidden]), select, textarea';
  for (const el of document.querySelectorAll(controls)) {
    if (!shown(el) || el.closest('.table-wrap.scrolls, .sr-only')) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (box.left < -0.5 || box.right > innerWidth + 0.5) {
      out.push(`cut off: ${what(el)} ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
  }
  return out;
}"""


def assert_tappable(locator, what: str) -> None:
    """Visible, wholly inside the screen, and big enough for a finger."""
    assert locator.is_visible(), f"{what} is not visible"
    box = locator.evaluate(
        "el => { const r = el.getBoundingClientRect();"
        " return {x: r.left, y: r.top, w: r.width, h: r.height}; }"
    )
    assert box["x"] >= -0.5 and box["x"] + box["w"] <= PHONE["width"] + 0.5, (what, box)
    assert box["y"] >= -0.5 and box["y"] + box["h"] <= PHONE["height"] + 0.5, (what, box)
    assert box["h"] >= TARGET and box["w"] >= TARGET, (what, box)


def open_menu(page) -> list[str]:
    """Open the menu if it is folded; assert every item can be tapped; return the links' paths."""
    page.evaluate("() => scrollTo(0, 0)")
    button = page.locator(".menu-button")
    if button.count() and button.is_visible():
        assert_tappable(button, "the menu button")
        button.tap()
        page.locator("#menu").wait_for(state="visible", timeout=WAIT_MS)
    links = page.locator("#menu a")
    for n in range(links.count()):
        assert_tappable(links.nth(n), f"menu item {links.nth(n).inner_text()!r}")
    assert_tappable(page.locator("#menu").get_by_role("button", name="Đăng xuất"), "Đăng xuất")
    return [links.nth(n).get_attribute("href") for n in range(links.count())]


def close_menu(page) -> None:
    close = page.locator("#menu .menu-close")
    if close.count() and close.is_visible():
        assert_tappable(close, "Đóng")
        close.tap()
        page.locator("#menu").wait_for(state="hidden", timeout=WAIT_MS)


def walk_menu(page, shots: Path, role: str) -> list[str]:
    """Tap every menu item in turn (opening the menu each time); check each page it opens."""
    name = page.url.split("/", 3)[3].strip("/").replace("/", "-") or "home"
    check_fits(page, shots, f"{role}-{name}")
    paths = open_menu(page)
    path = shots / f"narrow-{role}-menu.png"
    page.screenshot(path=str(path))
    keep(path)
    close_menu(page)
    for href in paths:
        open_menu(page)
        page.locator(f'#menu a[href="{href}"]').tap()
        page.wait_for_url(re.compile(re.escape(href) + r"$"), timeout=WAIT_MS)
        assert page.locator(f'#menu a[href="{href}"]').get_attribute("aria-current") == "page"
        check_fits(page, shots, f"{role}{href.rstrip('/').replace('/', '-')}")
    return paths


def sign_out(page) -> None:
    open_menu(page)
    page.locator("#menu").get_by_role("button", name="Đăng xuất").tap()
    page.wait_for_url(re.compile(r".*/login.*"), timeout=WAIT_MS)


def tap_through(page, locator, shots: Path, name: str) -> None:
    """A table's action on a card: tappable without any sideways scroll; the page it opens fits."""
    assert_tappable_in_width(locator.first, name)
    with page.expect_navigation(timeout=WAIT_MS):
        locator.first.tap()
    check_fits(page, shots, name)
    page.go_back()
    settle(page)


def assert_tappable_in_width(locator, what: str) -> None:
    """Like assert_tappable, for a control further down the page: scrolled to first."""
    locator.scroll_into_view_if_needed()
    assert_tappable(locator, what)


def test_the_officer_reaches_every_page_and_every_column_at_360_px(demo, handset, shots):
    page = sign_in(handset, demo.url, *OFFICER)
    assert page.locator(".menu-button").is_visible()
    assert page.locator("#menu").is_hidden()  # folded: the page starts right under the bar
    paths = walk_menu(page, shots, "officer")
    assert len(paths) == 8, paths  # Tổng quan … Dữ liệu cá nhân, Mã QR

    # The wide tables are cards: the unit's Sửa, the device's Thu hồi, the QR button on a
    # person, Tiến độ and Chỉ tiêu on the dashboard, each on the screen without a sideways scroll.
    page.goto(f"{demo.url}/admin/units")
    settle(page)
    assert page.locator(".table-wrap.stack").count() == 1
    tap_through(page, page.get_by_role("link", name="Sửa", exact=True), shots, "officer-unit-form")
    page.goto(f"{demo.url}/admin/devices")
    settle(page)
    tap_through(page, page.get_by_role("link", name="Thu hồi"), shots, "officer-device-revoke")
    page.goto(f"{demo.url}/admin/people")
    settle(page)
    assert_tappable_in_width(page.get_by_role("button", name="Cấp mã QR").first, "Cấp mã QR")
    tap_through(page, page.locator(".table-wrap td:first-child a"), shots, "officer-person")
    page.goto(f"{demo.url}/reports/")
    settle(page)
    first = page.locator("#don-vi tbody tr").first
    for label in ("Tiến độ", "Chỉ tiêu", "Hoàn thành bài thi"):
        cell = first.locator(f'td[data-label="{label}"]')
        assert_in_width(cell, label)
    # Sorting is still there on a phone: the sortable columns as a row of buttons.
    sort = page.locator("#don-vi thead a.sort", has_text="Tiến độ")
    assert_tappable_in_width(sort, "sort by Tiến độ")
    sort.tap()
    page.wait_for_url(re.compile(r".*sort=progress.*"), timeout=WAIT_MS)
    check_fits(page, shots, "officer-reports-sorted")
    # A group's page and the printable report, reached from the dashboard.
    tap_through(page, page.locator("#don-vi tbody td:first-child a"), shots, "officer-unit-page")
    page.goto(f"{demo.url}/reports/print")
    check_fits(page, shots, "officer-print")
    for extra in ("/admin/units/import", "/admin/units/new", "/admin/people/new"):
        page.goto(demo.url + extra)
        check_fits(page, shots, "officer" + extra.replace("/", "-"))
    # On a laptop the same menu is a plain row: no button, every item shown, none folded.
    page.set_viewport_size({"width": 1280, "height": 800})
    assert page.locator(".menu-button").is_hidden()
    links = page.locator("#menu a")
    assert links.count() == 8 and all(links.nth(n).is_visible() for n in range(8))
    assert len({round(links.nth(n).bounding_box()["y"]) for n in range(8)}) == 1
    page.set_viewport_size(PHONE)
    # A by-day table opened on the dashboard: it fits or it says that it scrolls.
    page.goto(f"{demo.url}/reports/")
    settle(page)
    page.locator("details.review summary", has_text="Xem bảng số liệu").tap()
    check_fits(page, shots, "officer-reports-days")
    sign_out(page)


def assert_in_width(locator, what: str) -> None:
    locator.scroll_into_view_if_needed()
    assert locator.is_visible(), what
    box = locator.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (what, box)


def test_the_city_administrator_reaches_every_page_at_360_px(demo, handset, shots):
    page = sign_in(handset, demo.url, CITY_ADMIN)
    assert page.locator(".menu-button").is_visible()
    paths = walk_menu(page, shots, "city")
    assert len(paths) == 3, paths
    page.goto(f"{demo.url}/city/reports/")
    settle(page)
    first = page.locator("#phuong-xa tbody tr").first
    for label in ("Tiến độ", "Chỉ tiêu", "Người được hỗ trợ"):
        assert_in_width(first.locator(f'td[data-label="{label}"]'), label)
    page.goto(f"{demo.url}/city/")
    settle(page)
    tap_through(page, page.locator(".ward-table td a"), shots, "city-ward-form")
    tap_through(page, page.locator(".plain-list a"), shots, "city-campaign-form")
    for extra in ("/city/wards/new", "/city/campaigns/new"):
        page.goto(demo.url + extra)
        check_fits(page, shots, "city" + extra.replace("/", "-"))
    sign_out(page)


@pytest.mark.parametrize(
    ("role", "username", "landing"),
    [
        ("group-head", "totruong1", "/unit"),
        ("agency", "coquan1", "/unit-report"),
        ("school", "truong1", "/unit-report"),
    ],
)
def test_a_short_menu_wraps_and_every_page_fits(demo, handset, shots, role, username, landing):
    page = sign_in(handset, demo.url, username)
    assert page.url.endswith(landing)
    assert page.locator(".menu-button").count() == 0  # two items: shown, never folded
    paths = walk_menu(page, shots, role)
    assert paths == ["/qr/"]
    sign_out(page)


def test_the_members_phone_fits_and_its_tabs_can_be_tapped(demo, handset, shots):
    page = sign_in(handset, demo.url, "tv1a")
    page.wait_for_url("**/app#/", timeout=WAIT_MS)
    ready(page)
    check_fits(page, shots, "member-log")
    for tab in ("mine", "difficulty", "log"):
        link = page.locator(f'#tabs a[data-tab="{tab}"]')
        assert_tappable(link, tab)
        link.tap()
        page.wait_for_selector(f"#view-{tab}:not([hidden])", timeout=WAIT_MS)
        check_fits(page, shots, f"member-{tab}")
    go(page, "#/mine")
    first = page.locator("#mine-list .fa-item").first
    assert_tappable_in_width(first, "an entry of Của tôi")


def test_a_reporter_past_the_deadline_sees_figures_as_text(live, server_db, handset, shots):
    """Read-only looks read-only: no boxes to type in, no "Để trống thì tự tính…" hints."""
    today = local_today()
    server_db.set_campaign_days(today - timedelta(days=40), today - timedelta(days=10))
    try:
        page = sign_in(handset, live.url, "truongthcs", WORLD_PASSWORD)
        assert page.url.endswith("/unit-report")
        assert page.locator(".readonly-note").is_visible()
        report = page.locator("section.card").first
        assert report.locator("input:not([type=hidden]), textarea, select").count() == 0
        assert "Để trống thì" not in page.content()
        assert report.locator("dl.report-facts dt", has_text="Số lượt thi").is_visible()
        check_fits(page, shots, "school-read-only")
    finally:
        server_db.set_campaign_days(today - timedelta(days=30), today + timedelta(days=30))
