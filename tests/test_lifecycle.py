"""A campaign's life cycle: one rule (fieldapp/lifecycle.py), its sentences, and the phone's copy.

CASES are about fixed dates (the 2025 contest's own); tests/browser/test_lifecycle.py runs the
phone's static/js/lifecycle.js on the same cases, so the two copies of the rule cannot drift.
"""

from __future__ import annotations

from datetime import date

import pytest

from fieldapp import lifecycle

STARTS, ENDS, DUE = "2025-10-11", "2025-11-11", "2025-11-12"

# (starts, ends, due, today, phase, days_to_start, days_left, days_to_due)
CASES = [
    (STARTS, ENDS, DUE, "2025-10-01", "not_started", 10, 41, 42),
    (STARTS, ENDS, DUE, "2025-10-10", "not_started", 1, 32, 33),
    (STARTS, ENDS, DUE, "2025-10-11", "running", 0, 31, 32),
    (STARTS, ENDS, DUE, "2025-11-05", "running", -25, 6, 7),
    (STARTS, ENDS, DUE, "2025-11-11", "running", -31, 0, 1),
    (STARTS, ENDS, DUE, "2025-11-12", "report_due", -32, -1, 0),
    (STARTS, ENDS, "2025-11-20", "2025-11-13", "ended", -33, -2, 7),
    (STARTS, ENDS, DUE, "2025-11-13", "overdue", -33, -2, -1),
    (STARTS, ENDS, DUE, "2026-12-02", "overdue", -417, -386, -385),
    # a report due on the contest's last day: that day is still running, the next overdue
    (STARTS, ENDS, ENDS, "2025-11-11", "running", -31, 0, 0),
    (STARTS, ENDS, ENDS, "2025-11-12", "overdue", -32, -1, -1),
    # a one-day campaign
    ("2026-01-05", "2026-01-05", "2026-01-06", "2026-01-05", "running", 0, 0, 1),
]


def _life(starts: str, ends: str, due: str, today: str) -> lifecycle.Lifecycle:
    return lifecycle.lifecycle(*(date.fromisoformat(d) for d in (starts, ends, due, today)))


@pytest.mark.parametrize("case", CASES)
def test_the_phase_and_its_day_counts(case):
    starts, ends, due, today, phase, to_start, left, to_due = case
    life = _life(starts, ends, due, today)
    assert (life.phase, life.days_to_start, life.days_left, life.days_to_due) == (
        phase,
        to_start,
        left,
        to_due,
    )
    assert life.logging_open == (phase == "running")
    assert life.reports_open == (to_due >= 0)


@pytest.mark.parametrize(
    ("today", "text", "tone"),
    [
        ("2025-10-01", "Cuộc thi chưa bắt đầu: bắt đầu ngày 11/10/2025 (còn 10 ngày)", "ok"),
        ("2025-10-10", "Cuộc thi chưa bắt đầu: ngày mai (11/10/2025) bắt đầu", "ok"),
        (
            "2025-11-01",
            "Cuộc thi đang diễn ra: còn 10 ngày (đến hết ngày 11/11/2025) · hạn báo cáo 12/11/2025",
            "ok",
        ),
        (
            "2025-11-09",
            "Cuộc thi đang diễn ra: còn 2 ngày (đến hết ngày 11/11/2025) · hạn báo cáo 12/11/2025",
            "soon",
        ),
        (
            "2025-11-10",
            "Cuộc thi đang diễn ra: ngày mai (11/11/2025) là ngày cuối · hạn báo cáo 12/11/2025",
            "soon",
        ),
        (
            "2025-11-11",
            "Cuộc thi đang diễn ra: hôm nay (11/11/2025) là ngày cuối · hạn báo cáo 12/11/2025",
            "soon",
        ),
        (
            "2025-11-12",
            "Cuộc thi đã kết thúc ngày 11/11/2025 · hôm nay (12/11/2025) là hạn báo cáo",
            "soon",
        ),
        (
            "2026-12-02",
            "Cuộc thi đã kết thúc ngày 11/11/2025 · đã quá hạn báo cáo 385 ngày (hạn 12/11/2025)",
            "late",
        ),
    ],
)
def test_what_the_dashboards_say(today, text, tone):
    life = _life(STARTS, ENDS, DUE, today)
    assert (life.text, life.tone) == (text, tone)


def test_ended_with_the_report_still_ahead():
    life = _life(STARTS, ENDS, "2025-11-20", "2025-11-13")
    assert (
        life.text
        == "Cuộc thi đã kết thúc ngày 11/11/2025 · còn 7 ngày đến hạn báo cáo (20/11/2025)"
    )
    tomorrow = _life(STARTS, ENDS, "2025-11-14", "2025-11-13")
    assert (
        tomorrow.text
        == "Cuộc thi đã kết thúc ngày 11/11/2025 · ngày mai (14/11/2025) là hạn báo cáo"
    )


def test_a_report_due_on_the_last_day_says_so():
    life = _life(STARTS, ENDS, ENDS, "2025-11-11")
    assert life.text == (
        "Cuộc thi đang diễn ra: hôm nay (11/11/2025) là ngày cuối · hôm nay là hạn báo cáo"
    )
