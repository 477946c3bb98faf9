"""The campaign's life cycle on the phone, in a real Chromium at 360 px: the same rule as the
server's (the cases of tests/test_lifecycle.py), the line above the form, and the question
before logging on a day outside the campaign."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fieldapp.tally import counts
from fieldapp.text import local_today
from tests.browser.pwa import WAIT_MS, enrol, entries, go, wait_for_states
from tests.browser.test_enrol_qr import keep
from tests.test_lifecycle import CASES


def _fill(page, name: str) -> None:
    go(page, "#/")
    page.fill("#f-full_name", name)
    page.check("input[name=category][value=elderly]")
    page.check("input[name=steps][value=installed]")
    page.check("#f-consent")


def test_the_phone_runs_the_servers_rule(phone, live, server_db) -> None:
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    found = page.evaluate(
        """async (cases) => {
            const href = document.querySelector('link[href$="js/lifecycle.js"]').href;
            const { lifecycle } = await import(href);
            return cases.map(([starts_on, ends_on, report_due, today]) => {
                const life = lifecycle({ starts_on, ends_on, report_due }, today);
                return [life.phase, life.daysToStart, life.daysLeft, life.daysToDue];
            });
        }""",
        [list(case[:4]) for case in CASES],
    )
    assert found == [list(case[4:]) for case in CASES]


def test_a_running_campaign_says_the_days_left_and_logs_without_a_question(
    phone, live, server_db, tmp_path: Path
) -> None:
    today = local_today()
    ends = today + timedelta(days=6)
    server_db.set_campaign_days(today - timedelta(days=20), ends)
    try:
        member = server_db.new_member()
        page = phone.new_page()
        enrol(page, live.url, member["code"])
        line = page.locator("#campaign-life")
        expected = f"Cuộc thi đang diễn ra, còn 6 ngày (đến hết ngày {ends:%d/%m/%Y})."
        assert line.inner_text() == expected
        shot = tmp_path / "phone-running-campaign-360.png"
        page.screenshot(path=str(shot))
        keep(shot)
        _fill(page, "Vương Thị Hạnh")
        page.click("#log-save")
        wait_for_states(page, lambda found: [e["name"] for e in found] == ["Vương Thị Hạnh"])
        assert not page.locator("#confirm").evaluate("d => d.open")
        assert page.locator(".fa-outside").count() == 0
    finally:
        server_db.set_campaign_days(today - timedelta(days=30), today + timedelta(days=30))


def test_logging_after_the_campaign_asks_first_and_marks_the_entry(
    phone, live, server_db, tmp_path: Path
) -> None:
    today = local_today()
    ended = today - timedelta(days=3)
    server_db.set_campaign_days(today - timedelta(days=40), ended, today + timedelta(days=1))
    try:
        member = server_db.new_member()
        page = phone.new_page()
        enrol(page, live.url, member["code"])
        # The dates came with the phone's last answer: the line says it, with no signal too.
        phone.set_offline(True)
        page.reload()
        page.wait_for_selector("html[data-ready]", timeout=WAIT_MS)
        line = page.locator("#campaign-life")
        assert line.inner_text() == f"Cuộc thi đã kết thúc ngày {ended:%d/%m/%Y}."
        assert line.get_attribute("data-phase") == "ended"

        _fill(page, "Tạ Văn Khiêm")
        page.click("#log-save")
        dialog = page.locator("#confirm")
        dialog.wait_for(state="visible", timeout=WAIT_MS)
        question = (
            f"Cuộc thi đã kết thúc ngày {ended:%d/%m/%Y}: lượt mới chỉ được tính vào số liệu,"
            " không lưu họ tên, năm sinh, giới tính, số điện thoại và ghi chú — vẫn ghi?"
        )
        assert page.locator("#confirm-text").inner_text() == question
        assert page.locator("#confirm-yes").inner_text() == "Vẫn ghi"
        assert page.locator("#confirm-no").inner_text() == "Không ghi"
        box = page.locator("#confirm-yes").bounding_box()
        assert box["height"] >= 44 and box["x"] + box["width"] <= 360
        shot = tmp_path / "phone-after-campaign-question-360.png"
        page.screenshot(path=str(shot))
        keep(shot)

        # "Không ghi": nothing is saved and the form keeps what was typed.
        page.click("#confirm-no")
        assert page.locator("#f-full_name").input_value() == "Tạ Văn Khiêm"
        assert entries(page) == []

        # "Vẫn ghi": saved, and marked in "Của tôi".
        go(page, "#/")
        page.click("#log-save")
        dialog.wait_for(state="visible", timeout=WAIT_MS)
        page.click("#confirm-yes")
        found = wait_for_states(page, lambda found: len(found) == 1)
        assert found[0]["name"] == "Tạ Văn Khiêm"
        mark = page.locator("#mine-list .fa-outside")
        assert mark.inner_text() == "⚠ Ghi ngoài thời gian Cuộc thi"
        shot = tmp_path / "phone-after-campaign-entry-360.png"
        page.screenshot(path=str(shot), full_page=True)
        keep(shot)

        # Sent once the signal is back; the server flags it for the officer.
        phone.set_offline(False)
        wait_for_states(page, lambda found: "Đã gửi" in found[0]["states"])
        (stored,) = server_db.assists(member["id"])
        # The campaign's rule after its end (count_only): counted, no personal field kept.
        assert (stored.full_name, stored.phone, stored.erased_at is not None) == (None, None, True)
        with server_db.context():
            from fieldapp.extensions import db
            from fieldapp.models import Campaign

            campaign = db.session.get(Campaign, stored.campaign_id)
            flags = counts.record_flags(stored.recorded_at, stored.received_at, campaign)
        assert flags == [counts.FLAG_OUTSIDE]
    finally:
        server_db.set_campaign_days(today - timedelta(days=30), today + timedelta(days=30))


def test_when_the_rule_refuses_new_entries_after_the_end_the_phone_says_so(
    phone, live, server_db, tmp_path: Path
) -> None:
    today = local_today()
    ended = today - timedelta(days=2)
    server_db.set_campaign_days(today - timedelta(days=40), ended, after_end="refuse")
    try:
        member = server_db.new_member()
        page = phone.new_page()
        enrol(page, live.url, member["code"])
        closed = f"Cuộc thi đã kết thúc ngày {ended:%d/%m/%Y}: không nhận lượt mới."
        assert page.locator("#campaign-life").inner_text() == closed
        _fill(page, "Lạc Thị Nga")
        page.click("#log-save")
        top = page.locator("#log-form-error")
        top.wait_for(state="visible", timeout=WAIT_MS)
        assert top.inner_text() == closed
        assert not page.locator("#confirm").evaluate("d => d.open")
        assert entries(page) == []
        assert page.locator("#f-full_name").input_value() == "Lạc Thị Nga"  # kept as typed
        shot = tmp_path / "phone-after-campaign-refused-360.png"
        page.screenshot(path=str(shot))
        keep(shot)
    finally:
        server_db.set_campaign_days(today - timedelta(days=30), today + timedelta(days=30))
