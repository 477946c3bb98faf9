"""The Department's roll-up: each ward's line is that ward's own dashboard, the city their sum."""

from __future__ import annotations

import csv
import io
import uuid

import openpyxl
import pytest
import sqlalchemy as sa

from fieldapp.extensions import db
from fieldapp.models import AuditEvent, Target, Unit, UnitReport, Ward
from fieldapp.sync import contract
from fieldapp.tally import counts, rollup, store
from tests.city.test_views import assist_record, build_city, sign_in
from tests.reports.test_views import _figure


@pytest.fixture
def city(app):
    """Two wards of build_city(), with more records, targets, and a ward with nothing yet."""
    city = build_city()
    for key in ("A", "B"):
        unit = city.units[key]
        db.session.add(Target(unit_id=unit.id, campaign_id=city.campaign.id, value=40))
    db.session.add(Ward(name="Đặc khu Bạch Long Vĩ", code="BLV", kind="special_zone"))
    db.session.commit()
    # Ward A: two more residents, one of them with the phone of a resident of ward B too.
    shared_phone = "0912345678"
    records = [assist_record(city.units["A"].id, 1970 + i) for i in range(2)]
    records[0]["data"]["phone"] = shared_phone
    contract.sync_records(records, city.users["A_member"])
    other = assist_record(city.units["B"].id, 1980)
    other["data"]["phone"] = shared_phone
    contract.sync_records([other], city.users["B_member"])
    # A revision in ward B: the resident did not take the test after all.
    revised = assist_record(city.units["B"].id, 1960, rid=city.assists["B"], rev=2)
    revised["data"]["steps"] = ["installed"]
    revised["data"]["attempts"] = 0
    contract.sync_records([revised], city.users["B_member"])
    return city


def _wards(city) -> list[Ward]:
    return list(db.session.scalars(sa.select(Ward).order_by(Ward.id)))


def test_each_ward_line_is_that_wards_own_dashboard(client, city):
    figures = rollup.city_figures(city.campaign, _wards(city))
    lines = {line.ward.code: line for line in figures.wards}
    for key in ("A", "B"):
        line = lines[city.wards[key].code]
        sign_in(client, city.users[f"{key}_officer"])
        page = client.get("/reports/").text
        assert _figure(page, "Người hoàn thành bài thi") == str(line.completed)
        assert _figure(page, "Lượt thi") == str(line.attempts)
        assert _figure(page, "Người dân được Tổ CNSCĐ hỗ trợ") == str(line.counts.residents)
        assert _figure(page, "Lượt hỗ trợ") == str(line.counts.assists)
        assert _figure(page, "Đơn vị đã có số liệu") == f"{line.units_with_data} / {line.units}"
    a, b, empty = lines["HS01"], lines["AL02"], lines["BLV"]
    # Ward A: three residents, all tested, + its school's 7; ward B: two residents, one
    # tested now (the other's revision took the test back), + 7.
    assert (a.counts.residents, a.counts.tested, a.completed, a.target) == (3, 3, 10, 40)
    assert (b.counts.residents, b.counts.tested, b.completed, b.attempts) == (2, 1, 8, 1)
    assert not empty.has_data and empty.units == 0 and empty.progress is None


def test_the_city_is_the_sum_of_its_wards(city):
    figures = rollup.city_figures(city.campaign, _wards(city))
    total = figures.total_line()
    for attribute in ("completed", "attempts", "target", "units", "units_with_data"):
        assert getattr(total, attribute) == sum(getattr(w, attribute) for w in figures.wards)
    assert total.counts.residents == 5  # the shared phone counts once in each ward
    assert total.counts.assists == sum(w.counts.assists for w in figures.wards) == 5
    for step in city.campaign.step_keys:
        assert total.counts.steps[step] == sum(w.counts.steps[step] for w in figures.wards)
    assert figures.wards_reported == 2
    assert sum(c.assists for _, c in figures.days) == 5
    assert sum(c.residents for c in figures.categories.values()) == 5
    assert [(k.kind, k.open) for k in figures.difficulty_kinds] == [("other", 2)]
    # Each ward's stored figures equal tally/counts.py's definitions counted afresh.
    for ward in city.wards.values():
        ids = store.ward_unit_ids(ward.id)
        line = next(w for w in figures.wards if w.ward.id == ward.id)
        assert line.counts == counts.totals(city.campaign, ids)


def test_a_ward_marked_for_a_recount_is_counted_again_in_the_roll_up(city, monkeypatch):
    first = rollup.city_figures(city.campaign, _wards(city))
    assert first.as_of is None  # every record received is counted
    counted: list[int] = []
    real = store.rebuild

    def counting(campaign, ward_id):
        counted.append(ward_id)
        return real(campaign, ward_id)

    monkeypatch.setattr(store, "rebuild", counting)
    ward_ids = [w.id for w in _wards(city)]
    assert rollup.refresh_all(city.campaign, ward_ids) is None and counted == []
    store.forget([(city.campaign.id, city.wards["A"].id)])
    db.session.commit()
    assert rollup.refresh_all(city.campaign, ward_ids) is None
    assert counted == [city.wards["A"].id]
    again = rollup.city_figures(city.campaign, _wards(city))
    assert again.totals == first.totals


def _csv(response) -> list[list[str]]:
    assert response.data.startswith(b"\xef\xbb\xbf") and b"\r\n" in response.data
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))


def test_wards_csv_has_a_row_per_ward_and_a_total_that_is_their_sum(client, city):
    sign_in(client, city.users["city_admin"])
    rows = _csv(client.get("/city/reports/wards.csv"))
    header, wards, total = rows[0], rows[1:-1], rows[-1]
    # The city dashboard's order: natural Vietnamese order of the names (Đ after D).
    assert [r[1] for r in wards] == ["Đặc khu Bạch Long Vĩ", "Phường Hoa Sen", "Xã An Lạc"]
    assert total[1] == "Tổng cộng toàn thành phố"
    for column in range(3, len(header) - 1):
        if header[column].startswith("Tiến độ"):
            continue
        assert int(total[column]) == sum(int(r[column] or 0) for r in wards), header[column]
    assert wards[0][-1] == "Chưa có số liệu"
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "download")) == 1


def test_a_formula_looking_ward_name_is_neutralised(client, city):
    db.session.add(Ward(name="=HYPERLINK(1)", code="X1", kind="ward"))
    db.session.commit()
    sign_in(client, city.users["city_admin"])
    rows = _csv(client.get("/city/reports/wards.csv"))
    assert "'=HYPERLINK(1)" in [r[1] for r in rows]


def test_city_workbook_has_the_wards_days_and_difficulties(client, city):
    sign_in(client, city.users["city_admin"])
    response = client.get("/city/reports/city.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
    assert book.sheetnames == ["Phường, xã", "Theo ngày", "Khó khăn"]
    wards = list(book["Phường, xã"].values)
    assert [w[:2] for w in wards[1:-1]] == [
        ("BLV", "Đặc khu Bạch Long Vĩ"),
        ("HS01", "Phường Hoa Sen"),
        ("AL02", "Xã An Lạc"),
    ]
    assert wards[-1][1] == "Tổng cộng toàn thành phố"
    assert list(book["Khó khăn"].values)[1:] == [("Khác", 2, 0, 2), ("Tổng cộng", 2, 0, 2)]


def test_the_city_dashboard_shows_totals_wards_and_those_without_data(client, city):
    sign_in(client, city.users["city_admin"])
    page = client.get("/city/reports/").text
    assert _figure(page, "Người hoàn thành bài thi") == "18"
    assert _figure(page, "Phường, xã đã có số liệu") == "2 / 3"
    assert "Chưa có số liệu (1)" in page and "Đặc khu Bạch Long Vĩ" in page
    assert "Nguyễn Thị Hoa" not in page  # no resident's name on the Department's screens
    by_progress = client.get("/city/reports/?sort=progress&dir=desc").text
    assert by_progress.index("Phường Hoa Sen") < by_progress.index("Xã An Lạc")


def test_no_city_campaign_yet_says_so(client, app):
    from tests.world import add_user

    admin = add_user("so_khcn", "city_admin", None, name="Đinh Quỳnh")
    db.session.commit()
    sign_in(client, admin)
    assert "Chưa có Cuộc thi nào của thành phố" in client.get("/city/reports/").text
    assert client.get("/city/reports/wards.csv").status_code == 404


def test_a_unit_report_counts_in_its_wards_line(city):
    school = city.units["B_school"]
    report = db.session.scalar(sa.select(UnitReport).where(UnitReport.unit_id == school.id))
    report.completed = 30
    db.session.commit()
    lines = {w.ward.code: w for w in rollup.city_figures(city.campaign, _wards(city)).wards}
    assert lines["AL02"].reported_completed == 30
    assert db.session.get(Unit, school.id).ward_id == city.wards["B"].id


def test_a_record_synced_after_a_load_shows_on_the_next(client, city):
    sign_in(client, city.users["city_admin"])
    before = _figure(client.get("/city/reports/").text, "Lượt hỗ trợ")
    contract.sync_records(
        [assist_record(city.units["B"].id, 1990, rid=str(uuid.uuid4()))], city.users["B_member"]
    )
    assert int(_figure(client.get("/city/reports/").text, "Lượt hỗ trợ")) == int(before) + 1
