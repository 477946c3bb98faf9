"""The member's PWA in a real Chromium against a real server: offline, retries, updates."""

from __future__ import annotations

import json
import re
import time
import urllib.request

from fieldapp.text import fold
from tests.browser.live import LiveServer, copy_app
from tests.browser.pwa import (
    WAIT_MS,
    all_sent,
    enrol,
    entries,
    go,
    log_resident,
    ready,
    wait_for_states,
)

REVOKED = "Thiết bị này đã bị thu hồi quyền gửi."


def wait_text(page, selector: str, text: str) -> None:
    """Wait until an element says exactly `text` (the status bar updates a moment later)."""
    page.wait_for_function(
        "([s, t]) => document.querySelector(s)?.textContent === t", arg=[selector, text]
    )


def sync_bodies(context) -> list[list[tuple[str, int]]]:
    """Record the (id, rev) pairs of every sync request the phone (page or worker) makes."""
    sent: list[list[tuple[str, int]]] = []

    def watch(route):
        body = json.loads(route.request.post_data or "{}")
        sent.append([(r["id"], r["rev"]) for r in body.get("records", [])])
        route.continue_()

    context.route("**/api/v1/sync", watch)
    return sent


def test_enrolment_opens_the_log_form_of_the_members_unit(phone, live, server_db):
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    assert page.is_visible("#view-log")
    assert page.text_content("#log-title") == "Ghi nhận lượt hỗ trợ"
    assert page.input_value("#f-unit_id") == str(member["unit_id"])
    assert page.text_content("label[for=f-unit_id]") == "Khu dân cư"
    assert "Người dân đã đồng ý" in page.text_content("label.fa-check")
    assert "Tôi đồng ý để Tổ Công nghệ số cộng đồng" in page.text_content("#consent-text")
    # The code is spent: opening it again says so, in words, without any script.
    again = page.request.get(f"{live.url}/e/{member['code']}")
    assert again.status == 410
    assert "đã được dùng hoặc đã hết hạn" in again.text()
    # The phone's accent folding is the server's.
    samples = ["Nguyễn Thị Hòa", "ĐỖ  Văn Đức", "Nguye\u0302\u0303n", "Lê Thị Mai"]
    folded = page.evaluate(
        """async (samples) => {
             const link = document.querySelector('link[href*="/js/fold.js"]');
             const { fold } = await import(link.href);
             return samples.map(fold);
           }""",
        samples,
    )
    assert folded == [fold(s) for s in samples]


def test_offline_entries_survive_a_reload_and_go_when_the_network_returns(phone, live, server_db):
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    phone.set_offline(True)
    for name in ("Nguyễn Thị Hòa", "Trần Văn Bảy", "Phạm Thị Cúc"):
        log_resident(page, name, phone="0912 345 678", birth_year="1950")
    page.reload()
    ready(page)
    assert page.text_content("#net") == "○ Không có mạng — vẫn lưu bình thường"
    wait_text(page, "#wait", "3 lượt chờ gửi")
    found = entries(page)
    assert sorted(e["name"] for e in found) == ["Nguyễn Thị Hòa", "Phạm Thị Cúc", "Trần Văn Bảy"]
    assert all(e["states"] == ["Chờ gửi"] for e in found)
    # Search without accents finds an accented name.
    count = "(n) => document.querySelectorAll('#mine-list .fa-item').length === n"
    page.fill("#search", "hoa")
    page.wait_for_function(count, arg=1)
    assert [e["name"] for e in entries(page)] == ["Nguyễn Thị Hòa"]
    page.fill("#search", "0912")  # or by phone
    page.wait_for_function(count, arg=3)
    page.fill("#search", "")
    assert server_db.assists(member["id"]) == []
    # Signing out now would lose them: the phone says so, and staying keeps everything.
    page.click("#signout")
    page.wait_for_selector("#confirm[open]")
    assert page.text_content("#confirm-text") == (
        "Còn 3 lượt chưa gửi. Nếu đăng xuất bây giờ, các lượt này sẽ mất. "
        'Hãy kết nối mạng và bấm "Gửi ngay" trước.'
    )
    page.click("#confirm-no")
    assert len(entries(page)) == 3

    phone.set_offline(False)  # no tap, no reload
    wait_for_states(page, all_sent(3))
    wait_text(page, "#wait", "Đã gửi hết")
    rows = server_db.assists(member["id"])
    assert len(rows) == 3
    assert {(r.full_name, r.rev, r.phone, r.birth_year) for r in rows} == {
        ("Nguyễn Thị Hòa", 1, "0912345678", 1950),
        ("Trần Văn Bảy", 1, "0912345678", 1950),
        ("Phạm Thị Cúc", 1, "0912345678", 1950),
    }


def test_failed_sends_are_retried_and_arrive_exactly_once(phone, live, server_db):
    member = server_db.new_member()
    calls = []

    def flaky(route):
        calls.append(route.request.post_data)
        if len(calls) == 1:
            route.abort("connectionreset")
        elif len(calls) == 2:
            route.fulfill(status=503, content_type="text/html", body="<h1>Bảo trì</h1>")
        else:
            route.continue_()

    # Routed before the phone opens: a route added while its service worker runs may not
    # reach the worker's requests in time (seen under load: the send went around it).
    phone.route("**/api/v1/sync", flaky)
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    log_resident(page, "Vũ Văn Hải", steps=("installed",))
    log_resident(page, "Đặng Thị Én", steps=("tested",))
    wait_for_states(page, all_sent(2))
    assert len(calls) >= 3
    rows = server_db.assists(member["id"])
    assert sorted((r.full_name, r.rev, r.attempts) for r in rows) == [
        ("Vũ Văn Hải", 1, 0),
        ("Đặng Thị Én", 1, 1),
    ]


def test_a_200_that_is_not_json_confirms_nothing(phone, live, server_db):
    member = server_db.new_member()
    calls = []

    def portal(route):
        calls.append(1)
        if len(calls) <= 2:  # a captive portal's page
            route.fulfill(status=200, content_type="text/html", body="<p>Đăng nhập Wi-Fi</p>")
        else:
            route.continue_()

    phone.route("**/api/v1/sync", portal)  # before the phone opens (see above)
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    log_resident(page, "Lý Thị Gấm")
    wait_for_states(page, all_sent(1))
    assert len(calls) >= 3
    assert [r.full_name for r in server_db.assists(member["id"])] == ["Lý Thị Gấm"]


def test_an_entry_the_server_refuses_needs_fixing_then_arrives_as_rev_2(phone, live, server_db):
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    other_unit = page.evaluate(
        """() => [...document.querySelectorAll('#f-unit_id option')]
                   .map((o) => Number(o.value))"""
    )
    other_unit = next(u for u in other_unit if u != member["unit_id"])
    server_db.set_unit_active(other_unit, False)  # the officer closed it; the phone doesn't know
    try:
        log_resident(page, "Hoàng Văn Ích", unit_id=other_unit)
        found = wait_for_states(page, lambda f: len(f) == 1 and f[0]["states"] == ["Cần sửa"])
        wait_text(page, "#wait", "Đã gửi hết · 1 lượt cần sửa")
        page.click(f"a[data-id='{found[0]['id']}']")
        page.wait_for_selector("#view-log:not([hidden])")
        error = page.text_content("[data-error-for=unit_id]")
        assert "ngừng hoạt động" in error  # the server's own words, next to the field
        page.wait_for_timeout(500)
        assert server_db.assists(member["id"]) == []  # never resent unchanged
        page.select_option("#f-unit_id", str(member["unit_id"]))
        page.click("#log-save")
        wait_for_states(page, all_sent(1))
    finally:
        server_db.set_unit_active(other_unit, True)
    rows = server_db.assists(member["id"])
    assert [(r.record_id, r.rev, r.unit_id) for r in rows] == [
        (found[0]["id"], 2, member["unit_id"])
    ]


def test_offline_corrections_and_voids_arrive_as_new_revisions(phone, live, server_db):
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    log_resident(page, "Ngô Thị Kim")
    log_resident(page, "Bùi Văn Lộc")
    first = wait_for_states(page, all_sent(2))
    ids = {e["name"]: e["id"] for e in first}

    phone.set_offline(True)
    page.click(f"a[data-id='{ids['Ngô Thị Kim']}']")
    page.wait_for_selector("#view-log:not([hidden])")
    assert page.input_value("#f-full_name") == "Ngô Thị Kim"
    page.fill("#f-full_name", "Ngô Thị Kim Liên")
    page.click("#log-save")
    page.wait_for_selector("#view-mine:not([hidden])")
    page.click(f"a[data-id='{ids['Bùi Văn Lộc']}']")
    page.wait_for_selector("#view-log:not([hidden])")
    page.click("#log-void")
    page.wait_for_selector("#confirm[open]")
    assert "Số liệu sẽ không tính lượt này nữa" in page.text_content("#confirm-text")
    page.click("#confirm-yes")
    page.wait_for_selector("#view-mine:not([hidden])")
    # A resident logged offline and corrected before it was ever sent.
    log_resident(page, "Mai Văn Nhỏ")
    new = next(e for e in entries(page) if e["name"] == "Mai Văn Nhỏ")
    page.click(f"a[data-id='{new['id']}']")
    page.wait_for_selector("#view-log:not([hidden])")
    page.fill("#f-full_name", "Mai Văn Nhỏ Út")
    page.click("#log-save")
    page.wait_for_selector("#view-mine:not([hidden])")
    states = {e["name"]: e["states"] for e in entries(page)}
    assert states == {
        "Ngô Thị Kim Liên": ["Chờ gửi"],
        "Bùi Văn Lộc": ["Đã hủy", "Chờ gửi"],
        "Mai Văn Nhỏ Út": ["Chờ gửi"],
    }

    phone.set_offline(False)
    wait_for_states(page, lambda f: all("Chờ gửi" not in e["states"] for e in f) and len(f) == 3)
    current = server_db.assists(member["id"], current_only=True)
    by_id = {r.record_id: r for r in current}
    assert len(current) == len(by_id) == 3  # one current revision per resident
    assert (by_id[ids["Ngô Thị Kim"]].rev, by_id[ids["Ngô Thị Kim"]].full_name) == (
        2,
        "Ngô Thị Kim Liên",
    )
    assert (by_id[ids["Bùi Văn Lộc"]].rev, by_id[ids["Bùi Văn Lộc"]].voided) == (2, True)
    assert (by_id[new["id"]].rev, by_id[new["id"]].full_name) == (2, "Mai Văn Nhỏ Út")
    counted = [r.full_name for r in current if not r.voided]
    assert sorted(counted) == ["Mai Văn Nhỏ Út", "Ngô Thị Kim Liên"]


def test_a_revoked_phone_keeps_its_entries_and_says_so(phone, live, server_db):
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    log_resident(page, "Trịnh Văn Oanh")
    wait_for_states(page, all_sent(1))
    server_db.revoke_devices(member["id"])
    log_resident(page, "Đinh Thị Phấn")
    page.wait_for_selector("#revoked:not([hidden])", timeout=WAIT_MS)
    assert page.text_content("#revoked").startswith(REVOKED)
    assert "Các lượt đã ghi vẫn được giữ trên máy" in page.text_content("#revoked")
    page.reload()
    ready(page)
    assert page.is_visible("#revoked")
    assert page.is_hidden("#send-now")
    states = {e["name"]: e["states"] for e in entries(page)}
    assert states == {"Trịnh Văn Oanh": ["Đã gửi"], "Đinh Thị Phấn": ["Chờ gửi"]}
    assert [r.full_name for r in server_db.assists(member["id"])] == ["Trịnh Văn Oanh"]


def test_two_tabs_send_every_revision_once(phone, live, server_db):
    member = server_db.new_member()
    first = phone.new_page()
    enrol(first, live.url, member["code"])
    second = phone.new_page()
    second.goto(f"{live.url}/app")
    ready(second)
    sent = sync_bodies(phone)
    phone.set_offline(True)
    for n in range(3):
        log_resident(first, f"Khách Thứ {n + 1}")
    for n in range(3, 5):
        log_resident(second, f"Khách Thứ {n + 1}")
    phone.set_offline(False)  # both tabs (and the worker) wake up at once
    wait_for_states(first, all_sent(5))
    wait_for_states(second, all_sent(5))
    pairs = [pair for body in sent for pair in body]
    assert len(pairs) == len(set(pairs)) == 5, sent
    rows = server_db.assists(member["id"])
    assert len({(r.record_id, r.rev) for r in rows}) == len(rows) == 5


def test_a_new_phone_gets_the_members_history_back(phone_factory, live, server_db):
    member = server_db.new_member()
    old = phone_factory().new_page()
    enrol(old, live.url, member["code"])
    log_resident(old, "Quách Thị Quế")
    log_resident(old, "Lâm Văn Rạng")
    wait_for_states(old, all_sent(2))
    new = phone_factory().new_page()
    enrol(new, live.url, server_db.issue_code(member["id"]))
    found = wait_for_states(new, all_sent(2))
    assert sorted(e["name"] for e in found) == ["Lâm Văn Rạng", "Quách Thị Quế"]


def test_a_difficulty_reported_offline_arrives(phone, live, server_db):
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    phone.set_offline(True)
    go(page, "#/difficulty")
    page.check("input[name=kind][value=otp_not_received]")
    page.fill("#d-text", "Không nhận được mã OTP sau 3 lần thử")
    page.click("#difficulty-save")
    page.wait_for_selector("#notice:not([hidden])")
    wait_text(page, "#wait", "1 lượt chờ gửi")
    phone.set_offline(False)
    wait_for_states(page, all_sent(1))
    rows = server_db.difficulties(member["id"])
    assert [(r.kind, r.text, r.unit_id) for r in rows] == [
        ("otp_not_received", "Không nhận được mã OTP sau 3 lần thử", member["unit_id"])
    ]


def test_a_double_tap_on_save_makes_one_entry(phone, live, server_db):
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    phone.set_offline(True)
    page.fill("#f-full_name", "Châu Thị Xuân")
    page.check("input[name=category][value=worker]")
    page.check("input[name=steps][value=installed]")
    page.check("#f-consent")
    page.dblclick("#log-save")
    page.wait_for_selector("#notice:not([hidden])")
    wait_text(page, "#wait", "1 lượt chờ gửi")
    # The next resident starts from a clean form that keeps the unit and the category.
    assert page.input_value("#f-full_name") == ""
    assert page.is_checked("input[name=category][value=worker]")
    assert not page.is_checked("#f-consent")
    assert page.input_value("#f-unit_id") == str(member["unit_id"])


def test_the_phone_refuses_bad_input_in_words_next_to_the_field(phone, live, server_db):
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    page.fill("#f-full_name", "A")
    page.fill("#f-phone", "12345")
    page.fill("#f-birth_year", "1800")
    page.click("#log-save")
    assert "ít nhất 2 chữ" in page.text_content("[data-error-for=full_name]")
    assert "10 chữ số" in page.text_content("[data-error-for=phone]")
    assert "1900" in page.text_content("[data-error-for=birth_year]")
    assert page.text_content("[data-error-for=category]") == "Vui lòng chọn đối tượng."
    assert "ít nhất một việc" in page.text_content("[data-error-for=steps]")
    assert "đồng ý" in page.text_content("[data-error-for=consent]")
    assert page.input_value("#f-phone") == "12345"  # what was typed is kept
    assert page.is_hidden("#attempts-field")
    page.check("input[name=steps][value=tested]")
    assert page.input_value("#f-attempts") == "1"
    wait_text(page, "#wait", "Đã gửi hết")


def test_the_server_down_and_back_gets_waiting_entries_within_a_minute(
    phone, own_server, server_db
):
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, own_server.url, member["code"])
    own_server.stop()
    log_resident(page, "Tạ Thị Sen")
    log_resident(page, "Kiều Văn Tài")
    page.wait_for_timeout(15000)  # several failed tries: the back-off has grown
    assert server_db.assists(member["id"]) == []
    own_server.start()
    back = time.monotonic()
    wait_for_states(page, all_sent(2), timeout_ms=60000)
    assert time.monotonic() - back < 60
    assert len(server_db.assists(member["id"])) == 2


def test_a_saturated_server_says_retry_after_and_the_entries_arrive_once(phone, server_db, browser):
    """A server whose sync path is full answers 503 with Retry-After at once (api.sync_slot);
    the phone keeps the entries waiting, waits as asked, and sends them once it is free."""
    server = LiveServer(server_db.db_file, env={"FIELDAPP_SYNC_SLOTS": "0"})
    server.start()
    try:
        member = server_db.new_member()
        page = phone.new_page()
        answers: list[tuple[int, str | None]] = []
        page.context.on(
            "response",
            lambda r: (
                answers.append((r.status, r.headers.get("retry-after")))
                if r.url.endswith("/api/v1/sync")
                else None
            ),
        )
        enrol(page, server.url, member["code"])
        log_resident(page, "Lương Thị Thoa")
        log_resident(page, "Mạc Văn Toàn")
        page.wait_for_function("() => document.body.textContent.includes('2 lượt chờ gửi')")
        page.wait_for_timeout(2000)
        assert (503, "2") in answers  # told to come back in 2 s, not left hanging
        assert server_db.assists(member["id"]) == []
        server.env = {}  # the wave has passed: slots free again
        server.restart()
        wait_for_states(page, all_sent(2), timeout_ms=60000)
        rows = server_db.assists(member["id"])
        assert sorted((r.full_name, r.rev) for r in rows) == [
            ("Lương Thị Thoa", 1),
            ("Mạc Văn Toàn", 1),
        ]
    finally:
        server.stop()


def test_the_back_off_honours_retry_after_and_spreads_the_phones_above_it(phone, live, server_db):
    """static/js/backoff.js with a fixed random draw: a Retry-After is a floor, a random half of
    it again above (phones turned away together come back apart), 120 s at most; without
    one, full jitter under a doubling ceiling (at least 250 ms)."""
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    found = page.evaluate(
        """async () => {
            const href = document.querySelector('link[href$="js/backoff.js"]').href;
            const { createBackoff } = await import(href);
            const waits = (draw, asked) => {
              const backoff = createBackoff({ random: () => draw });
              return [backoff.next(asked), backoff.next(asked), backoff.next()];
            };
            return [waits(0, 2), waits(0.999, 2), waits(0.5, 0), waits(0.5, 1000)];
        }"""
    )
    assert found == [
        [2000, 2000, 250],  # the floor, then the jitter's own 250 ms minimum
        [2999, 2999, 3996],  # 2 s + 0.999 s; the ceiling doubled twice: 3,996 ms
        [500, 1000, 2000],  # half of 1, 2, 4 s
        [120000, 120000, 2000],  # a Retry-After of 1,000 s waits 120 s
    ]


def _version(url: str) -> str:
    with urllib.request.urlopen(url + "/app") as answer:
        html = answer.read().decode()
    return re.search(r'name="fieldapp-version" content="([0-9a-f]+)"', html).group(1)


def test_a_new_version_takes_over_without_losing_waiting_entries(
    phone, own_server, server_db, tmp_path
):
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, own_server.url, member["code"])
    old = page.get_attribute("meta[name=fieldapp-version]", "content")
    assert old == _version(own_server.url)
    phone.set_offline(True)
    log_resident(page, "Ông Văn Ước")
    log_resident(page, "Phan Thị Vân")

    # Deploy: the same app with one shell file changed, on the same address and database.
    copy = copy_app(tmp_path / "release")
    css = copy / "static" / "css" / "field.css"
    css.write_text(css.read_text() + "\n/* release 2 */\n")
    own_server.restart(copy)
    new = _version(own_server.url)
    assert new != old

    phone.set_offline(False)
    page.wait_for_function(
        "(v) => document.querySelector('meta[name=fieldapp-version]')?.content === v",
        arg=new,
        timeout=30000,
    )
    ready(page)
    wait_for_states(page, all_sent(2))
    assert sorted(r.full_name for r in server_db.assists(member["id"])) == [
        "Phan Thị Vân",
        "Ông Văn Ước",
    ]
    caches = page.evaluate("() => caches.keys()")
    assert caches == [f"fieldapp-shell-{new}"]
    # And the new shell works offline.
    phone.set_offline(True)
    page.reload()
    ready(page)
    assert page.get_attribute("meta[name=fieldapp-version]", "content") == new
    assert len(entries(page)) == 2


def test_background_sync_sends_with_the_app_closed(phone, live, server_db):
    """Chromium's Background Sync wakes the (module) worker, which sends the outbox itself."""
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    assert page.evaluate("() => navigator.serviceWorker.controller.scriptURL").endswith(
        "/sw.js?module=1"
    )
    phone.set_offline(True)
    log_resident(page, "Hà Văn Yên")
    blank = phone.new_page()  # not the app: only the worker can send now
    cdp = phone.new_cdp_session(blank)
    registrations = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    page.close()
    phone.set_offline(False)
    deadline = time.monotonic() + 10
    while not server_db.assists(member["id"]) and time.monotonic() < deadline:
        blank.wait_for_timeout(250)
    if not server_db.assists(member["id"]):
        # The browser decides when to fire it; the test may fire it the way DevTools does.
        live_ones = [r for r in registrations if not r.get("isDeleted")]
        cdp.send(
            "ServiceWorker.dispatchSyncEvent",
            {
                "origin": live.url,
                "registrationId": live_ones[0]["registrationId"],
                "tag": "fieldapp-outbox",
                "lastChance": False,
            },
        )
        deadline = time.monotonic() + 10
        while not server_db.assists(member["id"]) and time.monotonic() < deadline:
            blank.wait_for_timeout(250)
    assert [(r.full_name, r.rev) for r in server_db.assists(member["id"])] == [("Hà Văn Yên", 1)]


def test_a_phone_with_waiting_entries_is_not_handed_to_another_member(phone, live, server_db):
    first, second = server_db.new_member(), server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, first["code"])
    # The network fails until `cut` is cleared: a switch, not unroute(), which would leave a
    # request already caught by the route without an answer.
    cut = [True]
    phone.route(
        "**/api/v1/sync",
        lambda route: route.abort("connectionreset") if cut[0] else route.continue_(),
    )
    log_resident(page, "Lý Thị Nga", steps=("installed",))
    # The second member's code opens on this phone while the first member's entry waits.
    page.goto(f"{live.url}/e/{second['code']}")
    page.wait_for_selector("#enrol-message.bad", timeout=WAIT_MS)
    message = page.text_content("#enrol-message")
    assert "còn 1 lượt chưa gửi" in message and "Mã QR này chưa bị dùng" in message
    # Nothing was spent or moved: the code still enrols, and the entry is still the first's.
    with server_db.context():
        from fieldapp.field.enrol import code_status

        assert code_status(second["code"]) == "ok"
    cut[0] = False
    page.click("#enrol-open")  # the way back to the log book, one tap
    ready(page)
    # The bar, counted from the phone's store. (Under load "Của tôi" can miss this answer
    # and keep its "Chờ gửi" badge until redrawn: a known fault, README "Not done yet".)
    wait_text(page, "#wait", "Đã gửi hết")
    assert [r.full_name for r in server_db.assists(first["id"])] == ["Lý Thị Nga"]
    assert server_db.assists(second["id"]) == []
    # Once everything is sent, the phone may pass to the second member.
    enrol(page, live.url, second["code"])
