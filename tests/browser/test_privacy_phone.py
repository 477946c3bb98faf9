"""The phone's side of privacy (issue 17): the consent wording's version it showed is sent."""

from __future__ import annotations

import sqlalchemy as sa

from fieldapp.extensions import db
from fieldapp.models import ConsentText, Ward
from fieldapp.text import mask_numbers
from tests.browser.pwa import all_sent, enrol, log_resident, ready, wait_for_states

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
