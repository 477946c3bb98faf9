"""Privacy that reaches every copy (issue 17): the logs, older revisions, the database files,
the counting key, the consent shown, file modes.

The residents are made up (the same as tests/test_privacy.py's).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

from werkzeug.serving import make_server

from fieldapp.extensions import db
from tests.fleet import Gunicorn
from tests.test_ops import CONFIG, Browser
from tests.test_privacy import NAME, PHONE, hoa, search  # noqa: F401 - hoa is a fixture
from tests.world import PASSWORD

KEY_SECRET = "test-key-secret-" + "k" * 32

# What a search would write into a request line: the phone, the name typed, URL-encoded.
SEARCHED = (PHONE, "0912 345 678", NAME, quote(NAME), quote_plus(NAME), "nguyen+thi+hoa",
            "nguyen%20thi%20hoa", "nguyen thi hoa")  # fmt: skip


def personal_in(log: str) -> list[str]:
    low = log.lower()
    return [value for value in SEARCHED if value.lower() in low]


def csrf(page: str) -> str:
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token, page[:500]
    return token.group(1)


# --------------------------------------------------------------------------- item 3: logs


def test_a_real_servers_log_holds_no_personal_search(app, hoa, tmp_path: Path) -> None:  # noqa: F811
    """gunicorn with gunicorn.conf.py, in production mode: the officer searches by phone and
    by name (POST), an old bookmark asks `?q=` by GET, the people list is searched with `?q=`;
    the access log has each request line, and none of the searched values."""
    db.session.commit()
    server = Gunicorn(
        app.config["SQLALCHEMY_DATABASE_URI"],
        tmp_path / "gunicorn.log",
        workers=1,
        config=CONFIG,
        env={
            "FIELDAPP_ENV": "production",
            "SECRET_KEY": "logs-test-" + "s" * 40,
            "FIELDAPP_RATELIMIT_STORAGE_URI": "memory://",
            "FIELDAPP_KEY_SECRET": KEY_SECRET,
        },
    )
    try:
        server.start()
        browser = Browser(server.port)
        status, _, _ = browser.login(hoa.users["officer"].username, PASSWORD)
        assert status == 302
        _, _, page = browser.send("GET", "/privacy/")
        for query in (PHONE, "0912 345 678", NAME, "nguyen thi hoa"):
            status, _, page = browser.send(
                "POST", "/privacy/", {"csrf_token": csrf(page), "q": query}
            )
            assert status == 200 and NAME in page, query  # found: the search itself works
        status, headers, _ = browser.send("GET", "/privacy/?q=" + quote_plus(NAME))
        assert status == 302 and headers["Location"] == "/privacy/"  # never searched by GET
        browser.send("GET", f"/privacy/?q={PHONE}&x=1")
        browser.send("GET", "/admin/people?q=" + quote(NAME))
        browser.send("GET", "/healthz?last=1")
        deadline = time.monotonic() + 10  # a line is written just after its answer
        while "/healthz?last=1" not in server.tail() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.stop()
    log = server.tail()
    assert 'POST /privacy/ HTTP/1.1" 200' in log
    assert 'GET /privacy/?[redacted] HTTP/1.1" 302' in log
    assert "GET /admin/people?q=[redacted] HTTP/1.1" in log
    assert personal_in(log) == []


def test_the_development_servers_log_and_the_apps_own_redact_searches(app) -> None:
    """werkzeug's request log (flask run) and the fieldapp loggers go through the filter."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    keep = Keep()
    for name in ("werkzeug", "fieldapp.api", "fieldapp"):
        logging.getLogger(name).addHandler(keep)
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        import http.client

        for path in (f"/privacy/?q={PHONE}", "/privacy/?q=" + quote(NAME), "/x?q=" + PHONE):
            conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
        logging.getLogger("fieldapp.api").warning("request to %s", f"/privacy/?q={PHONE}")
        app.logger.warning("searched /privacy/?q=%s", quote(NAME))
    finally:
        server.shutdown()
        thread.join(5)
        for name in ("werkzeug", "fieldapp.api", "fieldapp"):
            logging.getLogger(name).removeHandler(keep)
    text = "\n".join(lines)
    assert text.count("/privacy/?[redacted]") >= 4 and "/x?q=[redacted]" in text
    assert personal_in(text) == []
