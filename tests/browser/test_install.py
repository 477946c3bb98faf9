"""The install offer where a member meets it, and a legible "Đã hủy" badge.

Chromium does not fire `beforeinstallprompt` for a test server on its own; the tests dispatch
one (with the prompt() and userChoice the app uses), as the browser would.
"""

from __future__ import annotations

from tests.browser.conftest import PHONE
from tests.browser.pwa import WAIT_MS, enrol, go, log_resident, ready, wait_for_states
from tests.browser.test_enrol_qr import keep

OFFER = """() => {
  const event = new Event('beforeinstallprompt', {cancelable: true});
  event.prompt = () => { window.__prompted = (window.__prompted || 0) + 1; };
  event.userChoice = Promise.resolve({outcome: 'accepted'});
  window.dispatchEvent(event);
  return event.defaultPrevented;
}"""


def box(page, selector: str) -> dict:
    return page.locator(selector).bounding_box()


def test_the_offer_is_above_the_form_on_first_open_and_a_dismissal_is_kept(
    phone, live, server_db, tmp_path
):
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    assert page.locator("#install").is_hidden()  # nothing to offer until the browser can
    assert page.evaluate(OFFER) is True  # the app keeps the browser's own bar from showing
    offer = page.locator("#install")
    offer.wait_for(state="visible", timeout=WAIT_MS)
    # On the first screen, above the form: seen without scrolling through the long form.
    place = box(page, "#install")
    assert place["y"] + place["height"] <= PHONE["height"], place
    assert place["y"] + place["height"] <= box(page, "#log-form")["y"]
    assert "Thêm vào màn hình chính" in offer.inner_text()
    shot = tmp_path / "install-offer-360.png"
    page.screenshot(path=str(shot))
    keep(shot)

    page.click("#install-no")
    assert offer.is_hidden()
    assert page.evaluate("localStorage.getItem('fieldapp-install-later')")
    # Remembered: the next opening of the app, with the browser offering again, shows nothing.
    page.reload()
    ready(page)
    page.evaluate(OFFER)
    page.wait_for_timeout(300)
    assert offer.is_hidden()


def test_the_offer_waits_while_a_resident_is_being_typed_in(phone, live, server_db):
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    page.fill("#f-full_name", "Ông Đang Gõ")
    page.evaluate(OFFER)
    page.wait_for_timeout(300)
    assert page.locator("#install").is_hidden()  # the form does not jump under the fingers
    go(page, "#/")
    log_resident(page, "Ông Đang Gõ")
    page.locator("#install").wait_for(state="visible", timeout=WAIT_MS)  # after the save
    page.click("#install-yes")
    assert page.evaluate("window.__prompted") == 1
    assert page.locator("#install").is_hidden()


def test_the_void_badge_is_legible_not_struck_through(phone, live, server_db):
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    log_resident(page, "Bà Hủy Thử")
    found = wait_for_states(page, lambda found: len(found) == 1)
    page.click(f'#mine-list .fa-item[data-id="{found[0]["id"]}"]')
    page.wait_for_selector("#view-log:not([hidden])", timeout=WAIT_MS)
    page.click("#log-void")
    page.click("#confirm-yes")
    wait_for_states(page, lambda found: "Đã hủy" in found[0]["states"])
    lines = page.evaluate(
        """() => {
          const item = document.querySelector('#mine-list .fa-item');
          const line = (el) => getComputedStyle(el).textDecorationLine;
          const badge = item.querySelector('.badge[data-state=voided]');
          const up = [];
          for (let el = badge; el && el !== item; el = el.parentElement) up.push(line(el));
          return {badge: up, word: line(badge.lastElementChild),
                  name: line(item.querySelector('.fa-item-name'))};
        }"""
    )
    assert set(lines["badge"]) == {"none"} and lines["word"] == "none", lines
    assert lines["name"] == "line-through"  # the entry is struck, its state word is not

    # Opened again, the voided entry's fields are read-only and look it: grey, dashed edges.
    page.click("#mine-list .fa-item")
    page.wait_for_selector("#view-log:not([hidden])", timeout=WAIT_MS)
    look = page.eval_on_selector(
        "#f-full_name",
        "el => ({disabled: el.disabled, border: getComputedStyle(el).borderTopStyle,"
        " background: getComputedStyle(el).backgroundColor})",
    )
    assert look == {"disabled": True, "border": "dashed", "background": "rgb(236, 239, 240)"}
