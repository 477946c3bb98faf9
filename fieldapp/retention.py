"""How long a campaign keeps residents' personal data, and what happens after its end.

Plain rules, no database (models.py uses them for its defaults, sync/contract.py for its answers):

- every campaign has a retention date (*ngày xóa thông tin cá nhân*); left empty on a form it
  is the report deadline + RETENTION_DAYS, and the consent wording read to the resident says
  it, word for word (consent_with_retention);
- after a campaign's last day, a new entry follows the campaign's AFTER_END rule: refused, or
  counted without any personal field.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from .text import fmt_date

# product.md: "after the campaign, purge personal fields while the counts stay". The data
# serves the report (due report_due) and the questions the Department asks about it; a month
# covers those, and keeping names longer serves no purpose the resident agreed to.
RETENTION_DAYS = 30

AFTER_END_REFUSE = "refuse"  # a new entry after the end is answered `invalid`
AFTER_END_COUNT_ONLY = "count_only"  # ... or stored and counted without personal fields
AFTER_END_RULES = {
    AFTER_END_COUNT_ONLY: "Vẫn nhận để tính số liệu, nhưng không lưu thông tin cá nhân",
    AFTER_END_REFUSE: "Không nhận lượt mới",
}

_SENTENCE = "Thông tin của tôi được lưu đến hết ngày {date}, sau đó sẽ bị xóa."
# Any earlier form of that sentence (another date), wherever it stands in the wording.
_SENTENCE_AT = re.compile(
    r"\s*Thông tin của tôi được lưu đến hết ngày \d{2}/\d{2}/\d{4}, sau đó sẽ bị xóa\."
)


def default_retention(report_due: date) -> date:
    """The retention date a campaign gets when none is given."""
    return report_due + timedelta(days=RETENTION_DAYS)


def retention_sentence(until: date) -> str:
    """The sentence of the consent wording that names the retention date."""
    return _SENTENCE.format(date=fmt_date(until))


def consent_with_retention(wording: str, until: date) -> str:
    """The wording as read out: the officer's text, its retention sentence (if any) replaced
    by the one for `until`, at its end. Idempotent."""
    base = _SENTENCE_AT.sub("", wording).strip()
    return f"{base} {retention_sentence(until)}".strip()


def consent_without_retention(wording: str) -> str:
    """The wording as the officer edits it: the sentence the app adds is left out."""
    return _SENTENCE_AT.sub("", wording).strip()


def after_end(rule: str, ends_on: date, day: date) -> str | None:
    """The rule that applies to a new entry made on `day`: None within the campaign's days
    (or before its start: the phone asks and the screens flag it), else the campaign's rule."""
    if day <= ends_on:
        return None
    return rule if rule in AFTER_END_RULES else AFTER_END_COUNT_ONLY


def refused_message(ends_on: date) -> str:
    """What a phone shows for a new entry refused after the campaign's end."""
    return f"Cuộc thi đã kết thúc ngày {fmt_date(ends_on)}: không nhận lượt mới."
