"""The OpenAPI document exact: Schemathesis 4 run as another client would, on a live server.

`st run <app>/api/v1/openapi.json --url <app>/api/v1 -H "Authorization: Bearer <token>"
--checks all` (coverage and fuzzing phases) against the app served over HTTP on this
test's database, from the checkout (so it reads schemathesis.toml, which states the two
answers of the contract a schema cannot: a well-formed but unknown enrolment code is 400,
more than 200 records 413). Every check must pass.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.sync.test_api import API, bearer, enrol_phone

ROOT = Path(__file__).resolve().parents[2]
ST = Path(sys.executable).with_name("st")


@pytest.fixture
def live(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def test_schemathesis_cli_with_every_check_finds_nothing(live, client, world):
    token = enrol_phone(client, world)
    run = subprocess.run(
        [str(ST), "run", f"{live}{API}/openapi.json", "--url", f"{live}{API}",
         "-H", f"Authorization: Bearer {token}", "--checks", "all", "--workers", "1",
         "--phases", "examples,coverage,fuzzing", "--no-color"],
        cwd=ROOT, capture_output=True, text=True, timeout=540,
    )  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    cases = re.search(r"(\d+) generated, (\d+) passed", output)
    assert cases and cases.group(1) == cases.group(2) and int(cases.group(1)) > 100, output[-3000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", output)
    assert selected and selected.group(1) == selected.group(2), output[-3000:]
    assert int(selected.group(1)) >= 5  # enrol, me, sync, the phone's records, its outbox
    assert f"Tested: {selected.group(1)}" in output
    print(f"\nschemathesis CLI: {cases.group(0)}")


def test_405_names_the_allowed_methods(client, world):
    token = enrol_phone(client, world)
    answer = client.delete(f"{API}/me", headers=bearer(token))
    assert answer.status_code == 405 and answer.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert set(answer.get_json()) == {"error", "message"}
    page = client.put("/login")
    assert page.status_code == 405 and "POST" in page.headers["Allow"]


def test_a_non_string_id_is_echoed_as_a_string_and_a_blob_as_null(client, world):
    token = enrol_phone(client, world)
    answer = client.post(
        f"{API}/sync", json={"records": [{"id": 12}, {"id": [1, 2]}, "x"]}, headers=bearer(token)
    )
    results = answer.get_json()["results"]
    assert [r["id"] for r in results] == ["12", None, None]
    assert {r["status"] for r in results} == {"invalid"}


def test_the_cursor_and_code_are_declared_as_the_server_reads_them(client, world):
    document = client.get(f"{API}/openapi.json").get_json()
    since = document["paths"]["/records"]["get"]["parameters"][0]["schema"]
    code = document["paths"]["/devices"]["post"]["requestBody"]["content"]["application/json"]
    code = code["schema"]["properties"]["code"]
    assert re.fullmatch(since["pattern"], "v1.12.0") and re.fullmatch(since["pattern"], "")
    assert not re.fullmatch(since["pattern"], "v1.٣.1")
    token = enrol_phone(client, world)
    assert (
        client.get(f"{API}/records?since=v1.999999999999999.0", headers=bearer(token)).status_code
        == 200
    )
    assert client.get(f"{API}/records?since=v1.%D9%A3.1", headers=bearer(token)).status_code == 400
    assert code["minLength"] == 16 and re.fullmatch(code["pattern"], "A" * 22)
    assert client.post(f"{API}/devices", json={"code": ""}).status_code == 400
