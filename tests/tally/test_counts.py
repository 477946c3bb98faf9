"""The tally's counting rules, asserted on a known ward without HTTP."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from fieldapp import lifecycle
from fieldapp.extensions import db
from fieldapp.models import Assist, Campaign, TallyPending
from fieldapp.sync import contract
from fieldapp.tally import counts
from fieldapp.text import local_today, resident_key_for, utcnow
from tests.tally_world import EXPECTED, FORMULA_NAME, add_assist, build_records


@pytest.fixture
def ward(world):
    return build_records(world)


def _flat(c: counts.Counts) -> dict[str, int]:
    return {
        "assists": c.assists,
        "residents": c.residents,
        "attempts": c.attempts,
        **c.steps,
    }


def test_units_count_current_unvoided_revisions_only(ward):
    per_unit = counts.by_unit(ward.campaign)
    assert _flat(per_unit[ward.units["kdc1"].id]) == EXPECTED["kdc1"]
    assert _flat(per_unit[ward.units["kdc2"].id]) == EXPECTED["kdc2"]
    assert ward.units["agency"].id not in per_unit


def test_ward_residents_are_counted_ward_wide_not_summed(ward):
    ward_counts = counts.totals(ward.campaign)
    assert _flat(ward_counts) == EXPECTED["ward"]
    per_unit = counts.by_unit(ward.campaign)
    # One phone helped in two units: once in each unit, once for the ward.
    assert sum(c.residents for c in per_unit.values()) == ward_counts.residents + 1
    assert sum(c.tested for c in per_unit.values()) == ward_counts.tested + 1
    # Assists and attempts add up exactly.
    assert sum(c.assists for c in per_unit.values()) == ward_counts.assists
    assert sum(c.attempts for c in per_unit.values()) == ward_counts.attempts


def test_other_wards_campaign_is_not_counted(ward):
    add_assist(
        ward,
        "kdc1",
        "member",
        name="Hà Văn Khoa",
        steps=["installed"],
        received=datetime(2025, 10, 20, 2, 0),
    )
    db.session.commit()
    assert counts.totals(ward.other_campaign).assists == 0


def test_categories_split_residents(ward):
    cats = counts.by_category(ward.campaign)
    assert list(cats) == ["elderly", "household_business", "small_trader", "other"]
    assert {k: c.residents for k, c in cats.items()} == {
        "elderly": 2,  # Hoa (three assists, two units, one phone) and Én
        "household_business": 2,  # Bình in kdc1 and Bình in kdc2 (no phone)
        "small_trader": 1,
        "other": 1,
    }
    assert cats["elderly"].tested == 1


def test_days_are_local_and_bounded_by_the_campaigns_window(ward):
    days = counts.by_day(ward.campaign)
    # Every day of the window (11/10–11/11/2025), not the days up to today.
    assert [d for d, _ in days] == [date(2025, 10, 11) + timedelta(n) for n in range(32)]
    found = {d: c.assists for d, c in days if c.assists}
    assert found == {
        date(2025, 10, 20): 1,
        date(2025, 10, 21): 1,  # 16:30 UTC = 23:30 local, still the 21st
        date(2025, 10, 22): 2,  # 17:30 UTC on the 21st = 00:30 local on the 22nd
        date(2025, 10, 23): 2,
        date(2025, 10, 25): 3,
    }


def _campaign(starts_on: date, ends_on: date) -> Campaign:
    return Campaign(
        name="Đợt thử",
        starts_on=starts_on,
        ends_on=ends_on,
        report_due=ends_on + timedelta(1),
        steps=[{"key": "installed", "label": "Cài đặt"}],
    )


def _days(*pairs: tuple[date, int]) -> dict[date, counts.Counts]:
    return {d: counts.Counts(assists=n, residents=n, attempts=1, steps={}) for d, n in pairs}


def test_a_running_campaign_lists_its_days_up_to_today():
    today = local_today()
    campaign = _campaign(today - timedelta(10), today + timedelta(10))
    days = counts.every_day(campaign, _days((today - timedelta(3), 4)))
    assert [d for d, _ in days] == [today - timedelta(n) for n in range(10, -1, -1)]
    assert sum(c.assists for _, c in days) == 4
    assert counts.every_day(campaign, {}) == []  # nothing yet: no list of zeros


def test_days_outside_the_window_are_listed_flagged_and_never_padded():
    today = local_today()
    campaign = _campaign(today - timedelta(40), today - timedelta(30))
    early, late = today - timedelta(45), today - timedelta(2)
    days = counts.every_day(campaign, _days((early, 1), (today - timedelta(35), 2), (late, 3)))
    assert len(days) == 1 + 11 + 1  # the window's 11 days, and only the two days with entries
    assert days[0][0] == early and days[-1][0] == late
    series = counts.series(campaign, days)
    assert [p.outside for p in series.periods] == [True] + [False] * 11 + [True]
    assert series.outside_assists == 4
    assert not series.weekly and series.periods[1].counts.assists == 0


def test_the_year_is_shown_when_the_window_crosses_years():
    year = local_today().year
    crossing = _campaign(date(year - 1, 12, 20), date(year, 1, 10))
    found = _days((date(year - 1, 12, 31), 1), (date(year, 1, 2), 1))
    labels = [p.label for p in counts.series(crossing, counts.every_day(crossing, found)).periods]
    assert labels[0] == f"20/12/{year - 1}" and labels[-1] == f"10/01/{year}"
    within = _campaign(date(year - 1, 10, 11), date(year - 1, 11, 11))
    series = counts.series(within, counts.every_day(within, _days((date(year - 1, 10, 12), 1))))
    assert series.periods[0].label == "11/10"


def test_a_long_window_is_shown_by_week():
    today = local_today()
    campaign = _campaign(today - timedelta(100), today + timedelta(20))
    found = _days(*[(today - timedelta(n), 1) for n in range(0, 100, 3)])
    series = counts.series(campaign, counts.every_day(campaign, found))
    assert series.weekly
    weeks = series.periods
    assert weeks[0].first == campaign.starts_on  # the first week clipped to the window
    assert all(w.first.weekday() == 0 for w in weeks[1:])  # then Monday to Sunday
    assert all((w.last - w.first).days <= 6 for w in weeks)
    assert "–" in weeks[1].label and weeks[1].counts is None  # residents are not summed
    assert sum(w.assists for w in weeks) == len(found)
    assert len(weeks) <= 16


def test_natural_vietnamese_order():
    names = ["Tổ 10", "Trường THCS", "Tổ 2", "Đông Hải", "Dư Hàng", "Én", "Trạm Y tế", "Ăn", "An"]
    assert sorted(names, key=counts.natural_key) == [
        "An", "Ăn", "Dư Hàng", "Đông Hải", "Én", "Tổ 2", "Tổ 10", "Trạm Y tế", "Trường THCS",
    ]  # fmt: skip
    # ô before r (the alphabet: ... o ô ơ p q r ...); then the tones, in dictionary order.
    tones = ["Mạ", "Má", "Mã", "Mả", "Mà", "Ma"]
    assert sorted(tones, key=counts.natural_key) == ["Ma", "Mà", "Mả", "Mã", "Má", "Mạ"]


def test_unit_rows_join_targets_reports_and_difficulties(ward):
    units = [u for k, u in ward.units.items() if k != "other1"]
    rows = {r.unit.name: r for r in counts.unit_rows(ward.campaign, units)}
    kdc1 = rows["Khu dân cư số 1"]
    assert (kdc1.target, kdc1.completed, kdc1.progress) == (100, 1, 1.0)
    assert (kdc1.difficulties_open, kdc1.difficulties_resolved) == (1, 1)
    assert kdc1.categories == {"elderly": 2, "household_business": 1, "small_trader": 1}
    school = rows["Trường THCS Thành Đông"]
    assert (school.completed, school.attempts, school.participants) == (320, 400, 3)
    assert school.progress == 64.0
    assert rows["Trạm Y tế phường"].completed == 25
    kdc2 = rows["Khu dân cư số 2"]
    assert (kdc2.difficulties_open, kdc2.difficulties_resolved) == (1, 0)  # voided one left out


def test_unit_without_anything_is_marked_empty(ward):
    from fieldapp.models import Unit

    empty = Unit(ward_id=ward.ward.id, kind="organisation", name="Hội Phụ nữ phường")
    db.session.add(empty)
    db.session.commit()
    units = [u for k, u in ward.units.items() if k != "other1"]
    rows = counts.unit_rows(ward.campaign, [*units, empty])
    by_name = {r.unit.name: r for r in rows}
    assert by_name["Hội Phụ nữ phường"].has_data is False
    assert by_name["Hội Phụ nữ phường"].progress is None
    assert by_name["Trạm Y tế phường"].has_data is True


def test_ward_summary_adds_reports_to_ward_wide_log_figures(ward):
    units = [u for k, u in ward.units.items() if k != "other1"]
    rows = counts.unit_rows(ward.campaign, units)
    summary = counts.ward_summary(ward.campaign, rows)
    assert summary.completed == EXPECTED["completed"]
    assert summary.attempts == EXPECTED["attempts"]
    assert summary.target == EXPECTED["target"]
    assert summary.progress == round(100 * 346 / 710, 1) == 48.7
    assert (summary.units, summary.units_with_data) == (4, 4)


def test_by_kind_folds_units_for_the_printed_report(ward):
    units = [u for k, u in ward.units.items() if k != "other1"]
    kinds = {
        k.kind: k for k in counts.by_kind(ward.campaign, counts.unit_rows(ward.campaign, units))
    }
    assert kinds["residential"].counts.residents == 6
    assert kinds["residential"].completed == 1
    assert kinds["school"].pupils == 300 and kinds["school"].teachers == 20
    assert kinds["agency"].completed == 25


def test_sorting_by_progress_keeps_units_without_target_last(ward):
    from fieldapp.models import Unit

    empty = Unit(ward_id=ward.ward.id, kind="organisation", name="Hội Cựu chiến binh")
    db.session.add(empty)
    db.session.commit()
    units = [u for k, u in ward.units.items() if k != "other1"] + [empty]
    rows = counts.unit_rows(ward.campaign, units)
    up = [r.unit.name for r in counts.sort_rows(rows, "progress")]
    down = [r.unit.name for r in counts.sort_rows(rows, "progress", descending=True)]
    assert up[0] == "Khu dân cư số 1" and up[-1] == "Hội Cựu chiến binh"
    assert down[0] == "Trạm Y tế phường" and down[-1] == "Hội Cựu chiến binh"


def test_difficulties_by_kind_open_and_resolved(ward):
    kinds = {k.kind: (k.open, k.resolved) for k in counts.difficulties_by_kind(ward.campaign)}
    # the revised one counts under its current kind; the voided one not at all
    assert kinds == {"otp_not_received": (1, 0), "forgot_password": (0, 1), "no_internet": (1, 0)}
    assert len(counts.open_difficulties(ward.campaign)) == 2


def test_members_activity_lists_idle_members_too(ward):
    activity = {m.name: m for m in counts.member_activity(ward.campaign, ward.units["kdc1"].id)}
    assert activity["Lê Thị Mai"].assists == 3  # A1, A3, A6 (A5 is voided)
    assert activity["Đỗ Văn Nam"].assists == 3  # A2, A4, A7
    assert activity["Lê Thị Mai"].tested == 1
    assert activity["Phạm Văn Hùng"].assists == 0  # the group head, no entries yet
    assert activity["Đỗ Văn Nam"].last_received_at == datetime(2025, 10, 23, 3, 0)


def test_follow_ups_are_registered_but_not_tested(ward):
    kdc1 = counts.follow_ups(ward.campaign, [ward.units["kdc1"].id])
    assert [(f.full_name, f.birth_year) for f in kdc1] == [("Trần Văn Bình", 1948)]
    # Hoa registered in kdc1 and tested there too: not to follow up.
    ward_wide = counts.follow_ups(ward.campaign, [ward.units["kdc2"].id])
    assert [f.full_name for f in ward_wide] == ["Trần Văn Bình"]


def test_clock_flags(ward):
    total, flagged = counts.flagged_assists(ward.campaign)
    assert total == 2
    by_name = {a.full_name: a.flags for a in flagged}
    assert by_name[FORMULA_NAME] == [counts.FLAG_FUTURE]
    assert by_name["Đặng Thị Én"] == [counts.FLAG_OUTSIDE]


def test_small_clock_skew_is_not_flagged(ward):
    c = ward.campaign
    received = datetime(2025, 10, 20, 2, 0)
    assert counts.record_flags(datetime(2025, 10, 20, 2, 9), received, c) == []
    assert counts.record_flags(datetime(2025, 10, 20, 2, 11), received, c) == [counts.FLAG_FUTURE]
    # 23:30 local on the last day is inside; 00:30 local the next day is outside
    assert counts.record_flags(datetime(2025, 11, 11, 16, 30), datetime(2025, 11, 11, 17), c) == []
    late = counts.record_flags(datetime(2025, 11, 11, 17, 30), datetime(2025, 11, 11, 18), c)
    assert late == [counts.FLAG_OUTSIDE]


def test_likely_duplicates_share_name_and_birth_year_but_not_a_key(ward):
    total, groups = counts.likely_duplicates(ward.campaign)
    assert total == 1
    assert [(g.name, g.birth_year, len(g.assists)) for g in groups] == [("Trần Văn Bình", 1948, 3)]
    assert groups[0].units == sorted([ward.units["kdc1"].id, ward.units["kdc2"].id])


def test_deadline_is_open_until_the_end_of_its_day(ward):
    c = ward.campaign
    assert lifecycle.of(c, date(2025, 11, 12)).reports_open is True
    assert lifecycle.of(c, date(2025, 11, 13)).reports_open is False
    assert lifecycle.of(c, date(2025, 11, 10)).days_to_due == 2
    assert counts.progress(1, None) is None and counts.progress(3, 8) == 37.5


def test_a_phone_and_no_phone_with_the_same_name_is_a_likely_duplicate(ward):
    add_assist(
        ward,
        "kdc1",
        "member",
        name="Đặng Thị Én",
        birth_year=1960,
        phone="0355000111",
        steps=["installed"],
        received=datetime(2025, 10, 26, 2, 0),
    )
    db.session.commit()
    total, groups = counts.likely_duplicates(ward.campaign)
    assert total == 2
    assert sorted(g.name for g in groups) == ["Trần Văn Bình", "Đặng Thị Én"]
    assert counts.likely_duplicates(ward.campaign, limit=1)[0] == 2
    assert len(counts.likely_duplicates(ward.campaign, limit=1)[1]) == 1


def _queued() -> set[str | None]:
    """The residents the triggers on assists queued for the stored figures, then cleared."""
    keys = set(db.session.scalars(sa.select(TallyPending.resident_key)))
    db.session.execute(sa.delete(TallyPending))
    db.session.commit()
    return keys


def test_every_change_to_assists_queues_its_residents_for_the_figures(ward):
    _queued()
    hau = add_assist(
        ward,
        "kdc2",
        "member3",
        name="Tô Văn Hậu",
        steps=["installed"],
        received=datetime(2025, 10, 26, 2, 0),
    )
    db.session.commit()
    assert _queued() == {hau.resident_key}
    en = db.session.query(Assist).filter_by(full_name="Đặng Thị Én").one()
    void = add_assist(  # a void: the old revision unmarked, the new one inserted
        ward,
        "kdc1",
        "member2",
        name="Đặng Thị Én",
        steps=["installed"],
        voided=True,
        record_id=en.record_id,
        received=datetime(2025, 10, 26, 2, 0),
    )
    db.session.commit()
    assert _queued() == {en.resident_key, void.resident_key}
    old = set(
        db.session.scalars(sa.select(Assist.resident_key).filter_by(name_key="tran van binh"))
    )
    db.session.execute(
        sa.update(Assist).filter_by(name_key="tran van binh").values(resident_key="x" * 32)
    )
    db.session.commit()
    assert _queued() == old | {"x" * 32}  # the residents they left and the one they joined
    db.session.execute(sa.delete(Assist).filter_by(resident_key="x" * 32))
    db.session.commit()
    assert _queued() == {"x" * 32}
    assert _queued() == set()  # nothing changed, nothing queued


def _erase(**where) -> None:
    db.session.execute(
        sa.update(Assist)
        .filter_by(**where)
        .values(full_name=None, name_key=None, birth_year=None, phone=None, erased_at=utcnow())
    )
    db.session.commit()


def test_resident_key_is_one_rule_and_pseudonymous(app):  # the app holds the key secret
    phone = resident_key_for("0912345678", "nguyen thi hoa", 1950, 1, "r1")
    assert phone == resident_key_for("0912345678", "khac", None, 2, "r2")  # the phone decides
    assert len(phone) == 32 and "0912345678" not in phone
    by_name = resident_key_for(None, "tran van binh", 1948, 1, "r3")
    assert by_name == resident_key_for(None, "tran van binh", 1948, 1, "r4")
    assert by_name != resident_key_for(None, "tran van binh", 1948, 2, "r3")  # another unit
    assert by_name != resident_key_for(None, "tran van binh", None, 1, "r3")
    assert resident_key_for(None, None, None, 1, "r5") != resident_key_for(
        None, None, None, 1, "r6"
    )


def test_every_stored_assist_has_the_key_of_its_fields(ward):
    for row in db.session.scalars(sa.select(Assist)):
        expected = resident_key_for(
            row.phone, row.name_key, row.birth_year, row.unit_id, row.record_id
        )
        assert row.resident_key == expected


def test_erasing_names_and_phones_keeps_every_count(ward):
    before = (
        _flat(counts.totals(ward.campaign)),
        {k: _flat(c) for k, c in counts.by_unit(ward.campaign).items()},
        {k: _flat(c) for k, c in counts.by_category(ward.campaign).items()},
    )
    _erase(campaign_id=ward.campaign.id)
    after = (
        _flat(counts.totals(ward.campaign)),
        {k: _flat(c) for k, c in counts.by_unit(ward.campaign).items()},
        {k: _flat(c) for k, c in counts.by_category(ward.campaign).items()},
    )
    assert after == before
    assert counts.likely_duplicates(ward.campaign) == (0, [])  # no names left to compare


def test_a_revision_of_an_erased_record_is_still_the_same_resident(ward):
    body = {
        "full_name": "Phan Thị Lụa",
        "birth_year": 1957,
        "phone": "0911 222 333",
        "unit_id": ward.units["kdc1"].id,
        "category": "elderly",
        "steps": ["installed"],
        "consent": True,
    }
    record = {"id": "6f1de7a2-3c1b-4f7e-9a55-0b6f0f0c1a11", "rev": 1, "type": "assist"}
    record |= {"recorded_at": "2025-10-20T09:14:03+07:00", "voided": False, "data": body}
    contract.sync_records([record], ward.users["member"])
    key = db.session.scalar(sa.select(Assist.resident_key).filter_by(record_id=record["id"]))
    _erase(record_id=record["id"])
    later = {**record, "rev": 2, "data": {**body, "steps": ["installed", "registered"]}}
    assert contract.sync_records([later], ward.users["member"])["results"][0]["status"] == "stored"
    current = db.session.scalars(
        sa.select(Assist).filter_by(record_id=record["id"], is_current=True)
    ).one()
    assert current.phone is None and current.resident_key == key


# --- entries outside the campaign's days: the campaign's rule ---------------------------------


def test_entries_outside_the_days_count_unless_the_campaign_leaves_them_out(ward):
    campaign, kdc1 = ward.campaign, ward.units["kdc1"].id
    assert campaign.count_outside  # the default: every entry counts, flagged for review
    assert _flat(counts.totals(campaign)) == EXPECTED["ward"]
    assert counts.outside_count(campaign) == 1  # Én, logged in September
    assert "vẫn được tính" in counts.outside_rule_text(campaign)

    campaign.count_outside = False
    db.session.commit()
    without_en = {**EXPECTED["ward"], "assists": 8, "residents": 5, "installed": 5}
    assert _flat(counts.totals(campaign)) == without_en
    assert counts.by_unit(campaign)[kdc1].assists == EXPECTED["kdc1"]["assists"] - 1
    assert "elderly" in counts.by_category(campaign)  # Hoa is still there
    assert counts.by_category(campaign)["elderly"].residents == 1
    assert counts.outside_count(campaign) == 1  # still there, no longer counted
    assert counts.outside_rule_text(campaign) == (
        "Các lượt ghi ngoài thời gian Cuộc thi (11/10/2025–11/11/2025) không được tính vào số liệu."
    )
    # The officer still sees it among the records to review.
    total, flagged = counts.flagged_assists(campaign)
    assert total == 2 and "Đặng Thị Én" in [a.full_name for a in flagged]


def test_the_rule_is_the_same_given_the_campaign_or_its_id(ward):
    # tally_store passes the campaign's id: the condition must not get lost on the way.
    campaign = ward.campaign
    campaign.count_outside = False
    db.session.commit()

    def ids(conditions):
        return set(db.session.scalars(sa.select(Assist.record_id).where(*conditions)))

    by_object, by_id = (
        ids(counts.current_assists(campaign)),
        ids(counts.current_assists(campaign.id)),
    )
    assert by_object == by_id and len(by_id) == EXPECTED["ward"]["assists"] - 1
