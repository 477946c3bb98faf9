"""One builder of synthetic wards, people and field records, for the tests and the benches.

tests/world.py (the small known ward), tests/tally_world.py (its known records) and
bench/synthetic.py with the benches that fill large made-up wards and cities all make their
campaigns, accounts, units and records here, so a column added to a model is added once.
The names are made up; no real people.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from fieldapp.extensions import db
from fieldapp.models import Assist, Campaign, ConsentText, Difficulty, Unit, User, Ward
from fieldapp.retention import consent_with_retention
from fieldapp.text import fold, local_today
from fieldapp.vocab import DEFAULT_CONSENT

CAMPAIGN_NAME = "Công dân số Hải Phòng – sử dụng thông minh, sống an toàn"
CONTEST_URL = "https://congdanso.example.vn/cuoc-thi"
STARTS_ON, ENDS_ON, REPORT_DUE = date(2025, 10, 11), date(2025, 11, 11), date(2025, 11, 12)
UNIT_NAMES = {
    "residential": "Khu dân cư số {}",
    "agency": "Cơ quan số {}",
    "school": "Trường số {}",
}

Record = TypeVar("Record", Assist, Difficulty)


def add_campaign(
    ward: Ward | None,
    *,
    name: str = CAMPAIGN_NAME,
    starts_on: date = STARTS_ON,
    ends_on: date = ENDS_ON,
    report_due: date = REPORT_DUE,
    contest_url: str = CONTEST_URL,
    kept: bool = True,
    consent: bool = True,
) -> Campaign:
    """A campaign of `ward`, or the city's (every ward takes part) when `ward` is None; flushed.

    `kept`: kept 180 days from the day the code runs (past retention_until, sync stores no
    personal field), else ten years (benches); `consent`: its first consent wording (version
    1) is added, naming the retention date as the campaign form's wording does.
    """
    campaign = Campaign(
        ward=ward,
        name=name,
        starts_on=starts_on,
        ends_on=ends_on,
        report_due=report_due,
        contest_url=contest_url,
        # Not `kept` (benches): a date years ahead, so nothing (sync, the purge before each
        # request) clears the synthetic names the figures are measured with.
        retention_until=local_today() + timedelta(days=180 if kept else 3650),
    )
    db.session.add(campaign)
    db.session.flush()
    if consent:
        # As the campaign form stores it: the wording read out names the retention date.
        wording = consent_with_retention(DEFAULT_CONSENT, campaign.retention_until)
        db.session.add(ConsentText(campaign_id=campaign.id, version=1, text=wording))
    return campaign


def add_user(
    username: str,
    role: str,
    ward: Ward | None,
    unit: Unit | None = None,
    name: str = "",
    password_hash: str | None = None,
) -> User:
    """An account (a ward's, or the city's with `ward` None), added to the session."""
    user = User(username=username, role=role, ward=ward, unit=unit)
    user.set_name(name or username)
    user.password_hash = password_hash
    db.session.add(user)
    return user


def unit_names(kinds: list[str], residential: str = UNIT_NAMES["residential"]) -> list[str]:
    """Numbered names for units of these kinds, each kind counted on its own ("… số 1")."""
    counters = dict.fromkeys(UNIT_NAMES, 0)
    names = []
    for kind in kinds:
        counters[kind] += 1
        label = residential if kind == "residential" else UNIT_NAMES[kind]
        names.append(label.format(counters[kind]))
    return names


def record_row(
    *,
    ward_id: int,
    campaign_id: int,
    unit_id: int,
    user_id: int,
    received_at: datetime,
    recorded_at: datetime | None = None,
    record_id: str | None = None,
    rev: int = 1,
    is_current: bool = True,
    voided: bool = False,
    **columns: Any,
) -> dict[str, Any]:
    """One revision of a field record (an assist or a difficulty) as a table row: where and by
    whom it was recorded, then `columns`, the kind's own. Recorded when received unless said."""
    return {
        "record_id": record_id or str(uuid.uuid4()),
        "rev": rev,
        "is_current": is_current,
        "ward_id": ward_id,
        "campaign_id": campaign_id,
        "unit_id": unit_id,
        "user_id": user_id,
        "recorded_at": recorded_at or received_at,
        "received_at": received_at,
        "voided": voided,
        **columns,
    }


def assist_row(
    *,
    full_name: str | None,
    steps: list[str],
    birth_year: int | None = None,
    phone: str | None = None,
    category: str = "elderly",
    attempts: int = 0,
    **record: Any,
) -> dict[str, Any]:
    """An assist's revision (record_row's arguments in `record`), consented under wording 1,
    as sync stores it."""
    return record_row(
        **record,
        full_name=full_name,
        name_key=fold(full_name) if full_name else None,
        birth_year=birth_year,
        phone=phone,
        category=category,
        steps=Assist.join_steps(steps),
        attempts=attempts,
        consent=True,
        consent_version=1,
    )


def difficulty_row(
    *, kind: str, text: str = "", resolved_at: datetime | None = None, **record: Any
) -> dict[str, Any]:
    """A difficulty's revision (record_row's arguments in `record`)."""
    return record_row(**record, kind=kind, text=text, resolved_at=resolved_at)


def add_revision(model: type[Record], row: dict[str, Any]) -> Record:
    """Add `row` as the next revision of its record (the first when the record is new): the
    earlier revisions stop being current. Flushed."""
    previous = db.session.query(model).filter_by(record_id=row["record_id"]).all()
    for old in previous:
        old.is_current = False
    db.session.flush()
    record = model(**{**row, "rev": len(previous) + 1, "is_current": True})
    db.session.add(record)
    db.session.flush()
    return record
