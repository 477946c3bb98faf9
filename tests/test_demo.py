"""The demo command: idempotent, and it creates what it promises."""

from __future__ import annotations

import sqlalchemy as sa

from fieldapp import commands
from fieldapp.extensions import db
from fieldapp.models import Assist, Campaign, ConsentText, Difficulty, Unit, User, Ward
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
    assert (campaign.starts_on.isoformat(), campaign.report_due.isoformat()) == (
        "2025-10-11",
        "2025-11-12",
    )
    assert campaign.consent().text == DEFAULT_CONSENT
    assert count(sa.select(ConsentText)) == 1 and count(sa.select(Campaign)) == 1

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

    records = count(sa.select(Assist.record_id).where(Assist.ward_id == ward.id).distinct())
    assert records >= 300
    current = db.session.execute(
        sa.select(Assist.record_id, sa.func.count())
        .where(Assist.is_current)
        .group_by(Assist.record_id)
    ).all()
    assert len(current) == count(sa.select(Assist.record_id).distinct())
    assert all(n == 1 for _, n in current)
    assert count(sa.select(Assist).where(Assist.rev == 2)) > 0  # a few corrections
    assert count(sa.select(Assist).where(Assist.voided, Assist.is_current)) > 0  # a few voided
    assert count(sa.select(Assist).where(~Assist.consent)) == 0
    for assist in db.session.scalars(sa.select(Assist).limit(50)):
        assert campaign.starts_on.isoformat() <= assist.recorded_at.date().isoformat()
        assert assist.received_at > assist.recorded_at
        assert assist.steps.startswith(",installed,")
    difficulties = db.session.scalars(
        sa.select(Difficulty).where(Difficulty.ward_id == ward.id)
    ).all()
    assert 8 <= len(difficulties) <= 12
    assert any(d.resolved_at for d in difficulties) and any(not d.resolved_at for d in difficulties)

    # The accounts sign in as printed.
    assert (
        client.post("/login", data={"username": "canbo", "password": "canbo123"}).status_code == 302
    )
    assert client.get("/admin/units").status_code == 200
    client.post("/logout")
    assert "so_khcn / matkhau123" in first.output and "canbo_anlac" in first.output
    client.post("/login", data={"username": "so_khcn", "password": "matkhau123"})
    city_home = client.get("/", follow_redirects=True)
    assert city_home.request.path == "/city/"
    assert "Xã An Lạc (demo)" in city_home.get_data(as_text=True)
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
