"""A save's shape on the phone (its speed is bench/save_bench.py's, never a timed test here):
one IndexedDB transaction, complete before "chờ gửi" shows; the send only after the screen has
changed; "Của tôi" changed in place, its other lines untouched."""

from __future__ import annotations

from bench.save_bench import PROBE, fill, time_one, waiting
from tests.browser.pwa import WAIT_MS, all_sent, enrol, go, log_resident, wait_for_states


def open_phone(phone, live, server_db):
    phone.add_init_script(PROBE)
    page = phone.new_page()
    enrol(page, live.url, server_db.new_member()["code"])
    page.evaluate("() => document.getElementById('log-save').setAttribute('data-bench-save', '')")
    return page


def test_a_save_is_one_transaction_stored_before_it_says_waiting_then_sent(phone, live, server_db):
    page = open_phone(phone, live, server_db)
    fill(page, 1)
    before = waiting(page)
    result = time_one(page, before, "#log-save")
    assert result["transactions"] == 1  # the put and the counts, together
    assert result["durable"]  # complete before the screen said "chờ gửi"
    assert result["sync_before"] == 0  # the send started only after
    # ... and it did start: the entry arrives without anything else being done.
    wait_for_states(page, all_sent(1))
    syncs = page.evaluate("() => window.__marks.sync.length")
    assert syncs >= 1
    # The form is empty again for the next resident, its choices still there.
    go(page, "#/")
    assert page.input_value("#f-full_name") == ""
    assert page.locator("input[name=category]").count() > 0
    assert page.is_checked("input[name=category][value=elderly]")  # the last one kept


def test_offline_saves_are_stored_before_waiting_shows_too(phone, live, server_db):
    page = open_phone(phone, live, server_db)
    phone.set_offline(True)
    for n in range(3):
        fill(page, n)
        result = time_one(page, waiting(page), "#log-save")
        assert result["transactions"] == 1 and result["durable"] and result["sync_before"] == 0
    assert waiting(page) == 3
    phone.set_offline(False)
    wait_for_states(page, all_sent(3))


def test_a_correction_changes_its_own_line_in_place(phone, live, server_db):
    page = open_phone(phone, live, server_db)
    log_resident(page, "Người Thứ Nhất")
    log_resident(page, "Người Thứ Hai")
    found = wait_for_states(page, all_sent(2))
    phone.set_offline(True)  # no answer from the server redraws anything meanwhile
    first = next(e["id"] for e in found if e["name"] == "Người Thứ Nhất")
    page.evaluate(
        "() => document.querySelectorAll('#mine-list li').forEach((li) => { li.__kept = true; })"
    )
    page.click(f'#mine-list a[data-id="{first}"]')
    page.wait_for_selector("#view-log:not([hidden])", timeout=WAIT_MS)
    page.fill("#f-full_name", "Người Thứ Nhất Đã Sửa")
    page.click("#log-save")
    page.wait_for_selector("#view-mine:not([hidden])", timeout=WAIT_MS)
    lines = page.evaluate(
        """() => [...document.querySelectorAll('#mine-list li')].map((li) => ({
             name: li.querySelector('.fa-item-name').textContent,
             kept: li.__kept === true,
             states: [...li.querySelectorAll('.badge')].map((b) => b.textContent.trim()),
           }))"""
    )
    assert {line["name"]: (line["kept"], line["states"]) for line in lines} == {
        "Người Thứ Nhất Đã Sửa": (False, ["Chờ gửi"]),  # its line redrawn
        "Người Thứ Hai": (True, ["Đã gửi"]),  # the other one untouched
    }
    assert "1 chờ gửi" in page.text_content("#mine-summary")
    phone.set_offline(False)
    wait_for_states(page, all_sent(2))
