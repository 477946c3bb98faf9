"""No 5xx from any input: every role, every GET route, every form, with generated values.

The crawl signs in as each role (and as nobody), requests every GET route of app.url_map with
its path parameters filled (real ids, any id, ids no column can hold) and Hypothesis-made
query strings, collects every form those pages show, and posts each one with generated
values. Any 5xx — or an exception — is a failure; the number of requests is printed.
Also here: the one place integers are range-checked, `next` after sign-in, and a database
connection lost mid-request (503 + Retry-After).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldapp import params
from fieldapp.extensions import db
from fieldapp.models import Campaign, Device, Difficulty, EnrolmentCode, Unit, User, Ward
from tests.sync.test_api import API, bearer, enrol_phone
from tests.sync.test_contract import assist, difficulty
from tests.world import PASSWORD

EXAMPLES = int(os.environ.get("FIELDAPP_CRAWL_EXAMPLES", "6"))
CRAWL = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
# Nobody first; the officer and the city administrator, who can change other accounts, last.
ROLES = [None, "thanhvien1", "totruong1", "truongthcs", "canbo", "so_khcn"]
# Not crawled: signing out (done at the end of each role) and the static files.
SKIP = {"auth.logout", "static"}

PROBES = ["99999999999999999999", "²", "-1"]  # sent surely, on every route and form
HUGE = ["99999999999999999999", str(2**31), str(2**63), "-1", "-2147483649", "1e9", "²", "٣"]
nasty = st.text(
    alphabet=st.one_of(
        st.sampled_from("\x01\x07\x1b\x7f\u0085\u200b\u202e\ufeff\u0301ắệđĐ\r\n\t %&=/\\'\"<>;"),
        st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
    ),
    max_size=30,
)
value = st.one_of(
    nasty,
    st.sampled_from(HUGE + ["", "0", "1", "2", "none", "desc", "asc", "kind", "name", "1.5"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.integers(min_value=100, max_value=3000).map(lambda n: "Ạ" * n),
    st.dates().map(str),
    st.sampled_from(["2026-02-30", "31/12/2026", "//evil.example", "/\\evil.example"]),
)
# Query keys the app reads, and any other.
QUERY_KEYS = ["unit", "unit_id", "campaign_id", "page", "q", "role", "kind", "sort", "dir"]
QUERY_KEYS += ["state", "back", "next", "module", "since", "format", "ward", "id"]
query = st.dictionaries(st.one_of(st.sampled_from(QUERY_KEYS), nasty), value, max_size=4)


class Forms(HTMLParser):
    """The forms of a page: action, method, field names (with their options and defaults)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                {
                    "action": a.get("action", ""),
                    "method": a.get("method", "get").lower(),
                    "fields": {},
                    "files": set(),
                }  # fmt: skip
            )
        elif not self.forms or "name" not in a:
            if tag == "option" and self.select and self.forms:
                self.forms[-1]["fields"][self.select].append(a.get("value", ""))
            return
        elif tag == "input":
            if a.get("type") == "file":
                self.forms[-1]["files"].add(a["name"])
            else:
                self.forms[-1]["fields"].setdefault(a["name"], []).append(a.get("value", ""))
        elif tag in ("select", "textarea"):
            self.forms[-1]["fields"].setdefault(a["name"], [])
            self.select = a["name"] if tag == "select" else None

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self.select = None


def forms_of(page: str, url: str) -> list[dict]:
    parser = Forms()
    parser.feed(page)
    found = []
    for form in parser.forms:
        if form["method"] != "post":
            continue
        action = form["action"] or url
        parts = urlsplit(action)
        if parts.netloc or not parts.path.startswith("/"):
            continue
        found.append({**form, "action": parts.path + (f"?{parts.query}" if parts.query else "")})
    return found


@pytest.fixture
def crawl_world(client, world):
    """The world with a phone enrolled, an entry and a difficulty (ids for every route)."""
    token = enrol_phone(client, world)
    answer = client.post(
        f"{API}/sync", json={"records": [assist(world), difficulty(world)]}, headers=bearer(token)
    )
    assert answer.status_code == 200
    return world


def ids() -> dict[str, list[int]]:
    """Real ids for each path parameter name."""

    def of(model) -> list[int]:
        return list(db.session.scalars(sa.select(model.id).order_by(model.id)))

    return {
        "user_id": of(User),
        "unit_id": of(Unit),
        "ward_id": of(Ward),
        "campaign_id": of(Campaign),
        "device_id": of(Device),
        "difficulty_id": of(Difficulty),
        "code_id": of(EnrolmentCode),
    }


def path_value(rule, name: str, real: dict[str, list[int]]):
    converter = type(rule._converters[name]).__name__
    if converter == "IDConverter":
        return st.one_of(
            st.sampled_from(real.get(name) or [1]),
            st.integers(min_value=0, max_value=params.MAX_ID),
            st.sampled_from([0, params.MAX_ID]),
        ).map(str)
    if name == "filename":
        return st.sampled_from(["app.js", "css/app.css", "../../app.py", "x" * 300, "%00", "a b"])
    return st.one_of(nasty.filter(lambda s: s and "/" not in s and "?" not in s and "#" not in s),
                     st.sampled_from(["1", "x" * 300, "..", "%2e%2e"]))  # fmt: skip


def sign_in(client, username: str | None) -> None:
    client.post("/logout")
    if username is None:
        return
    user = db.session.scalar(sa.select(User).where(User.username == username))
    user.active = True  # a form posted earlier in the crawl may have disabled or reset it
    user.set_password(PASSWORD)
    db.session.commit()
    answer = client.post("/login", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 302, username


def signed_in(client, username: str | None) -> bool:
    if username is None:
        return True
    answer = client.get("/")
    return answer.status_code == 302 and "/login" not in answer.headers.get("Location", "")


def test_every_route_and_form_as_every_role_answers_without_5xx(app, client, crawl_world):
    counts: Counter = Counter()
    failures: list[str] = []

    def check(method: str, url: str, response) -> None:
        counts["requests"] += 1
        counts[f"{response.status_code // 100}xx"] += 1
        if response.status_code >= 500:
            failures.append(f"{method} {url} -> {response.status_code}")

    def request(method: str, url: str, **kwargs):
        try:
            response = client.open(url, method=method, **kwargs)
        except Exception as error:  # noqa: BLE001 — any exception is a 500 in production
            counts["requests"] += 1
            failures.append(f"{method} {url} -> {type(error).__name__}: {error}"[:300])
            db.session.rollback()
            return None
        check(method, url, response)
        return response

    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint not in SKIP]
    posts = {r.rule for r in app.url_map.iter_rules() if "POST" in r.methods}
    for username in ROLES:
        sign_in(client, username)
        real = ids()
        forms: dict[str, dict] = {}
        for rule in rules:
            if not signed_in(client, username):
                sign_in(client, username)
            path = st.fixed_dictionaries({n: path_value(rule, n, real) for n in rule.arguments})

            @CRAWL
            @given(path_values=path, query_string=query)
            def crawl(path_values, query_string):
                url = rule.rule  # noqa: B023 (run at once, in this iteration)
                for name, text in path_values.items():
                    url = re.sub(rf"<(?:[^:<>]+:)?{name}>", text.replace("\\", "\\\\"), url)
                response = request("GET", url, query_string=query_string)
                if (
                    response is not None
                    and response.status_code == 200
                    and (response.mimetype == "text/html")
                ):
                    for form in forms_of(response.get_data(as_text=True), url):
                        forms.setdefault(form["action"].split("?")[0], form)  # noqa: B023

            crawl()
            # And, surely, each route once with every known parameter at each out-of-range value.
            url = rule.rule
            for name in rule.arguments:
                url = re.sub(rf"<(?:[^:<>]+:)?{name}>", str((real.get(name) or [1])[0]), url)
            for bad in PROBES:
                request("GET", url, query_string=dict.fromkeys(QUERY_KEYS, bad))
        for action, form in forms.items():
            if action.rstrip("/") in ("/logout",):
                continue
            if not signed_in(client, username):
                sign_in(client, username)
            fields = form["fields"]
            data = st.fixed_dictionaries(
                {
                    name: st.one_of(st.sampled_from(options), value) if options else value
                    for name, options in fields.items()
                }
            )
            files = st.fixed_dictionaries({name: st.binary(max_size=200) for name in form["files"]})

            @CRAWL
            @given(data=data, files=files, query_string=query)
            def post(data, files, query_string):
                import io

                body = dict(data)
                for name, raw in files.items():
                    body[name] = (io.BytesIO(raw), "ds.csv")
                kind = "multipart/form-data" if files else None
                action = form["action"]  # noqa: B023 (run at once, in this iteration)
                request("POST", action, data=body, query_string=query_string, content_type=kind)

            post()
            for bad in PROBES:
                request("POST", form["action"], data=dict.fromkeys(fields, bad))
            counts["forms"] += 1
        # POST-only routes no page showed a form for (buttons behind a confirm): generic values.
        for rule_text in sorted(posts - {f for f in forms}):
            if "<" in rule_text or rule_text in ("/logout",) or rule_text.startswith(API):
                continue
            request("POST", rule_text, data={"x": "1", "confirm": "1", "list": "abc"})
        client.post("/logout")
    print(f"\ncrawl: {dict(counts)}")
    assert counts["requests"] > 1000
    assert not failures, "\n".join(failures[:40])


# --- the pieces -----------------------------------------------------------------------------


def test_an_id_no_column_can_hold_is_a_404_not_a_database_error(client, world, auth):
    auth.login("canbo")
    for raw in ["99999999999999999999", str(2**31), "-1", "²", "٣", "1e3", " 7"]:
        assert client.get("/admin/people", query_string={"unit": raw}).status_code == 404, raw
    assert client.get("/admin/people", query_string={"unit": "none"}).status_code == 200
    unit = world.units["kdc1"].id
    assert client.get("/admin/people", query_string={"unit": unit}).status_code == 200
    assert client.get(f"/admin/people/{2**31}").status_code == 404  # the route's converter
    assert client.get(f"/admin/units/{params.MAX_ID}").status_code == 404
    assert client.get("/unit", query_string={"unit_id": "99999999999999999999"}).status_code == 404
    assert params.parse_id("2147483647") == params.MAX_ID and params.parse_id("2147483648") is None


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/admin/people?unit=1", True),
        ("/%0D%0ASet-Cookie:x=1", True),  # still percent-encoded: a harmless path
        ("/\r\nSet-Cookie:x=1", False),
        ("/\x07", False),
        ("/\u2028", False),
        ("//evil.example/", False),
        ("/\\evil.example", False),
        ("https://evil.example/", False),
        ("admin", False),
    ],
)
def test_next_is_a_local_path_without_control_characters(client, world, target, kept):
    answer = client.post(
        "/login", query_string={"next": target}, data={"username": "canbo", "password": PASSWORD}
    )
    assert answer.status_code == 302  # signed in either way
    location = answer.headers["Location"]
    assert "\r" not in location and "\n" not in location
    assert "Set-Cookie" not in answer.headers or "x=1" not in answer.headers["Set-Cookie"]
    if kept:
        assert location == target
    else:
        assert location in ("/", "/admin/")


def test_the_issue_s_crlf_next_signs_in(client, world):
    answer = client.post(
        "/login?next=%2F%0D%0ASet-Cookie%3Ax%3D1", data={"username": "canbo", "password": PASSWORD}
    )
    assert answer.status_code == 302 and answer.headers["Location"] in ("/", "/admin/")


def cut_the_connection(app, backend: str) -> None:
    """Before each request: the database connection dies under the view (PostgreSQL: the
    server ends this session's backend; SQLite: the driver fails as on a lost file)."""

    @app.before_request
    def cut() -> None:
        from flask import request

        if request.path in ("/login",) or request.path.startswith(f"{API}/devices"):
            return
        if backend == "postgres":
            connection = db.session.connection()
            pid = connection.connection.dbapi_connection.info.backend_pid
            killer = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.NullPool)
            with killer.connect() as other:
                other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killer.dispose()
        else:
            raise sa.exc.OperationalError("SELECT 1", {}, Exception("disk I/O error"))


def test_a_connection_lost_mid_request_is_a_503_with_retry_after(app, client, world, backend):
    cut_the_connection(app, backend)  # before the first request, as Flask wants
    token = enrol_phone(client, world)
    client.post("/login", data={"username": "canbo", "password": PASSWORD})
    page = client.get("/admin/people")
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert "không kết nối được cơ sở dữ liệu" in page.get_data(as_text=True)
    assert page.mimetype == "text/html"
    api = client.get(f"{API}/me", headers=bearer(token))
    assert api.status_code == 503 and api.headers["Retry-After"] == "5"
    assert api.get_json() == {"error": "unavailable", "message": params.MSG_DB_LOST}
    sync = client.post(f"{API}/sync", json={"records": [assist(world)]}, headers=bearer(token))
    assert sync.status_code == 503 and sync.headers["Retry-After"] == "5"
    assert set(sync.get_json()) == {"error", "message"}


def test_a_bad_statement_is_not_mistaken_for_a_lost_connection():
    error = sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key"))
    assert not params.connection_lost(error)
    assert params.connection_lost(sa.exc.OperationalError("SELECT 1", {}, Exception("gone")))
    assert params.connection_lost(sa.exc.TimeoutError("pool"))
