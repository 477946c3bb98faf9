"""Retention enforced by the app and the register of privacy requests (issue 17, items 5, 9):
the retention date required and read out in the consent, the officer's rule after a campaign's
end, nothing served past retention, requests registered with their two-working-day deadline.

The residents and requesters are made up.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from fieldapp import retention
from fieldapp.extensions import db
from fieldapp.models import Assist, AuditEvent, Campaign, ConsentText, PrivacyRequest, Ward
from fieldapp.privacy import erasure, rights
from fieldapp.retention import AFTER_END_COUNT_ONLY, AFTER_END_REFUSE, RETENTION_DAYS
from fieldapp.text import local_today
from tests.admin.test_views import campaign_data
from tests.privacy.test_erasure import NAME, PHONE, every_answer, hoa, leaks, login, search  # noqa: F401 - hoa is a fixture
from tests.sync.test_api import post_sync
from tests.sync.test_contract import assist, rows, run
from tests.test_migrations import empty_database_url  # noqa: F401 - a fixture

# --------------------------------------------------------------------------- plain rules


def test_the_default_retention_date_is_the_report_date_plus_n_days() -> None:
    assert RETENTION_DAYS == 30
    assert retention.default_retention(date(2025, 11, 12)) == date(2025, 12, 12)


def test_the_consent_wording_names_the_retention_date_once() -> None:
    text = "Tôi đồng ý."
    once = retention.consent_with_retention(text, date(2026, 5, 12))
    assert (
        once == "Tôi đồng ý. Thông tin của tôi được lưu đến hết ngày 12/05/2026, sau đó sẽ bị xóa."
    )
    assert retention.consent_with_retention(once, date(2026, 5, 12)) == once  # idempotent
    moved = retention.consent_with_retention(once, date(2026, 6, 1))
    assert moved.count("được lưu đến hết ngày") == 1 and "01/06/2026" in moved
    assert retention.consent_without_retention(moved) == text


@pytest.mark.parametrize(
    ("rule", "day", "expected"),
    [
        (AFTER_END_REFUSE, date(2025, 11, 11), None),  # the last day is still the campaign's
        (AFTER_END_REFUSE, date(2025, 11, 12), AFTER_END_REFUSE),
        (AFTER_END_COUNT_ONLY, date(2025, 11, 12), AFTER_END_COUNT_ONLY),
        ("bogus", date(2026, 1, 1), AFTER_END_COUNT_ONLY),  # an unknown value: the safe one
        (AFTER_END_REFUSE, date(2025, 10, 1), None),  # before the start: asked, not refused
    ],
)
def test_the_rule_after_the_end(rule: str, day: date, expected: str | None) -> None:
    assert retention.after_end(rule, date(2025, 11, 11), day) == expected


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2026, 11, 30), date(2026, 12, 2)),  # Monday -> Wednesday
        (date(2026, 12, 2), date(2026, 12, 4)),  # Wednesday -> Friday
        (date(2026, 12, 3), date(2026, 12, 7)),  # Thursday -> Monday
        (date(2026, 12, 4), date(2026, 12, 8)),  # Friday -> Tuesday
        (date(2026, 12, 5), date(2026, 12, 8)),  # Saturday -> Tuesday
        (date(2026, 12, 6), date(2026, 12, 8)),  # Sunday -> Tuesday
        (date(2026, 12, 31), date(2027, 1, 4)),  # Thursday across the year -> Monday
    ],
)
def test_the_deadline_is_two_working_days_later(received: date, due: date) -> None:
    assert rights.deadline(received) == due


def test_a_requester_description_holds_no_number() -> None:
    assert rights.requester_problem("Bà Nguyễn Thị Hoa (con gái gọi hộ)") is None
    assert "số điện thoại" in rights.requester_problem("Hoa 0912345678")
    assert "CCCD" in rights.requester_problem("Hoa 001088012345")
    assert rights.requester_problem("  ") is not None
    assert rights.requester_problem("a" * 121) is not None


# --------------------------------------------------------------------------- item 5: required


def test_a_campaign_without_a_retention_date_gets_the_default_and_none_is_refused(world):
    campaign = Campaign(
        ward=world.ward,
        name="Đợt thử",
        starts_on=date(2026, 3, 1),
        ends_on=date(2026, 3, 31),
        report_due=date(2026, 4, 2),
    )
    db.session.add(campaign)
    db.session.commit()
    assert campaign.retention_until == date(2026, 5, 2)
    with pytest.raises(ValueError, match="retention date"):
        campaign.retention_until = None
    with pytest.raises(sa.exc.IntegrityError):  # and the database refuses it too
        db.session.execute(sa.update(Campaign).values(retention_until=None))
    db.session.rollback()


def _textarea(page: str) -> str:
    return re.search(r'<textarea[^>]*name="consent_wording"[^>]*>(.*?)</textarea>', page, re.S)[1]


def test_the_ward_form_offers_the_default_date_and_reads_it_out_in_the_consent(client, world, auth):
    ward = Ward(name="Phường Mới Lập", unit_label="Tổ dân phố")
    db.session.add(ward)
    db.session.flush()
    from tests.world import add_user

    add_user("canbomoi", "officer", ward)
    db.session.commit()
    auth.login("canbomoi")
    page = client.get("/admin/campaign").get_data(as_text=True)
    assert f"hạn báo cáo + {RETENTION_DAYS} ngày" in page  # the default, said beside the field
    response = client.post(
        "/admin/campaign", data=campaign_data(retention_until="", after_end="refuse")
    )
    assert response.status_code == 302
    campaign = db.session.get(Ward, ward.id).current_campaign()
    assert campaign.retention_until == date(2025, 12, 12)  # 12/11/2025 + 30 days
    assert campaign.after_end == AFTER_END_REFUSE
    wording = campaign.consent().text
    assert wording.endswith("Thông tin của tôi được lưu đến hết ngày 12/12/2025, sau đó sẽ bị xóa.")
    shown = client.get("/admin/campaign").get_data(as_text=True)
    assert "12/12/2025" in shown and "ngày 12/12/2025, sau" not in _textarea(shown)
    # ... and the phone reads out that wording.
    assert campaign.as_json()["consent"]["text"] == wording
    assert campaign.as_json()["retention_until"] == "2025-12-12"
    # Another date: a new consent version naming it; the old version is kept.
    client.post(
        "/admin/campaign",
        data=campaign_data(retention_until="31/01/2026", after_end="refuse"),
    )
    db.session.expire_all()
    campaign = db.session.get(Campaign, campaign.id)
    assert campaign.consent_version == 2 and "31/01/2026" in campaign.consent().text
    assert "12/12/2025" in campaign.consent(1).text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"after_end": "maybe"}, "Vui lòng chọn cách xử lý lượt ghi mới"),
        ({"retention_until": "01/11/2025"}, "phải bằng hoặc sau hạn báo cáo"),
        ({"retention_until": "11/11/2025"}, "phải bằng hoặc sau hạn báo cáo"),  # due 12/11
        ({"retention_until": "31/02/2026"}, "Ngày chưa đúng"),
    ],
)
def test_bad_campaign_settings_are_refused_and_change_nothing(
    client, world, auth, changes, message
):
    auth.login("canbo")
    before = (world.campaign.retention_until, world.campaign.after_end)
    response = client.post("/admin/campaign", data=campaign_data(**changes))
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    db.session.expire_all()
    campaign = db.session.get(Campaign, world.campaign.id)
    assert (campaign.retention_until, campaign.after_end) == before


def test_the_city_form_has_the_rule_and_the_default_too(client, world):
    from tests.conftest import sign_in_directly

    sign_in_directly(client, world.users["city_admin"])
    form = {
        "name": "Cuộc thi Chuyển đổi số 2026",
        "starts_on": "01/03/2026",
        "ends_on": "31/03/2026",
        "report_due": "02/04/2026",
        "contest_url": "https://cuocthi2026.example.vn",
        "consent_wording": "Tôi đồng ý cho ghi lại họ tên.",
        "after_end": "count_only",
    }
    response = client.post("/city/campaigns/new", data=form, follow_redirects=True)
    assert "được đặt là 02/05/2026" in response.get_data(as_text=True)
    campaign = db.session.scalar(sa.select(Campaign).where(Campaign.name == form["name"]))
    assert campaign.retention_until == date(2026, 5, 2) and campaign.is_city
    assert "02/05/2026" in campaign.consent().text


# --------------------------------------------------------------------------- item 5: after the end


def _after_end(world, rule: str) -> Campaign:
    campaign = db.session.get(Campaign, world.campaign.id)
    campaign.after_end = rule
    db.session.commit()
    return campaign


def test_refused_after_the_end_through_the_api_with_the_phones_message(client, world):
    from tests.sync.test_api import enrol_phone

    _after_end(world, AFTER_END_REFUSE)
    token = enrol_phone(client, world)
    late = assist(world)
    late["recorded_at"] = "2025-11-12T08:00:00+07:00"  # the day after the end
    answer = post_sync(client, token, {"records": [late]}).get_json()["results"][0]
    assert answer["status"] == "invalid"
    assert answer["errors"] == {
        "campaign": "Cuộc thi đã kết thúc ngày 11/11/2025: không nhận lượt mới."
    }
    assert rows() == []
    # Made on the last day, sent later: taken with its fields.
    on_time = assist(world)
    on_time["recorded_at"] = "2025-11-11T22:30:00+07:00"
    answer = post_sync(client, token, {"records": [on_time]}).get_json()["results"][0]
    assert answer["status"] == "stored"
    # Edits and voids of an entry the server has stay accepted after the end.
    edit = assist(world, rid=on_time["id"], rev=2, note="Đã gọi lại")
    edit["recorded_at"] = "2025-11-20T08:00:00+07:00"
    void = assist(world, rid=on_time["id"], rev=3, voided=True)
    void["recorded_at"] = "2025-11-21T08:00:00+07:00"
    results = post_sync(client, token, {"records": [edit, void]}).get_json()["results"]
    assert [r["status"] for r in results] == ["stored", "stored"]
    stored = rows()
    assert [(r.rev, r.full_name is not None, r.voided) for r in stored] == [
        (1, True, False),
        (2, True, False),
        (3, True, True),
    ]


def test_after_the_end_the_count_only_rule_keeps_no_personal_field(world):
    campaign = _after_end(world, AFTER_END_COUNT_ONLY)
    late = assist(world)
    late["recorded_at"] = "2025-12-01T08:00:00+07:00"
    assert run(world, [late])[0]["status"] == "stored"
    (row,) = rows()
    assert (row.full_name, row.phone, row.note, row.gender, row.birth_year) == (None,) * 5
    assert row.erased_at is not None and row.steps == ",installed,registered,tested,"
    from fieldapp.tally import counts

    assert counts.totals(campaign).assists == 1
    # A later edit from the phone keeps it that way.
    edit = assist(world, rid=late["id"], rev=2)
    assert run(world, [edit])[0]["status"] == "stored"
    assert all(r.full_name is None and r.phone is None for r in rows())


def test_the_phone_learns_the_rule(client, world):
    from tests.sync.test_api import bearer, enrol_phone

    _after_end(world, AFTER_END_REFUSE)
    token = enrol_phone(client, world)
    campaign = client.get("/api/v1/me", headers=bearer(token)).get_json()["campaign"]
    assert campaign["after_end"] == "refuse" and campaign["ends_on"] == "2025-11-11"
    assert campaign["retention_until"] == world.campaign.retention_until.isoformat()


# --------------------------------------------------------------------------- item 5: start-up


def test_nothing_is_served_past_retention_before_the_purge(client, hoa):  # noqa: F811
    """The daily timer did not run: the first request purges, then serves."""
    hoa.campaign.retention_until = local_today() - timedelta(days=1)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).where(Assist.full_name == NAME)) == 2
    answers = every_answer(client, hoa)  # every page, file and API answer, as every role
    assert {where: found for where, text in answers.items() if (found := leaks(text))} == {}
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "campaign_purged")
    ).all()
    # Purged once, by the app itself (no visitor named as the one who did it).
    assert len(events) == 1 and events[0].actor_id is None and events[0].ip is None
    assert events[0].detail["records"] >= 1


def test_a_retention_date_moved_into_the_past_is_enforced_at_the_next_request(client, hoa):  # noqa: F811
    login(client, hoa, "officer")
    assert NAME in search(client, "nguyen thi hoa")  # served: within retention
    hoa.campaign.retention_until = local_today() - timedelta(days=1)
    db.session.commit()
    assert NAME not in search(client, "nguyen thi hoa")
    assert db.session.scalar(sa.select(sa.func.count()).where(Assist.full_name == NAME)) == 0


def test_the_check_is_cached_and_a_failing_purge_refuses_the_request(app, client, hoa, monkeypatch):  # noqa: F811
    login(client, hoa, "officer")
    hoa.campaign.retention_until = local_today() - timedelta(days=1)
    db.session.commit()

    def broken(*_args, **_kwargs):
        raise sa.exc.OperationalError("UPDATE assists", {}, Exception("database is locked"))

    monkeypatch.setattr(erasure, "purge", broken)
    refused = client.get("/reports/")
    assert refused.status_code == 503  # not served with the names still there
    assert db.session.scalar(sa.select(sa.func.count()).where(Assist.full_name == NAME)) == 2
    assert client.get("/healthz").status_code == 200  # shows nothing personal: not held up
    monkeypatch.undo()
    assert client.get("/reports/").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).where(Assist.full_name == NAME)) == 0
    clean = app.extensions["fieldapp.retention_clean"]
    assert hoa.campaign.id in clean
    # Known clean: the next request does not look at the campaign's rows again.
    calls = []
    monkeypatch.setattr(erasure, "holds_personal", lambda cid: calls.append(cid) or False)
    assert client.get("/reports/").status_code == 200
    assert calls == []


# --------------------------------------------------------------------------- item 9: register


def _register(client, **changes):
    data = {"requester": "Bà Nguyễn Thị Hoa", "kind": "erasure", "received_on": "04/12/2026"}
    data.update(changes)
    return client.post("/privacy/requests", data=data)


def _requests() -> list[PrivacyRequest]:
    return list(db.session.scalars(sa.select(PrivacyRequest).order_by(PrivacyRequest.id)))


def test_a_request_is_registered_with_its_deadline_and_listed_first_when_nearest(
    client, world, monkeypatch
):
    monkeypatch.setattr("fieldapp.privacy.forms.local_today", lambda: date(2026, 12, 9))
    monkeypatch.setattr("fieldapp.privacy.views.local_today", lambda: date(2026, 12, 9))
    login(client, world, "officer")
    assert _register(client).status_code == 302  # Friday 04/12 -> Tuesday 08/12: overdue
    assert _register(client, requester="Ông Trần Văn Bình", kind="access",
                     received_on="09/12/2026").status_code == 302  # fmt: skip
    first, second = _requests()
    assert (first.kind, first.received_on, first.due_on) == ("erasure", date(2026, 12, 4),
                                                            date(2026, 12, 8))  # fmt: skip
    assert second.due_on == date(2026, 12, 11) and second.ward_id == world.ward.id
    page = client.get("/privacy/").get_data(as_text=True)
    assert page.index("Bà Nguyễn Thị Hoa") < page.index("Ông Trần Văn Bình")
    assert "Quá hạn 1 ngày" in page and "hạn <strong>11/12/2026</strong>" in page
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "privacy_request_registered")
    ).all()
    assert len(events) == 2 and events[0].actor_id == world.users["officer"].id
    # The audit trail keeps the kind and the deadline, never who asked.
    assert "Hoa" not in json.dumps([e.detail for e in events], ensure_ascii=False)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"requester": ""}, "Vui lòng ghi ai đã yêu cầu"),
        ({"requester": "Hoa 0912345678"}, "không ghi số điện thoại"),
        ({"requester": "x" * 200}, "dài quá 120"),
        ({"kind": "delete_everything"}, "Vui lòng chọn loại yêu cầu"),
        ({"received_on": "hôm qua"}, "Ngày chưa đúng"),
        ({"received_on": ""}, "Vui lòng nhập ngày nhận"),
        ({"received_on": "01/01/2999"}, "không thể sau hôm nay"),
        ({"received_on": "01/01/2000"}, "quá xa"),
    ],
)
def test_a_bad_request_form_says_why_and_stores_nothing(client, world, changes, message):
    login(client, world, "officer")
    response = _register(client, **{"received_on": local_today().strftime("%d/%m/%Y"), **changes})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _requests() == []


def test_the_register_is_the_officers_of_its_own_ward_only(client, world):
    login(client, world, "officer")
    _register(client, received_on=local_today().strftime("%d/%m/%Y"))
    (item,) = _requests()
    login(client, world, "other_officer")
    assert "Bà Nguyễn Thị Hoa" not in client.get("/privacy/").get_data(as_text=True)
    refused = client.post(f"/privacy/requests/{item.id}/done", follow_redirects=True)
    assert "Không tìm thấy yêu cầu" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(PrivacyRequest, item.id).done_at is None
    for who in ("head", "member", "reporter", "city_admin"):
        login(client, world, who)
        assert client.post("/privacy/requests", data={"requester": "x"}).status_code == 403
        assert client.post(f"/privacy/requests/{item.id}/done").status_code == 403
    assert len(_requests()) == 1 and _requests()[0].done_at is None


def test_a_request_is_closed_by_hand_once(client, world):
    login(client, world, "officer")
    _register(client, kind="access", received_on=local_today().strftime("%d/%m/%Y"))
    (item,) = _requests()
    assert client.post(f"/privacy/requests/{item.id}/done").status_code == 302
    again = client.post(f"/privacy/requests/{item.id}/done", follow_redirects=True)
    assert "Không tìm thấy yêu cầu" in again.get_data(as_text=True)
    db.session.expire_all()
    done = db.session.get(PrivacyRequest, item.id)
    assert done.done_how == "manual" and done.done_by_id == world.users["officer"].id
    page = client.get("/privacy/").get_data(as_text=True)
    assert "Không có yêu cầu nào đang chờ" in page and "đã xử lý" in page
    (event,) = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "privacy_request_done")
    ).all()
    assert event.detail == {"kind": "access", "how": "manual", "late": False}


def test_an_erasure_and_a_copy_close_the_requests_they_answer(client, hoa):  # noqa: F811
    login(client, hoa, "officer")
    today = local_today().strftime("%d/%m/%Y")
    _register(client, kind="access", received_on=today)
    _register(client, kind="erasure", received_on=today)
    access, erase_request = _requests()
    page = search(client, "nguyen thi hoa")
    assert f'<option value="{access.id}">' in page  # each resident's form offers the requests
    rid = hoa.extra["rid"]
    copy = client.post("/privacy/export", data={"record": [rid], "request": str(access.id)})
    assert copy.status_code == 200 and NAME in copy.get_data().decode("utf-8-sig")
    ask = client.post("/privacy/erase", data={"record": [rid], "request": str(erase_request.id)})
    assert f'name="request" value="{erase_request.id}"' in ask.get_data(as_text=True)
    done = client.post(
        "/privacy/erase",
        data={"record": [rid], "confirm": "1", "request": str(erase_request.id)},
        follow_redirects=True,
    )
    assert f"Yêu cầu số {erase_request.id} đã xong" in done.get_data(as_text=True)
    db.session.expire_all()
    assert [(r.done_how, r.done_at is not None) for r in _requests()] == [
        ("export", True),
        ("erasure", True),
    ]
    # A forged request id (not a number, another ward's, done) closes nothing and is no 500.
    for value in ("abc", "99999999999", str(erase_request.id)):
        response = client.post("/privacy/export", data={"record": [rid], "request": value})
        assert response.status_code == 302  # erased meanwhile: nothing to give


def test_the_request_forms_need_the_csrf_token(app, client, world):
    login(client, world, "officer")
    app.config["WTF_CSRF_ENABLED"] = True
    response = _register(client, received_on=local_today().strftime("%d/%m/%Y"))
    assert response.status_code == 400 and _requests() == []  # refused before the view


def test_the_consent_versions_of_the_migration(world):
    """The migration's wording rule is the app's (frozen copy in the revision)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "migrations/versions"
    spec = importlib.util.spec_from_file_location("m", path / "a1b2c3d4e5f6_retention_required.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    until = date(2026, 5, 12)
    text = ConsentText(text="Tôi đồng ý.").text
    assert module.SENTENCE.format(date="12/05/2026") == retention.retention_sentence(until)
    assert module.RETENTION_DAYS == RETENTION_DAYS
    assert module.SENTENCE_AT.sub("", retention.consent_with_retention(text, until)) == text


def test_the_migration_gives_every_campaign_a_date_and_reads_it_out(
    backend,
    empty_database_url,  # noqa: F811 - the fixture
    tmp_path,
) -> None:
    import flask_migrate

    from tests.conftest import make_app

    app = make_app(backend, tmp_path, DATABASE_URL=empty_database_url)
    with app.app_context():
        flask_migrate.upgrade(revision="a1e5d7c3b9f2")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO campaigns (id, name, starts_on, ends_on, report_due, contest_url,"
                    " steps, categories, consent_version, count_outside, active, created_at)"
                    " VALUES (1, 'Đợt cũ', '2025-10-11', '2025-11-11', '2025-11-12', '', '[]',"
                    " '[]', 1, true, true, '2025-10-01 00:00:00'),"
                    " (2, 'Đợt có ngày', '2025-10-11', '2025-11-11', '2025-11-12', '', '[]',"
                    " '[]', 1, true, true, '2025-10-01 00:00:00')"
                )
            )
            conn.execute(
                sa.text("UPDATE campaigns SET retention_until = '2026-05-12' WHERE id = 2")
            )
            conn.execute(
                sa.text(
                    "INSERT INTO consent_texts (campaign_id, version, text, created_at) VALUES"
                    " (1, 1, 'Tôi đồng ý.', '2025-10-01 00:00:00'),"
                    " (2, 1, 'Tôi đồng ý.', '2025-10-01 00:00:00')"
                )
            )
        flask_migrate.upgrade()
        first, second = db.session.scalars(sa.select(Campaign).order_by(Campaign.id)).all()
        assert first.retention_until == date(2025, 12, 12)  # the report date + 30 days
        assert second.retention_until == date(2026, 5, 12)  # kept
        assert first.after_end == AFTER_END_COUNT_ONLY
        assert first.consent_version == 2 and first.consent(1).text == "Tôi đồng ý."
        assert first.consent().text == retention.consent_with_retention(
            "Tôi đồng ý.", date(2025, 12, 12)
        )
        assert "12/05/2026" in second.consent().text
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.text("UPDATE campaigns SET retention_until = NULL"))
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(PrivacyRequest.id))) == 0
        db.session.remove()
        db.engine.dispose()
