"""The campaign form's steps and categories at a phone's width (360 px) in a real Chromium."""

from __future__ import annotations

import re
from pathlib import Path

from tests.browser.conftest import PHONE
from tests.browser.pwa import WAIT_MS
from tests.browser.test_enrol_qr import keep
from tests.browser.test_layout import officer_phone
from tests.world import PASSWORD


def overflow(page) -> list[str]:
    """The rows' inputs and boxes that stick out of their list's frame (or of the screen)."""
    return page.evaluate(
        """(width) => [...document.querySelectorAll('.item-row input, .item-row label')]
            .filter(el => {
                const r = el.getBoundingClientRect();
                const box = el.closest('fieldset').getBoundingClientRect();
                return r.left < Math.max(0, box.left) || r.right > Math.min(width, box.right)
                    || el.scrollWidth > el.clientWidth + 1 && el.tagName === 'LABEL';
            })
            .map(el => el.name || el.textContent.trim())""",
        PHONE["width"],
    )


def test_steps_and_categories_rows_fit_a_360_px_screen(browser, live, tmp_path: Path) -> None:
    context, page = officer_phone(browser, live)
    try:
        page.goto(f"{live.url}/admin/campaign")
        rows = page.locator("#steps .item-row")
        assert rows.count() == 5  # three steps and two empty rows to add
        assert page.locator("#categories .item-row").count() == 9
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert overflow(page) == []
        # Each label is a wide box; its "Bỏ" box sits beside it, a large tap target.
        label = page.locator("[name='steps-k-installed-label']").bounding_box()
        remove = page.locator("label.item-remove").first.bounding_box()
        assert label["width"] >= 190 and label["height"] >= 44
        assert remove["height"] >= 44 and abs(remove["y"] - label["y"]) < 12
        assert page.locator("[name='steps-k-tested-remove']").count() == 0
        shot = tmp_path / "campaign-steps-360.png"
        page.locator("#steps").screenshot(path=str(shot))
        keep(shot)

        # A label used twice: refused on screen, beside the list, and nothing is saved.
        page.fill("[name='steps-new-0-label']", "cài đặt")
        page.check("[name='categories-k-other-remove']")
        page.click("main button.primary")
        error = page.locator("#steps .error")
        assert error.inner_text() == (
            "Tên “cài đặt” trùng với “Cài đặt”. Mỗi bước cần một tên khác nhau."
        )
        assert page.locator("[name='steps-new-0-label']").input_value() == "cài đặt"
        assert page.locator("[name='categories-k-other-remove']").is_checked()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert overflow(page) == []
        shot = tmp_path / "campaign-steps-error-360.png"
        page.screenshot(path=str(shot), full_page=True)
        keep(shot)
        page.goto(f"{live.url}/admin/campaign")
        assert page.locator("[name='categories-k-other-label']").count() == 1  # still there
    finally:
        context.close()


def test_the_city_campaign_form_has_the_same_rows_at_360_px(phone, live) -> None:
    page = phone.new_page()
    page.goto(f"{live.url}/login")
    page.fill("#username", "so_khcn")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/city/$"), timeout=WAIT_MS)
    page.goto(f"{live.url}/city/campaigns/new")
    assert page.locator("#steps .item-row").count() == 5
    assert page.locator("#categories .item-row").count() == 9
    assert page.locator("[name='categories-k-student-remove']").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert overflow(page) == []
