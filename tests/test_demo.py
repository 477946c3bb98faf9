"""The demo command: idempotent, alive on the day it is built, and it creates what it promises."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from fieldapp import commands, lifecycle
from fieldapp.extensions import db
from fieldapp.models import (
    Assist,
    Campaign,
    ConsentText,
    Difficulty,
    Participant,
    Unit,
    UnitReport,
    User,
    Ward,
)
from fieldapp.retention import consent_with_retention
from fieldapp.tally import counts, store
from fieldapp.text import local_today, utcnow
from fieldapp.vocab import DEFAULT_CONSENT


def count(query) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))


def test_demo_command_runs_twice_and_builds_the_promised_ward(runner, monkeypatch, client):
    # The test database is made by create_all; the command's migration step is not under test.
    monkeypatch.setattr(commands, "init_database", lambda: None)
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "http://127.0.0.1:5000/login" in first.output
    assert "canbo / canbo123" in first.output and "totruong1" in first.output
    assert "tv1a" in first.output and "coquan1" in first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert "đã có sẵn" in second.output

    ward, second = db.session.scalars(sa.select(Ward).order_by(Ward.id)).all()
    assert ward.name == "Phường Thành Đông (demo)" and ward.unit_label == "Tổ dân phố"
    assert (second.name, second.kind, second.unit_label) == ("Xã An Lạc (demo)", "commune", "Thôn")
    campaign = ward.current_campaign()
    # Both wards take part in the city's campaign, each with its own records.
    assert campaign.is_city and second.current_campaign() == campaign
    for one in (ward, second):
        ward_units = sa.select(Unit.id).where(Unit.ward_id == one.id)
        assert count(sa.select(Assist).where(Assist.ward_id == one.id)) > 0
        assert (
            count(
                sa.select(Assist).where(Assist.ward_id == one.id, ~Assist.unit_id.in_(ward_units))
            )
            == 0
        )
    # Alive on the day it is built: started five weeks ago, ends in six days, report after.
    today = local_today()
    assert (campaign.starts_on, campaign.ends_on, campaign.report_due) == (
        today - timedelta(weeks=5),
        today + timedelta(days=6),
        today + timedelta(days=8),
    )
    assert lifecycle.of(campaign, today).phase == "running"
    assert f"còn 6 ngày (đến hết ngày {campaign.ends_on:%d/%m/%Y})" in first.output
    # The 2025 contest, with its real dates, is the history: ended, personal data purged.
    history = db.session.scalar(sa.select(Campaign).where(Campaign.id != campaign.id))
    assert (history.starts_on, history.ends_on, history.report_due) == (
        date(2025, 10, 11),
        date(2025, 11, 11),
        date(2025, 11, 12),
    )
    assert history.is_city and lifecycle.of(history, today).phase == "overdue"
    old = sa.select(Assist).where(Assist.campaign_id == history.id)
    assert count(old) > 300 and count(old.where(Assist.full_name.is_not(None))) == 0
    assert counts.totals(history).residents > 300  # the counts stay
    # The wording read out names the campaign's retention date (fieldapp/retention.py).
    assert campaign.consent().text == consent_with_retention(
        DEFAULT_CONSENT, campaign.retention_until
    )
    assert count(sa.select(ConsentText)) == 2 and count(sa.select(Campaign)) == 2

    units = db.session.scalars(sa.select(Unit).where(Unit.ward_id == ward.id)).all()
    kinds = [u.kind for u in units]
    assert (kinds.count("residential"), kinds.count("agency"), kinds.count("school")) == (12, 2, 2)
    for unit in units:
        assert unit.target_for(campaign)
        if unit.is_residential:
            members = count(sa.select(User).where(User.unit_id == unit.id, User.role == "member"))
            heads = count(sa.select(User).where(User.unit_id == unit.id, User.role == "group_head"))
            assert members >= 2 and heads == 1
        else:
            assert count(sa.select(User).where(User.unit_id == unit.id, User.role == "reporter"))

    live = sa.select(Assist).where(Assist.ward_id == ward.id, Assist.campaign_id == campaign.id)
    records = count(live.with_only_columns(Assist.record_id).distinct())
    assert records >= 300
    current = db.session.execute(
        sa.select(Assist.record_id, sa.func.count())
        .where(Assist.is_current)
        .group_by(Assist.record_id)
    ).all()
    assert len(current) == count(sa.select(Assist.record_id).distinct())
    assert all(n == 1 for _, n in current)
    assert count(live.where(Assist.rev == 2)) > 0  # a few corrections
    assert count(live.where(Assist.voided, Assist.is_current)) > 0  # a few voided
    assert count(sa.select(Assist).where(~Assist.consent)) == 0
    # Spread over the past weeks, nothing received after the moment it was built.
    now = utcnow()
    days = {a.recorded_at.date() for a in db.session.scalars(live)}
    assert len({day.isocalendar()[:2] for day in days}) >= 5
    assert count(live.where(Assist.received_at > now)) == 0
    assert max(days) < today
    for assist in db.session.scalars(live.limit(50)):
        assert assist.received_at > assist.recorded_at
        assert assist.steps.startswith(",installed,")
    # Three entries logged two days before the contest opened: to review, counted by default.
    flagged, rows = counts.flagged_assists(campaign, store.ward_unit_ids(ward.id))
    assert flagged == 3 and all(r.flags == [counts.FLAG_OUTSIDE] for r in rows)
    assert counts.outside_count(campaign) == 3
    difficulties = db.session.scalars(
        sa.select(Difficulty).where(
            Difficulty.ward_id == ward.id, Difficulty.campaign_id == campaign.id
        )
    ).all()
    assert 8 <= len(difficulties) <= 12
    assert any(d.resolved_at for d in difficulties) and any(not d.resolved_at for d in difficulties)
    # One agency and one school have reported in the running campaign (the school with a
    # list); every unit had, in the ended one.
    reported = sa.select(UnitReport).join(Unit).where(Unit.ward_id == ward.id)
    assert count(reported.where(UnitReport.campaign_id == campaign.id)) == 2
    assert count(reported.where(UnitReport.campaign_id == history.id)) == 4
    assert count(sa.select(Participant).where(Participant.full_name.is_not(None))) == 12

    # The accounts sign in as printed, and each role's journey works today.
    assert (
        client.post("/login", data={"username": "canbo", "password": "canbo123"}).status_code == 302
    )
    assert client.get("/admin/units").status_code == 200
    dashboard = client.get("/reports/").get_data(as_text=True)
    assert 'data-phase="running"' in dashboard and "Giờ thiết bị không hợp lý: 3 lượt" in dashboard
    client.post("/logout")
    client.post("/login", data={"username": "totruong1", "password": "matkhau123"})
    assert "Cuộc thi đang diễn ra" in client.get("/unit").get_data(as_text=True)
    client.post("/logout")
    client.post("/login", data={"username": "coquan2", "password": "matkhau123"})
    page = client.get("/unit-report").get_data(as_text=True)
    assert "Lưu số liệu" in page and "chỉ để xem" not in page
    saved = client.post("/unit-report", data={"completed": "18", "attempts": "20"})
    assert saved.status_code == 302
    client.post("/logout")
    client.post("/login", data={"username": "truong1", "password": "matkhau123"})
    page = client.get("/unit-report").get_data(as_text=True)
    assert "Tải danh sách lên" in page and "Đã lưu danh sách <strong>12</strong> người" in page
    client.post("/logout")
    assert "so_khcn / matkhau123" in first.output and "canbo_anlac" in first.output
    client.post("/login", data={"username": "so_khcn", "password": "matkhau123"})
    city_home = client.get("/", follow_redirects=True)
    assert city_home.request.path == "/city/"
    assert "Xã An Lạc (demo)" in city_home.get_data(as_text=True)
    city = client.get("/city/reports/").get_data(as_text=True)
    assert 'data-phase="running"' in city and "(2025)" in city  # the history is offered
    closed = client.get(f"/city/reports/?campaign_id={history.id}").get_data(as_text=True)
    assert 'data-phase="overdue"' in closed and "Cuộc thi đã kết thúc ngày 11/11/2025" in closed
    client.post("/logout")
    client.post("/login", data={"username": "canbo_anlac", "password": "matkhau123"})
    assert "Xã An Lạc (demo)" in client.get("/admin/", follow_redirects=True).get_data(as_text=True)


def test_demo_is_reproducible(app, backend):
    from fieldapp.demo import build_demo
    from tests.conftest import _postgres_reset

    def snapshot():
        build_demo()
        return db.session.execute(
            sa.select(Assist.full_name, Assist.category, Assist.steps, Assist.recorded_at).order_by(
                Assist.id
            )
        ).all()

    first = snapshot()
    db.session.remove()
    if backend == "postgres":
        _postgres_reset(db.engine)
    else:
        db.drop_all()
        db.create_all()
    assert snapshot() == first
