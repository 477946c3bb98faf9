"""The phone's notices say the truth: "Đã gửi" once the server has the entry, "Chờ gửi" while
it waits (and "khi có mạng" only offline); the next action clears an old notice."""

from __future__ import annotations

from tests.browser.pwa import WAIT_MS, enrol, go, wait_for_states

WATCH = """() => {
  window.__said = [];
  const box = document.getElementById('notice');
  new MutationObserver(() => {
    const text = box.textContent;
    if (!box.hidden && window.__said.at(-1) !== text) window.__said.push(text);
  }).observe(box, {attributes: true, childList: true, characterData: true, subtree: true});
}"""


def fill(page, name: str) -> None:
    page.fill("#f-full_name", name)
    page.check("input[name=category][value=elderly]")
    page.check("input[name=steps][value=installed]")
    page.check("#f-consent")


def notice_says(page, text: str) -> None:
    page.wait_for_function(
        "(t) => { const b = document.getElementById('notice');"
        " return !b.hidden && b.textContent === t; }",
        arg=text,
        timeout=WAIT_MS,
    )


def said(page) -> list[str]:
    return page.evaluate("window.__said")


def test_online_a_saved_entry_is_told_sent_never_sent_later(phone, live, server_db):
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    page.evaluate(WATCH)
    fill(page, "Phan Thị Nhàn")
    page.click("#log-save")
    notice_says(page, "Đã gửi.")
    assert page.locator("#notice").get_attribute("class") == "fa-notice fa-notice-ok"
    # Online, nothing ever said that it would be sent "when there is a network".
    assert all("khi có mạng" not in text for text in said(page)), said(page)
    assert set(said(page)) <= {"Đã lưu · Chờ gửi.", "Đã gửi."}, said(page)
    assert [a.full_name for a in server_db.assists(member["id"])] == ["Phan Thị Nhàn"]

    # The next action makes the notice old: a fresh validation error stands alone.
    page.fill("#f-full_name", "A")
    page.click("#log-save")
    page.wait_for_selector("[data-error-for=full_name]:not([hidden])", timeout=WAIT_MS)
    assert page.locator("#notice").is_hidden()

    # A correction saved on the form is told about on "Của tôi", where the member lands.
    found = wait_for_states(page, lambda found: len(found) == 1 and "Đã gửi" in found[0]["states"])
    page.click(f'#mine-list .fa-item[data-id="{found[0]["id"]}"]')
    page.wait_for_selector("#view-log:not([hidden])", timeout=WAIT_MS)
    page.fill("#f-note", "Đã nhắc thi lại vào tuần sau")
    page.click("#log-save")
    page.wait_for_selector("#view-mine:not([hidden])", timeout=WAIT_MS)
    notice_says(page, "Đã gửi.")
    rows = server_db.assists(member["id"], current_only=True)
    assert [r.note for r in rows] == ["Đã nhắc thi lại vào tuần sau"]


def test_offline_an_entry_waits_and_the_notice_follows_it_when_the_network_returns(
    phone, live, server_db
):
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    page.evaluate(WATCH)
    phone.set_offline(True)
    fill(page, "Kiều Văn Thắng")
    page.click("#log-save")
    notice_says(page, "Đã lưu · Chờ gửi. Máy sẽ tự gửi khi có mạng.")
    assert "fa-notice-warn" in page.locator("#notice").get_attribute("class")
    phone.set_offline(False)
    notice_says(page, "Đã gửi.")  # the same notice, now true the other way
    # (on the way, online and not yet answered, it said "Chờ gửi" without "khi có mạng")
    assert said(page)[0] == "Đã lưu · Chờ gửi. Máy sẽ tự gửi khi có mạng."
    assert set(said(page)[1:-1]) <= {"Đã lưu · Chờ gửi."} and said(page)[-1] == "Đã gửi."

    # Leaving the form clears the notice; the void of an entry says what became of it.
    go(page, "#/mine")
    assert page.locator("#notice").is_hidden()
    phone.set_offline(True)
    page.click("#mine-list .fa-item")
    page.wait_for_selector("#view-log:not([hidden])", timeout=WAIT_MS)
    page.click("#log-void")
    page.click("#confirm-yes")
    page.wait_for_selector("#view-mine:not([hidden])", timeout=WAIT_MS)
    notice_says(page, "Đã hủy lượt này · Chờ gửi. Máy sẽ tự gửi khi có mạng.")
    phone.set_offline(False)
    notice_says(page, "Đã hủy lượt này · Đã gửi.")
