"""A phone's outbox reaches the office even when its entries cannot: Chromium, a real server."""

from __future__ import annotations

import json
import re
import time

import sqlalchemy as sa

from fieldapp.extensions import db
from fieldapp.models import Device, OutboxReport
from tests.browser.pwa import WAIT_MS, enrol, log_resident, wait_for_states
from tests.world import PASSWORD


def stored_report(page, server_db, member_id: int, wanted, timeout_s: float = 20.0) -> OutboxReport:
    """The member's phone's report on the server, once it satisfies `wanted`.

    Waits through the page (not time.sleep): Playwright's sync API runs the tests' route
    handlers only while a call of its own is under way, so a sleeping test would hold the
    phone's intercepted requests, and its whole send, until the next call."""
    deadline = time.monotonic() + timeout_s
    while True:
        with server_db.context():
            row = db.session.scalar(
                sa.select(OutboxReport)
                .join(Device, Device.id == OutboxReport.device_id)
                .where(Device.user_id == member_id)
            )
            if row is not None:
                db.session.expunge(row)
        if row is not None and wanted(row):
            return row
        assert time.monotonic() < deadline, f"no such report: {row and vars(row)}"
        page.wait_for_timeout(300)


def test_the_officer_sees_what_a_failing_phone_holds(phone, phone_factory, live, server_db):
    member = server_db.new_member()
    bodies = []
    busy = []  # from the moment it holds True, every batch fails (a saturated server)

    def sync(route):
        if not busy:
            route.continue_()
            return
        bodies.append(json.loads(route.request.post_data or "{}"))
        route.fulfill(
            status=503,
            headers={"Retry-After": "30"},
            content_type="application/json",
            body=json.dumps({"error": "busy", "message": "Hệ thống đang bận."}),
        )

    # Routed before the phone opens: a route added while its service worker runs may not
    # reach the worker's requests in time (seen under load: the send went around it).
    phone.route("**/api/v1/sync", sync)
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    units = page.evaluate(
        "() => [...document.querySelectorAll('#f-unit_id option')].map((o) => Number(o.value))"
    )
    closed = next(u for u in units if u != member["unit_id"])
    server_db.set_unit_active(closed, False)  # the phone doesn't know: the server refuses it
    try:
        log_resident(page, "Hoàng Văn Ích", unit_id=closed)
        wait_for_states(page, lambda found: [e["states"] for e in found] == [["Cần sửa"]])
    finally:
        server_db.set_unit_active(closed, True)

    # From now on every batch fails (a saturated server); the light report still goes through.
    busy.append(True)
    log_resident(page, "Lý Thị Gấm")
    log_resident(page, "Đào Văn Khải")
    wait_for_states(
        page, lambda f: sorted(e["states"][0] for e in f) == ["Chờ gửi"] * 2 + ["Cần sửa"]
    )
    row = stored_report(page, server_db, member["id"], lambda r: r.waiting == 2)
    assert (row.waiting, row.needs_fix) == (2, 1)
    assert row.oldest_waiting_at is not None and row.last_batch_at is not None
    persisted = page.evaluate("() => navigator.storage.persisted()")
    assert row.storage_persisted is persisted
    version = page.evaluate("() => document.querySelector('meta[name=fieldapp-version]').content")
    assert row.app_version == version
    # The failed batches carried the report too: what waits besides the batch itself.
    assert bodies and all(b["outbox"]["v"] == 1 for b in bodies)
    assert bodies[-1]["outbox"]["waiting"] == 2 - len(bodies[-1]["records"])
    assert server_db.assists(member["id"]) == []

    with server_db.context():
        device_id = db.session.scalar(
            sa.select(Device.public_id).where(Device.user_id == member["id"])
        )
    office = phone_factory().new_page()
    office.goto(f"{live.url}/login")
    office.fill("#username", "canbo")
    office.fill("#password", PASSWORD)
    office.click("button[type=submit]")
    office.wait_for_load_state()
    office.goto(f"{live.url}/admin/devices")
    line = office.locator(f"tr[data-device='{device_id}']")
    line.wait_for(timeout=WAIT_MS)
    assert line.get_attribute("data-waiting") == "2"
    assert line.get_attribute("data-needs-fix") == "1"
    cells = line.locator("td").all_text_contents()
    assert "Thành viên Thử" in cells[0] and "Cần nhắc" in cells[0]  # a fix is needed: first
    assert cells[4].startswith("2") and "đã chờ" in cells[4]
    assert cells[5].strip() == "1"
    assert cells[6].strip() == "Mới nhất"
    assert cells[7].strip() == ("Có" if persisted else "Không")
    figure = office.text_content(".phones-figure")
    assert re.search(r"\d+ lượt còn nằm trên \d+ điện thoại", figure)
    # Attention first: every phone needing a fix or waiting long comes before the others.
    flags = office.eval_on_selector_all(
        "tr.phone-row", "rows => rows.map((r) => r.classList.contains('row-attention'))"
    )
    assert flags == sorted(flags, reverse=True)
    phone.unroute("**/api/v1/sync")


CAMPAIGN = {"starts_on": "2026-11-02", "steps": [{"key": "installed"}, {"key": "tested"}]}


def _assist(day, *steps, voided=False):
    """An assist as the phone stores it, logged at 09:00 (+07:00) on `day`."""
    record = {"type": "assist", "recorded_at": f"{day}T09:00:00+07:00", "data": {"steps": steps}}
    return {**record, "voided": voided}


RECORDS = [
    _assist("2026-12-02", "installed", "tested"),
    _assist("2026-11-30", "installed"),
    _assist("2026-11-29", "tested"),
    _assist("2026-10-20", "installed"),  # before the campaign
    _assist("2026-12-02", "installed", voided=True),
    {"type": "difficulty", "recorded_at": "2026-12-02T09:00:00+07:00", "data": {}},
]


def test_the_members_progress_shows_offline_with_the_groups_standing(phone, live, server_db):
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    log_resident(page, "Phan Thị Lụa", steps=("installed", "registered", "tested"))
    log_resident(page, "Trương Văn Mạnh", steps=("installed",))
    wait_for_states(page, lambda f: [e["states"] for e in f] == [["Đã gửi"]] * 2)
    # The counting rule itself: today, this week (from Monday), the campaign (from its start).
    found = page.evaluate(
        """async ([campaign, records, now]) => {
            const href = document.querySelector('link[href$="js/progress.js"]').href;
            const { summarise } = await import(href);
            const s = summarise(records, campaign, new Date(now));
            return [s.today, s.week, s.campaign].map(
              (b) => [b.assists, b.steps.installed, b.steps.tested]);
        }""",
        [CAMPAIGN, RECORDS, "2026-12-02T15:00:00+07:00"],
    )
    assert found == [[1, 1, 1], [2, 2, 1], [3, 2, 2]]

    page.goto(f"{live.url}/app#/mine")  # the app opens with signal: /me brings the group's figures
    page.wait_for_selector("#group-standing", timeout=WAIT_MS)
    phone.set_offline(True)
    page.reload()
    page.wait_for_selector("html[data-ready]")
    page.evaluate("() => { location.hash = '#/mine'; }")
    page.wait_for_selector("#view-mine:not([hidden]) #progress table")
    cells = page.eval_on_selector_all(
        "#progress tbody tr", "rows => rows.map((r) => [...r.children].map((c) => c.textContent))"
    )
    # Hôm nay, Tuần này, Cả Cuộc thi: 2 assists; installed 2, registered 1, tested 1.
    assert cells == [
        [label, "2", "2", "1", "1"] for label in ("Hôm nay", "Tuần này", "Cả Cuộc thi")
    ]
    line = page.text_content("#group-standing")
    expected = r"Khu dân cư số 1: \d+/100 người đã thi so với chỉ tiêu · số liệu của phường lúc "
    assert re.match(expected + r"\d\d/\d\d/\d{4} \d\d:\d\d$", line), line
    phone.set_offline(False)
