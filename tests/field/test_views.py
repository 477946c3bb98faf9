"""The PWA's server side: the shell, its versioned files, the worker, the manifest, enrolment."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from datetime import timedelta

import pytest

from fieldapp.extensions import db
from fieldapp.field import views
from fieldapp.field.enrol import code_status, enrol_device, issue_code
from fieldapp.models import EnrolmentCode
from fieldapp.text import utcnow
from fieldapp.vocab import DIFFICULTY_KINDS

INVALID = "Mã QR này đã được dùng hoặc đã hết hạn. Vui lòng xin cán bộ phường cấp mã mới."


def version_of(html: str) -> str:
    return re.search(r'name="fieldapp-version" content="([0-9a-f]{16})"', html).group(1)


def test_the_shell_is_the_same_page_for_everyone(client, auth, world):
    anonymous = client.get("/app")
    assert anonymous.status_code == 200
    assert anonymous.headers["Cache-Control"] == "no-cache"
    html = anonymous.get_data(as_text=True)
    assert '<h1 id="log-title">Ghi nhận lượt hỗ trợ</h1>' in html
    auth.login("thanhvien1")
    signed_in = client.get("/app")
    assert signed_in.get_data() == anonymous.get_data()
    assert world.users["member"].full_name not in html
    assert "csrf" not in html.lower()


def test_the_shell_has_no_inline_script_style_or_handlers(client):
    html = client.get("/app").get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts, "the shell loads its module"
    for attributes, body in scripts:
        if 'type="module"' in attributes:
            assert 'src="/app/v/' in attributes and body == ""
        else:
            assert 'type="application/json"' in attributes  # data, never run
    assert " style=" not in html
    assert not re.search(r"\son[a-z]+=", html)
    words = json.loads(re.search(r'id="shell-vocab">(.*?)</script>', html, re.S).group(1))
    assert words["difficulty_kinds"] == DIFFICULTY_KINDS


def test_the_shell_answers_304_to_a_page_it_already_has(client):
    first = client.get("/app")
    again = client.get("/app", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.get_data() == b""


def test_shell_files_are_versioned_gzipped_and_cached_for_good(client):
    html = client.get("/app").get_data(as_text=True)
    version = version_of(html)
    url = f"/app/v/{version}/js/app.js"
    assert url in html
    plain = client.get(url)
    assert plain.status_code == 200
    assert plain.headers["Content-Type"].startswith("text/javascript")
    assert plain.headers["Cache-Control"] == views.IMMUTABLE
    packed = client.get(url, headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    assert "Accept-Encoding" in packed.headers["Vary"]
    # Another version's file is not this server's to give: a shell is never made of two.
    assert client.get("/app/v/0000000000000000/js/app.js").status_code == 404
    # Only the shell's own files: nothing else of static/, nothing outside it.
    for path in ("js/nope.js", "../fieldapp/config.py", "vendor/idb-8.0.4/README.md"):
        assert client.get(f"/app/v/{version}/{path}").status_code == 404


def test_the_service_worker_is_served_from_the_root_and_never_cached(client):
    html = client.get("/app").get_data(as_text=True)
    version = version_of(html)
    classic = client.get("/sw.js")
    assert classic.status_code == 200
    assert classic.headers["Content-Type"].startswith("text/javascript")
    assert classic.headers["Cache-Control"] == "no-cache"
    body = classic.get_data(as_text=True)
    assert f'const VERSION = "{version}";' in body
    assert "import " not in body  # a classic worker, for browsers without module workers
    precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", body).group(1))
    assert "/app" in precache and "/manifest.webmanifest" in precache
    for name in ("js/app.js", "js/outbox.js", "css/field.css", "vendor/idb-8.0.4/index.js"):
        assert f"/app/v/{version}/{name}" in precache
    assert f"/app/v/{version}/js/enrol.js" not in precache  # the enrolment page is online only
    for url in precache:
        response = client.get(url)
        response.close()  # static files are streamed from disk
        assert response.status_code == 200, url
    assert "startsWith('/api/')" in body and "skipWaiting" in body and "clients.claim" in body
    module = client.get("/sw.js?module=1").get_data(as_text=True)
    assert f'import {{ flush }} from "/app/v/{version}/js/outbox.js";' in module
    assert "addEventListener('sync'" in module


def test_the_version_changes_when_a_shell_file_changes(app, tmp_path):
    static = tmp_path / "static"
    shutil.copytree(app.static_folder, static)
    app.static_folder = str(static)
    first = views.build_shell(app).version
    assert views.build_shell(app).version == first  # the same files, the same version
    (static / "css" / "not-the-shell.css").write_text("body { color: red }")
    assert views.build_shell(app).version == first
    module = static / "js" / "form.js"
    module.write_text(module.read_text() + "\n// fixed\n")
    second = views.build_shell(app).version
    assert second != first
    # The worker's bytes carry the version: a deploy makes browsers install the new one.
    app.extensions.pop("fieldapp_shell", None)
    with app.test_client() as client:
        assert f'"{second}"' in client.get("/sw.js").get_data(as_text=True)


def test_the_manifest_makes_an_installable_vietnamese_app(client):
    response = client.get("/manifest.webmanifest")
    assert response.headers["Content-Type"].startswith("application/manifest+json")
    manifest = json.loads(response.get_data(as_text=True))
    assert manifest["name"] == "Sổ hỗ trợ Công dân số"
    assert manifest["short_name"] == "Hỗ trợ CDS"
    assert manifest["start_url"] == "/app"
    assert manifest["display"] == "standalone"
    assert manifest["lang"] == "vi"
    assert manifest["theme_color"] == "#0b5563"
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        found = client.get(icon["src"])
        found.close()
        assert found.status_code == 200
        assert found.headers["Content-Type"].split(";")[0] == icon["type"]


@pytest.mark.parametrize("size", [192, 512])
def test_png_icons_are_the_sizes_they_claim(app, size):
    from pathlib import Path

    from PIL import Image

    for name in (f"icon-{size}.png", f"icon-maskable-{size}.png"):
        path = Path(app.static_folder) / "icons" / name
        if path.exists():
            with Image.open(path) as image:
                assert image.size == (size, size)


def test_a_good_code_opens_the_enrolment_page(client, world):
    code, _row = issue_code(world.users["member"], world.users["officer"])
    db.session.commit()
    response = client.get(f"/e/{code}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'data-code="{code}"' in html
    assert "/js/enrol.js" in html
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert code_status(code) == "ok"  # looking does not spend it


def test_a_used_code_says_so_in_vietnamese(client, world):
    code, _row = issue_code(world.users["member"], world.users["officer"])
    enrol_device(code)
    db.session.commit()
    response = client.get(f"/e/{code}")
    assert response.status_code == 410
    assert INVALID in response.get_data(as_text=True)
    assert "enrol.js" not in response.get_data(as_text=True)


def test_an_expired_code_says_so_in_vietnamese(client, world):
    code, row = issue_code(world.users["member"], world.users["officer"])
    row.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = client.get(f"/e/{code}")
    assert response.status_code == 410
    assert INVALID in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/e/AAAAAAAAAAAAAAAAAAAAAA",
        "/e/<script>alert(1)</script>",
        "/e/%3Cimg%20src=x%20onerror=alert(1)%3E",
        "/e/\"'><svg/onload=alert(1)>",
    ],
)
def test_an_unknown_code_is_a_404_and_never_echoed(client, world, path):
    response = client.get(path)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert INVALID in html
    assert "<script>alert" not in html and "onerror=alert" not in html and "onload=" not in html


def test_a_member_signed_in_enrols_this_phone(client, auth, world):
    response = auth.login("thanhvien1")
    assert response.headers["Location"].endswith("/app/enrol-signed-in")
    response = client.get("/app/enrol-signed-in")
    assert response.status_code == 302
    code = response.headers["Location"].rsplit("/e/", 1)[1]
    assert code_status(code) == "ok"
    row = db.session.scalars(db.select(EnrolmentCode)).one()
    assert row.user_id == world.users["member"].id
    assert client.get(f"/e/{code}").status_code == 200


def test_a_group_head_may_enrol_a_phone_but_an_officer_may_not(client, auth, world):
    auth.login("totruong1")
    assert client.get("/app/enrol-signed-in").status_code == 302
    auth.logout()
    auth.login("canbo")
    assert client.get("/app/enrol-signed-in").status_code == 403


def test_enrolling_needs_a_signed_in_person(client, world):
    response = client.get("/app/enrol-signed-in")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_shell_shows_iphone_users_the_install_steps_in_words_and_pictures(client):
    page = client.get("/app").get_data(as_text=True)
    steps = page.split('id="install-ios"', 1)[1].split("</ol>", 1)[0]
    assert steps.count("<li>") == 3
    assert steps.count("<svg") == 3  # a picture beside each step
    for words in ("Chia sẻ", "Thêm vào MH chính", "Thêm</strong>"):
        assert words in steps
