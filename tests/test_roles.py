"""Who may open what: every route of the app × every role, and a check that none is missed.

To cover a new route, append a Case to TABLE (URL placeholders are filled from `ids` below).
Expected outcomes per role:
  an int      exact status code
  LOGIN       302 to /login (a page asked for by someone not signed in)
  ALLOWED     the view ran: not a login redirect, not 401/403/404/405/500 (for routes whose
              success answer belongs to another module's tests)
Wrong role → 403 and a "denied" audit event; another ward's row → 404 and a "denied" event.
"""

from __future__ import annotations

import uuid
from typing import NamedTuple

import pytest
import sqlalchemy as sa

from fieldapp.extensions import db
from fieldapp.field.enrol import issue_code
from fieldapp.models import AuditEvent, Device, Difficulty
from fieldapp.text import utcnow
from tests.builder import add_campaign
from tests.conftest import sign_in_directly

LOGIN = "login"
ALLOWED = "allowed"
ROLES = (
    "anonymous",
    "officer",
    "group_head",
    "member",
    "reporter",
    "other_officer",
    "city_admin",
)
# Role name in this table -> key of tests.world.World.users.
WORLD_USER = {
    "officer": "officer",
    "group_head": "head",
    "member": "member",
    "reporter": "reporter",
    "other_officer": "other_officer",
    "city_admin": "city_admin",
}

# Routes that need no role: open to everyone, or authenticated by a Bearer token and
# tested in tests/sync/test_api.py. Matched against the rule string.
PUBLIC = {
    "/",
    "/login",
    "/healthz",
    "/sw.js",
    "/manifest.webmanifest",
    "/app",
    "/app/v/<version>/<path:filename>",  # the app shell's versioned assets
    "/e/<path:code>",
    "/static/<path:filename>",
}
PUBLIC_PREFIXES = ("/api/v1/",)


class Case(NamedTuple):
    method: str
    url: str
    expect: dict[str, int | str]


def allow(
    *roles: str, ok: int | str = ALLOWED, row: bool = False, anonymous: int | str = LOGIN
) -> dict[str, int | str]:
    """Expected outcomes: `roles` get `ok`, other roles 403, anonymous a login redirect.

    `row=True`: the URL names one row of ward A, so ward B's officer gets 404.
    """
    expect: dict[str, int | str] = {role: 403 for role in ROLES}
    expect["anonymous"] = anonymous
    for role in roles:
        expect[role] = ok
    if "officer" in roles:
        expect["other_officer"] = 404 if row else ok
    return expect


def officer(ok: int | str = 200, row: bool = False) -> dict[str, int | str]:
    return allow("officer", ok=ok, row=row)


SIGNED_IN = ("officer", "group_head", "member", "reporter", "other_officer", "city_admin")


def city(ok: int | str = 200) -> dict[str, int | str]:
    """The city administrator's screens: nobody of a ward may open them."""
    return allow("city_admin", ok=ok)


TABLE: list[Case] = [
    # --- sign-out
    Case("POST", "/logout", {role: LOGIN for role in ROLES}),
    # --- admin (the officer's setup screens)
    Case("GET", "/admin/", officer()),
    Case("GET", "/admin/campaign", officer()),
    Case("POST", "/admin/campaign", officer()),  # an incomplete form is shown again
    Case("GET", "/admin/campaign/new", officer()),
    Case("POST", "/admin/campaign/new", officer()),
    Case("GET", "/admin/units", officer()),
    Case("GET", "/admin/units/new", officer()),
    Case("POST", "/admin/units/new", officer()),
    Case("GET", "/admin/units/import", officer()),
    Case("POST", "/admin/units/import", officer()),
    Case("GET", "/admin/units/sample.csv", officer()),
    Case("GET", "/admin/units/{unit}", officer(row=True)),
    Case("POST", "/admin/units/{unit}", officer(ALLOWED, row=True)),
    Case("GET", "/admin/people", officer()),
    Case("GET", "/admin/people/new", officer()),
    Case("GET", "/admin/people/import", officer()),  # the roster (tests/admin/test_roster.py)
    Case("POST", "/admin/people/import", officer()),  # no file: said so, nothing changes
    Case("GET", "/admin/people/sample.csv", officer()),
    Case("POST", "/admin/people/new", officer()),
    Case("GET", "/admin/people/{person}", officer(row=True)),
    Case("POST", "/admin/people/{person}", officer(ALLOWED, row=True)),
    Case("POST", "/admin/people/{person}/password", officer(row=True)),
    Case("POST", "/admin/people/{person}/sessions/end", officer(302, row=True)),
    Case("POST", "/admin/people/{person}/disable", officer(302, row=True)),
    Case("POST", "/admin/people/{person}/enable", officer(302, row=True)),
    Case("GET", "/admin/devices", officer()),
    Case("GET", "/admin/devices/{device}/revoke", officer(row=True)),
    Case("POST", "/admin/devices/{device}/revoke", officer(302, row=True)),
    # --- the member's app
    Case("GET", "/app/enrol-signed-in", allow("member", "group_head")),
    # --- reports
    Case("GET", "/unit", allow("group_head", "officer")),
    # The progress card (tests/reports/test_card.py): the group head's own, any of the officer's.
    Case(
        "GET",
        "/unit/card.png",
        {**allow("group_head", ok=200), "officer": 404, "other_officer": 404},
    ),
    Case("GET", "/unit/card.png?unit_id={unit}", allow("group_head", "officer", ok=200, row=True)),
    Case("GET", "/reports/card.png", officer()),
    Case("GET", "/unit-report", allow("reporter")),
    Case("POST", "/unit-report", allow("reporter")),
    Case("POST", "/unit-report/participants", allow("reporter")),
    Case("POST", "/unit-report/participants/confirm", allow("reporter")),
    Case("POST", "/unit-report/participants/delete", allow("reporter")),
    Case("GET", "/reports/", allow("officer")),
    Case("GET", "/reports/print", allow("officer")),
    Case("POST", "/reports/difficulties/{difficulty}/resolve", allow("officer", row=True)),
    Case("GET", "/reports/units.csv", allow("officer", "group_head")),
    Case("GET", "/reports/assists.csv", allow("officer", "group_head")),
    Case("GET", "/reports/difficulties.csv", allow("officer", "group_head")),
    Case("GET", "/reports/ward.xlsx", allow("officer", "group_head")),
    # --- QR codes (tests/qr/test_codes.py): codes and sheets for the officer; posters for the
    # officer and the unit's own group head or reporter ({unit} is a residential unit).
    Case("GET", "/qr/", allow("officer", "group_head", "reporter", ok=200)),
    Case("POST", "/qr/people/{person}/issue", officer(row=True)),
    Case("POST", "/qr/units/{unit}/sheet", officer(row=True)),
    Case("POST", "/qr/people/sheets", officer(302)),  # nobody named: back to /qr/ with a word
    Case("POST", "/qr/codes/{code}/cancel", officer(302, row=True)),  # an unused code
    Case(
        "GET",
        "/qr/poster/{unit}",
        {**allow("officer", "group_head", ok=200, row=True), "reporter": 404},
    ),
    Case("GET", "/qr/contest.png", allow("officer", "group_head", "reporter", ok=200)),
    Case("GET", "/qr/contest.svg", allow("officer", "group_head", "reporter", ok=200)),
    # --- privacy (tests/privacy/test_erasure.py): find and erase one resident, officer only. A post
    # without a resident goes back to the search with a message.
    Case("GET", "/privacy/", officer()),
    Case("POST", "/privacy/", officer()),  # the search (a POST: the query is in no URL)
    Case("POST", "/privacy/erase", officer(302)),
    Case("POST", "/privacy/export", officer(302)),  # a copy for the resident (none posted: back)
    Case("POST", "/privacy/requests", officer(400)),  # a request registered (empty: the form)
    Case("POST", "/privacy/requests/1/done", officer(302)),  # none open: back with a message
    # --- the city administrator (tests/city/test_views.py): wards, their officers, city campaigns.
    # An incomplete form is shown again (200). {ward} is ward A; {city_campaign} the city's.
    Case("GET", "/city/", city()),
    Case("GET", "/city/wards/new", city()),
    Case("POST", "/city/wards/new", city()),
    Case("GET", "/city/wards/{ward}", city()),
    Case("POST", "/city/wards/{ward}", city(ALLOWED)),
    Case("GET", "/city/wards/{ward}/officers/new", city()),
    Case("POST", "/city/wards/{ward}/officers/new", city()),
    Case("GET", "/city/wards/import", city()),
    Case("POST", "/city/wards/import", city()),
    Case("GET", "/city/wards/sample.csv", city()),
    Case("GET", "/city/campaigns/new", city()),
    Case("POST", "/city/campaigns/new", city()),
    Case("GET", "/city/campaigns/{city_campaign}", city()),
    Case("POST", "/city/campaigns/{city_campaign}", city()),
    # A ward's own campaign is not the city's to open or edit.
    Case("GET", "/city/campaigns/{campaign}", city(404)),
    Case("POST", "/city/campaigns/{campaign}", city(404)),
    # --- the Department's roll-up (tests/tally/test_rollup.py)
    Case("GET", "/city/reports/", city()),
    Case("GET", "/city/reports/wards.csv", city()),
    Case("GET", "/city/reports/city.xlsx", city()),
]


def is_public(rule: str) -> bool:
    return rule in PUBLIC or rule.startswith(PUBLIC_PREFIXES)


def fill(url: str, ids: dict[str, int]) -> str:
    return url.format(**ids)


@pytest.fixture
def ids(world) -> dict[str, int]:
    """Rows of ward A that row-scoped URLs point at."""
    member = world.users["member"]
    device = Device(user_id=member.id, token_hash="roles-" + uuid.uuid4().hex, label="Máy thử")
    difficulty = Difficulty(
        record_id=str(uuid.uuid4()),
        rev=1,
        ward_id=world.ward.id,
        campaign_id=world.campaign.id,
        unit_id=world.units["kdc1"].id,
        user_id=member.id,
        recorded_at=utcnow(),
        kind="other",
        text="Chưa rõ cách đăng ký",
    )
    city_campaign = add_campaign(None)
    city_campaign.name = "Cuộc thi của thành phố"
    city_campaign.active = False  # ward A's current campaign stays world.campaign
    db.session.add_all([device, difficulty])
    _code, code_row = issue_code(member, world.users["officer"])
    db.session.commit()
    return {
        "code": code_row.id,
        "unit": world.units["kdc1"].id,
        "person": member.id,
        "device": device.id,
        "difficulty": difficulty.id,
        "ward": world.ward.id,
        "campaign": world.campaign.id,
        "city_campaign": city_campaign.id,
    }


def sign_in(client, world, role: str) -> None:
    """Put a session straight into the cookie (the sign-in form is tested elsewhere)."""
    if role == "anonymous":
        return
    user = world.users[WORLD_USER[role]]
    sign_in_directly(client, user)


PARAMS = [
    pytest.param(case, role, id=f"{case.method} {case.url} as {role}")
    for case in TABLE
    for role in ROLES
]


@pytest.mark.parametrize(("case", "role"), PARAMS)
def test_role_can_or_cannot_open(app, client, world, ids, case: Case, role: str):
    url = fill(case.url, ids)
    adapter = app.url_map.bind("localhost")
    try:
        adapter.match(url.split("?")[0], method=case.method)
    except Exception:  # noqa: BLE001 - werkzeug raises NotFound/MethodNotAllowed
        pytest.skip(f"{case.method} {case.url} is not a route (yet)")
    sign_in(client, world, role)
    expected = case.expect[role]
    # A form post as a browser sends it; its fields are the business of each module's tests.
    data = {"_": "1"} if case.method == "POST" else None
    response = client.open(url, method=case.method, headers={"Accept": "text/html"}, data=data)
    status = response.status_code
    location = response.headers.get("Location", "")

    if expected == LOGIN:
        assert status == 302 and location.startswith("/login"), (status, location)
        return
    if expected == ALLOWED:
        assert status not in (401, 403, 404, 405, 500), status
        assert not (status == 302 and location.startswith("/login")), location
        return
    assert status == expected, (status, location)
    if expected in (403, 404):
        denied = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "denied")
        ).all()
        assert any(
            e.detail.get("path") == url.split("?")[0] and e.detail.get("status") == expected
            for e in denied
        ), [e.detail for e in denied]
        assert all(e.actor_id == world.users[WORLD_USER[role]].id for e in denied)


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/records"])
def test_api_without_a_token_answers_401_json(client, world, path):
    response = client.get(path, headers={"Accept": "text/html"})
    if response.status_code == 404:
        pytest.skip(f"{path} is not a route (yet)")
    assert response.status_code == 401
    assert response.is_json


@pytest.mark.parametrize("path", ["/admin/", "/admin/people", "/reports/"])
def test_a_fetch_without_a_session_gets_401_json_not_a_login_page(client, world, path):
    response = client.get(path, headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"


def test_every_route_is_in_the_table(app):
    """A route added later must get a row here (or be public on purpose)."""
    adapter = app.url_map.bind("localhost")
    placeholders = {
        "unit": 1,
        "person": 1,
        "device": 1,
        "difficulty": 1,
        "ward": 1,
        "campaign": 1,
        "city_campaign": 1,
        "code": 1,
    }
    covered = set()
    for case in TABLE:
        assert set(case.expect) == set(ROLES), f"{case.url}: every role needs an outcome"
        try:
            endpoint, _ = adapter.match(fill(case.url, placeholders), method=case.method)
        except Exception:  # noqa: BLE001,S112 - a row for a route not built yet
            continue
        covered.add((endpoint, case.method))
    missing = sorted(
        f"{method} {rule.rule}"
        for rule in app.url_map.iter_rules()
        if not is_public(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        if (rule.endpoint, method) not in covered
    )
    assert missing == [], "add these to TABLE in tests/test_roles.py: " + ", ".join(missing)
