"""The phone's side of privacy (issue 17): the consent wording's version it showed is sent,
and an erasure on the server reaches the phone's own copy (IndexedDB) at its next contact."""

from __future__ import annotations

import json

import sqlalchemy as sa

from fieldapp.extensions import db
from fieldapp.models import ConsentText, User, Ward
from fieldapp.privacy import erasure
from fieldapp.text import mask_numbers
from tests.browser.pwa import WAIT_MS, all_sent, enrol, go, log_resident, ready, wait_for_states

NEW_WORDING = "Nội dung đồng ý (bản 2, thử nghiệm)."


def _set_consent(server_db, version: int) -> None:
    with server_db.context():
        campaign = db.session.scalar(sa.select(Ward).where(Ward.code == "TD")).current_campaign()
        if version not in {c.version for c in db.session.scalars(
            sa.select(ConsentText).where(ConsentText.campaign_id == campaign.id)
        )}:  # fmt: skip
            db.session.add(ConsentText(campaign_id=campaign.id, version=version, text=NEW_WORDING))
        campaign.consent_version = version
        db.session.commit()


def test_an_offline_phone_sends_the_version_it_showed(phone, live, server_db):
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, member["code"])  # the phone has wording 1
    try:
        phone.set_offline(True)
        _set_consent(server_db, 2)  # the wording changes while the phone is offline
        log_resident(page, "Hoàng Văn Tâm")
        phone.set_offline(False)
        wait_for_states(page, all_sent(1))
        assert [r.consent_version for r in server_db.assists(member["id"])] == [1]
        page.reload()  # online: the phone learns wording 2 and shows it
        ready(page)
        page.wait_for_function(
            "(t) => document.querySelector('#consent-text').textContent === t", arg=NEW_WORDING
        )
        log_resident(page, "Bùi Thị Thảo")
        wait_for_states(page, all_sent(2))
        versions = {r.full_name: r.consent_version for r in server_db.assists(member["id"])}
        assert versions == {"Hoàng Văn Tâm": 1, "Bùi Thị Thảo": 2}
    finally:
        _set_consent(server_db, 1)  # the session's other tests expect wording 1


def test_the_phone_hides_numbers_in_free_text_as_the_server_does(phone, live, server_db):
    page = phone.new_page()
    enrol(page, live.url, server_db.new_member()["code"])
    samples = ["CCCD 001088012345", "gọi 0912 345 678, +84912345678", "năm 1954, 12 người",
               "số 001.088.012.345 và 0987-654-321", "mã 1234567890123"]  # fmt: skip
    masked = page.evaluate(
        """async (samples) => {
             const link = document.querySelector('link[href*="/js/validate.js"]');
             const { maskNumbers } = await import(link.href);
             return samples.map(maskNumbers);
           }""",
        samples,
    )
    assert masked == [mask_numbers(s) for s in samples]
    assert "CCCD" in page.text_content("#f-note-hint")


# --- erasure reaches the phone (issue 17, item 1) ---------------------------------------------

ERASED = "(Đã xóa thông tin cá nhân)"  # static/js/list.js ERASED_TITLE
NAME, PHONE, NOTE = "Trịnh Thị Xuyến", "0977 123 456", "Nhà gần chợ Đông, cần gọi trước"
KEPT = "Lưu Văn Khải"


def _stored_on_phone(page) -> str:
    """Every object of the phone's IndexedDB (records and meta), raw, as one JSON text."""
    return page.evaluate(
        """() => new Promise((resolve, reject) => {
             const open = indexedDB.open('fieldapp');
             open.onerror = () => reject(open.error);
             open.onsuccess = () => {
               const database = open.result;
               const tx = database.transaction(['records', 'meta']);
               const out = {};
               for (const name of ['records', 'meta']) {
                 const all = tx.objectStore(name).getAll();
                 all.onsuccess = () => { out[name] = all.result; };
               }
               tx.oncomplete = () => { database.close(); resolve(JSON.stringify(out)); };
               tx.onerror = () => reject(tx.error);
             };
           })"""
    )


def _progress(page) -> list[str]:
    go(page, "#/mine")
    return page.eval_on_selector_all(
        "#progress tr", "rows => rows.map((r) => r.textContent.trim())"
    ) + [page.text_content("#mine-summary")]


def _erase(server_db, record_id: str) -> None:
    """What the officer's privacy screen does on confirming (privacy/views.py)."""
    with server_db.context():
        officer = db.session.scalar(sa.select(User).where(User.username == "canbo"))
        assert erasure.erase_records(officer, [record_id]).records == 1
        db.session.commit()


def test_an_erasure_reaches_the_phone_that_was_offline_and_keeps_its_counts(
    phone, live, server_db, tmp_path
):
    member = server_db.new_member()
    page = phone.new_page()
    enrol(page, live.url, member["code"])
    go(page, "#/")
    page.fill("#f-note", NOTE)
    log_resident(page, NAME, phone=PHONE, birth_year="1961")
    log_resident(page, KEPT)
    ids = {e["name"]: e["id"] for e in wait_for_states(page, all_sent(2))}
    digits = PHONE.replace(" ", "")
    assert NAME in _stored_on_phone(page) and digits in _stored_on_phone(page)

    # Offline: the member corrects the entry (a newer revision waits), then the officer erases
    # the resident on the server.
    phone.set_offline(True)
    page.click(f"a[data-id='{ids[NAME]}']")
    page.wait_for_selector("#view-log:not([hidden])")
    page.check("input[name=steps][value=tested]")
    page.click("#log-save")
    page.wait_for_selector("#view-mine:not([hidden])")
    before = _progress(page)
    assert "1 chờ gửi" in before[-1]
    _erase(server_db, ids[NAME])

    phone.set_offline(False)  # back: the next contact tells it, then the revision goes
    found = wait_for_states(
        page, lambda f: {e["name"] for e in f} == {ERASED, KEPT} and all_sent(2)(f)
    )
    assert len(found) == 2
    stored = _stored_on_phone(page)
    for value in (NAME, digits, PHONE, NOTE):
        assert value not in stored, value
    assert KEPT in stored  # the other resident is untouched
    records = {r["id"]: r for r in json.loads(stored)["records"]}
    erased = records[ids[NAME]]
    assert erased["erased"] is True and erased["state"] == "sent" and erased["rev"] == 2
    assert erased["data"]["steps"] == ["installed", "registered", "tested"]
    assert not {"full_name", "birth_year", "gender", "phone", "note"} & set(erased["data"])
    assert _progress(page) == [*before[:-1], before[-1].replace(" · 1 chờ gửi", "")]

    # The server stored the waiting revision, erased, and counts it.
    current = {r.record_id: r for r in server_db.assists(member["id"], current_only=True)}
    row = current[ids[NAME]]
    assert (row.rev, row.full_name, row.phone, row.note, row.steps) == (
        2, None, None, None, ",installed,registered,tested,"
    )  # fmt: skip

    page.reload()  # kept on the phone, and its entry says why the name is gone
    ready(page)
    wait_for_states(page, lambda f: {e["name"] for e in f} == {ERASED, KEPT})
    page.screenshot(path=str(tmp_path / "mine-erased-360.png"), full_page=True)
    page.click(f"a[data-id='{ids[NAME]}']")
    page.wait_for_selector("#view-log:not([hidden])")
    page.wait_for_function(
        "() => document.querySelector('#log-state').textContent.includes('đã được xóa')",
        timeout=WAIT_MS,
    )
    assert page.input_value("#f-full_name") == "" and page.input_value("#f-phone") == ""
    page.screenshot(path=str(tmp_path / "entry-erased-360.png"))
    # A correction of what was done still goes, with no name (none is asked for).
    page.uncheck("input[name=steps][value=tested]")
    page.click("#log-save")
    page.wait_for_selector("#view-mine:not([hidden])")
    wait_for_states(page, lambda f: all_sent(2)(f) and ERASED in {e["name"] for e in f})
    page.wait_for_function(
        "(n) => document.querySelector('#mine-summary').textContent === n",
        arg=before[-1].replace(" · 1 chờ gửi", ""),
        timeout=WAIT_MS,
    )
    row = {r.record_id: r for r in server_db.assists(member["id"], current_only=True)}[ids[NAME]]
    assert (row.rev, row.full_name, row.steps) == (3, None, ",installed,registered,")
