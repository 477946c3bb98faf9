"""QR codes: what they carry (decoded by a real reader), one-time enrolment, sheets, posters,
contest images, the enrol-link command, who may do what, and every bad input of the issue."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import xml.etree.ElementTree as ET
from datetime import timedelta
from functools import partial
from html import unescape
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import qrcode.constants
import sqlalchemy as sa
from PIL import Image, ImageDraw

from fieldapp.extensions import db
from fieldapp.field import enrol
from fieldapp.models import AuditEvent, Device, EnrolmentCode, User
from fieldapp.qr import codes
from fieldapp.text import utcnow
from tests.conftest import sign_in_directly, together
from tests.world import add_user

API = "/api/v1"
ZBARIMG = shutil.which("zbarimg")
SVG_NS = "{http://www.w3.org/2000/svg}"
DATETIME = re.compile(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}")


# ---------------------------------------------------------------- helpers


def zbar(png_bytes: bytes, tmp_path: Path) -> list[str]:
    """Decode every QR code in a PNG with zbarimg (Debian's zbar-tools)."""
    if ZBARIMG is None:
        reason = "zbarimg not installed: apt-get install zbar-tools"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    path = tmp_path / f"qr-{len(list(tmp_path.iterdir()))}.png"
    path.write_bytes(png_bytes)
    result = subprocess.run(  # noqa: S603 - a fixed program on a file we wrote
        [ZBARIMG, "--raw", "-q", str(path)], capture_output=True, text=True, check=False
    )
    return [line for line in result.stdout.splitlines() if line]


def svg_to_png(svg: str, scale: int = 8) -> bytes:
    """Draw an inline SVG code as the browser would, square by square, to feed the decoder."""
    root = ET.fromstring(svg)
    _, _, width, height = (float(n) for n in root.get("viewBox").split())
    image = Image.new("L", (int(width * scale), int(height * scale)), 255)
    draw = ImageDraw.Draw(image)
    path = next(el for el in root.iter() if el.tag in ("path", SVG_NS + "path"))
    for x, y in re.findall(r"M([\d.]+),([\d.]+)H", path.get("d")):
        left, top = float(x) * scale, float(y) * scale
        draw.rectangle([left, top, left + scale - 1, top + scale - 1], fill=0)
    out = BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def inline_svgs(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, flags=re.S)


def decode_page(html: str, tmp_path: Path) -> list[str]:
    """The text of every QR code shown (as inline SVG) on a page."""
    found = []
    for svg in inline_svgs(html):
        found += zbar(svg_to_png(svg), tmp_path)
    return found


def sign_in(client, user: User) -> None:
    sign_in_directly(client, user)


def issue_page(client, person: User, **form):
    return client.post(f"/qr/people/{person.id}/issue", data=form)


def issued_url(html: str) -> str:
    return unescape(re.search(r'<code id="qr-url">(.*?)</code>', html).group(1))


def code_of(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[1]


def enrol_with(client, code: str, label: str = "Máy A"):
    return client.post(f"{API}/devices", json={"code": code, "label": label})


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def officer(client, world):
    sign_in(client, world.users["officer"])
    return world.users["officer"]


# ---------------------------------------------------------------- images (no HTTP)


URLS = [
    "http://127.0.0.1:5000/e/AbCdEfGhIjKlMnOpQrStUv",
    "https://congdanso.example.vn/cuoc-thi?ref=phuong-thanh-dong&utm=zalo",
]


@pytest.mark.parametrize("url", URLS)
def test_png_decodes_to_exactly_the_url(url, tmp_path):
    data = codes.png(url)
    assert data.startswith(b"\x89PNG")
    assert zbar(data, tmp_path) == [url]


@pytest.mark.parametrize("url", URLS)
def test_inline_and_standalone_svg_decode_to_the_url(url, tmp_path):
    assert zbar(svg_to_png(str(codes.svg_inline(url))), tmp_path) == [url]
    document = codes.svg_document(url).decode()
    assert document.startswith("<?xml")
    assert zbar(svg_to_png(document.split("?>", 1)[1]), tmp_path) == [url]


def test_codes_use_error_correction_m_and_keep_the_quiet_zone():
    code = codes._qr(URLS[0])
    assert code.error_correction == qrcode.constants.ERROR_CORRECT_M
    root = ET.fromstring(codes.svg_document(URLS[0]))
    size = float(root.get("viewBox").split()[2])
    assert size == code.modules_count + 2 * 4
    # A white background under a black path that never enters the 4-module margin.
    rect = root.find(SVG_NS + "rect")
    assert rect is not None and rect.get("fill") == "white"
    path = root.find(SVG_NS + "path")
    points = [float(n) for n in re.findall(r"[\d.]+", path.get("d"))]
    assert min(points) == 4 and max(points) == size - 4
    # The PNG too: its outer 4 modules (40 px) are white.
    image = Image.open(BytesIO(codes.png(URLS[0]))).convert("L")
    border = image.crop((0, 0, image.width, 40))
    assert border.getextrema() == (255, 255)


def test_inline_svg_fits_in_a_page_without_ids_or_fixed_size():
    markup = str(codes.svg_inline(URLS[0], "Mã QR cho <b>bạn</b>"))
    root = ET.fromstring(markup)
    assert root.get("class") == "qr-image" and root.get("role") == "img"
    assert root.get("aria-label") == "Mã QR cho <b>bạn</b>"  # escaped in the markup
    assert "<b>" not in markup
    assert root.get("width") is None and root.get("height") is None
    assert 'id="' not in markup and "style=" not in markup


def test_contest_images_are_cached_in_process():
    codes.cached_png.cache_clear()
    first = codes.cached_png(URLS[1])
    second = codes.cached_png(URLS[1])
    assert first is second
    assert codes.cached_png.cache_info().hits == 1
    assert codes.etag(URLS[1], "png") == codes.etag(URLS[1], "png") != codes.etag(URLS[1], "svg")


@pytest.mark.parametrize(
    ("link", "safe"),
    [
        ("https://congdanso.example.vn/cuoc-thi", True),
        ("http://thi.example.vn", True),
        ("javascript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("https://", False),
        ("https://thi.example.vn/a b", False),
        ("https://thi.example.vn/\n<script>", False),
        ("", False),
        ("x" * 2000, False),
    ],
)
def test_only_http_links_may_become_a_qr_code(link, safe):
    assert (codes.safe_link(link) == link) is safe


# ---------------------------------------------------------------- enrolment by QR


def test_issued_qr_carries_only_the_url_and_enrols_exactly_once(client, world, officer, tmp_path):
    member = world.users["member"]
    member.phone = "0912345678"
    db.session.commit()
    response = issue_page(client, member)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    url = issued_url(html)
    # What the camera reads is the URL written under the code: nothing else.
    assert decode_page(html, tmp_path) == [url]
    assert re.fullmatch(r"http://localhost/e/[A-Za-z0-9_-]{22}", url)
    for personal in ("Lê Thị Mai", "thanhvien1", "0912345678"):
        assert personal not in url
    assert "Lê Thị Mai" in html  # on the officer's screen, beside the code
    expires = db.session.scalar(sa.select(EnrolmentCode.expires_at))
    assert abs(expires - utcnow() - timedelta(hours=72)) < timedelta(minutes=1)
    assert re.search(r'id="qr-expires">' + DATETIME.pattern, html)
    assert "dùng được <strong>một lần</strong>" in html.lower()

    code = code_of(url)
    first = enrol_with(client, code)
    assert first.status_code == 201
    assert first.get_json()["member"]["unit_id"] == world.units["kdc1"].id
    second = enrol_with(client, code, "Máy B")
    assert second.status_code == 400
    assert second.get_json()["error"] == "used"
    assert "đã được dùng" in second.get_json()["message"]
    assert count(Device) == 1
    page = client.get(url)
    assert page.status_code == 410
    assert "đã được dùng hoặc đã hết hạn" in page.get_data(as_text=True)


def test_the_code_exists_only_in_the_answer_and_never_in_a_url_of_ours(client, world, officer):
    response = issue_page(client, world.users["member"])
    url = issued_url(response.get_data(as_text=True))
    code = code_of(url)
    row = db.session.scalar(sa.select(EnrolmentCode))
    assert row.code_hash == enrol.hash_secret(code) and code not in row.code_hash
    assert response.headers["Cache-Control"] == "no-store"
    assert code not in response.request.path
    events = db.session.scalars(sa.select(AuditEvent)).all()
    assert all(code not in str(e.detail) for e in events)


def test_person_screen_lists_codes_used_by_which_device_unused_and_expired(client, world, officer):
    member = world.users["member"]
    used = code_of(issued_url(issue_page(client, member).get_data(as_text=True)))
    assert enrol_with(client, used, "Samsung A05 của chị Mai").status_code == 201
    issue_page(client, member)  # left unused
    expired_code, expired = enrol.issue_code(member, world.users["officer"])
    expired.expires_at = utcnow() - timedelta(hours=1)
    db.session.commit()

    html = client.get(f"/admin/people/{member.id}").get_data(as_text=True)
    section = html[html.index('id="thiet-bi"') :]
    assert "Cấp mã QR" in section
    assert "Thu hồi các thiết bị cũ của người này" in section
    assert section.count("✓ Đã dùng") == 1
    assert "trên máy <strong>Samsung A05 của chị Mai</strong>" in section
    assert section.count("Chưa dùng") == 1
    assert section.count("Hết hạn</span>") == 1
    # And the people list offers the button in the "Thiết bị / Mã QR" column.
    people = client.get("/admin/people").get_data(as_text=True)
    assert f'action="/qr/people/{member.id}/issue"' in people
    assert f'action="/qr/people/{world.users["officer"].id}/issue"' not in people


def test_officer_cancels_an_unused_code_and_its_qr_stops_enrolling_at_once(client, world, officer):
    member = world.users["member"]
    url = issued_url(issue_page(client, member).get_data(as_text=True))
    code = code_of(url)
    row = db.session.scalar(sa.select(EnrolmentCode))
    html = client.get(f"/admin/people/{member.id}").get_data(as_text=True)
    assert f'action="/qr/codes/{row.id}/cancel"' in html and "Hủy mã này" in html

    response = client.post(f"/qr/codes/{row.id}/cancel", follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Đã hủy mã QR" in page
    assert f'action="/qr/codes/{row.id}/cancel"' not in page  # nothing left to cancel
    section = page[page.index('id="thiet-bi"') :]
    assert section.count("Đã hủy</span>") == 1 and "Hết hạn</span>" not in section
    assert "đã hủy, không dùng được nữa" in section
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "enrol_code_cancelled")
    )
    assert event.actor_id == officer.id and code not in str(event.detail)

    refused = enrol_with(client, code)
    assert refused.status_code == 400 and refused.get_json()["error"] == "expired"
    assert client.get(url).status_code == 410
    assert count(Device) == 0

    # Cancelling again (or a used code) changes nothing and says why.
    again = client.post(f"/qr/codes/{row.id}/cancel", follow_redirects=True)
    assert "đã được dùng hoặc đã hết hạn" in again.get_data(as_text=True)
    used = code_of(issued_url(issue_page(client, member).get_data(as_text=True)))
    assert enrol_with(client, used).status_code == 201
    used_row = db.session.scalar(sa.select(EnrolmentCode).where(EnrolmentCode.used_at.is_not(None)))
    client.post(f"/qr/codes/{used_row.id}/cancel")
    db.session.refresh(used_row)
    assert used_row.device.revoked_at is None and used_row.expires_at > utcnow()
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions.count("enrol_code_cancelled") == 1


def test_only_the_wards_officer_cancels_a_code(client, world):
    _code, row = enrol.issue_code(world.users["member"], world.users["officer"])
    db.session.commit()
    for who, status in (("other_officer", 404), ("head", 403), ("member", 403)):
        sign_in(client, world.users[who])
        assert client.post(f"/qr/codes/{row.id}/cancel").status_code == status
    sign_in(client, world.users["officer"])
    assert client.post("/qr/codes/999999/cancel").status_code == 404
    db.session.refresh(row)
    assert row.expires_at > utcnow()
    assert enrol.code_member_id(_code) == world.users["member"].id


def test_a_new_code_keeps_other_devices_unless_the_officer_asks(client, world, officer):
    member = world.users["member"]
    first = code_of(issued_url(issue_page(client, member).get_data(as_text=True)))
    token = enrol_with(client, first).get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}

    issue_page(client, member)
    assert client.get(f"{API}/me", headers=bearer).status_code == 200

    response = issue_page(client, member, revoke_old="y")
    assert "Đã thu hồi 1 thiết bị cũ" in response.get_data(as_text=True)
    # At once: the next sync of the old phone is refused, as the contract says.
    sync = client.post(f"{API}/sync", json={"records": []}, headers=bearer)
    assert sync.status_code == 401
    assert client.get(f"{API}/me", headers=bearer).status_code == 401
    device = db.session.scalar(sa.select(Device))
    assert device.revoked_by_id == world.users["officer"].id
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions.count("device_revoked") == 1
    assert actions.count("enrol_code_issued") == 3


@pytest.mark.parametrize("who", ["officer", "reporter"])
def test_only_members_and_group_heads_get_codes(client, world, officer, who):
    person = world.users[who]
    response = issue_page(client, person)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/people/{person.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Chỉ cấp mã QR cho Thành viên Tổ CNSCĐ và Tổ trưởng." in page
    assert count(EnrolmentCode) == 0


def test_a_group_head_gets_a_code_too(client, world, officer, tmp_path):
    html = issue_page(client, world.users["head"]).get_data(as_text=True)
    code = code_of(decode_page(html, tmp_path)[0])
    answer = enrol_with(client, code).get_json()
    assert answer["member"]["role"] == "group_head"


def test_a_disabled_account_gets_no_code_and_its_old_code_enrols_nothing(client, world, officer):
    member = world.users["member"]
    code = code_of(issued_url(issue_page(client, member).get_data(as_text=True)))
    member.active = False
    db.session.commit()

    response = issue_page(client, member)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Tài khoản này đang bị khóa" in page
    assert count(EnrolmentCode) == 1

    answer = enrol_with(client, code)
    assert answer.status_code == 400
    assert answer.get_json()["message"] == enrol.MESSAGES["disabled"]
    assert count(Device) == 0
    assert client.get(f"/e/{code}").status_code == 404


def tamper(code: str) -> str:
    return ("A" if code[0] != "A" else "B") + code[1:]


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(tamper, id="tampered"),
        pytest.param(lambda code: code[:-3], id="truncated"),
        pytest.param(lambda code: "Zx9" * 7 + "Q", id="random"),
        pytest.param(lambda code: code + "<script>alert(1)</script>", id="script"),
        pytest.param(lambda code: '"><svg onload=alert(1)>', id="markup"),
        pytest.param(lambda code: "", id="empty"),
    ],
)
def test_bad_codes_are_refused_clearly_and_change_nothing(client, world, officer, bad):
    code = code_of(issued_url(issue_page(client, world.users["member"]).get_data(as_text=True)))
    wrong = bad(code)
    before = count(AuditEvent)

    answer = enrol_with(client, wrong)
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "unknown"
    assert answer.get_json()["message"] == enrol.MESSAGES["unknown"]
    if wrong:
        page = client.get(f"/e/{wrong}")
        assert page.status_code == 404
        body = page.get_data(as_text=True)
        assert "Mã QR không dùng được" in body
        assert "<script>alert" not in body and "onload=alert" not in body
    assert count(Device) == 0
    assert count(AuditEvent) == before
    assert db.session.scalar(sa.select(EnrolmentCode.used_at)) is None
    # The real code is untouched and still enrols.
    assert enrol_with(client, code).status_code == 201


@pytest.mark.parametrize("attempt", range(2))
def test_two_phones_racing_on_one_decoded_code_enrol_exactly_one(
    app, world, officer, client, tmp_path, attempt
):
    html = issue_page(client, world.users["member"]).get_data(as_text=True)
    code = code_of(decode_page(html, tmp_path)[0])
    phones = 4
    barrier = threading.Barrier(phones)
    statuses: list[int] = []
    lock = threading.Lock()

    def phone(n: int) -> None:
        own = app.test_client()
        barrier.wait()
        status = own.post(f"{API}/devices", json={"code": code, "label": f"Máy {n}"}).status_code
        with lock:
            statuses.append(status)

    together(*(partial(phone, n) for n in range(phones)))
    assert sorted(statuses) == [201] + [400] * (phones - 1)
    db.session.expire_all()
    assert count(Device) == 1


@pytest.mark.parametrize("app_settings", [{"WTF_CSRF_ENABLED": True}])
def test_issuing_needs_the_forms_csrf_token(client, world, officer):
    member = world.users["member"]
    assert issue_page(client, member).status_code == 400  # the app-wide CSRF check
    assert count(EnrolmentCode) == 0
    page = client.get(f"/admin/people/{member.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert issue_page(client, member, csrf_token=token).status_code == 200
    assert count(EnrolmentCode) == 1


# ---------------------------------------------------------------- printable sheets


def test_sheet_gives_every_active_member_and_group_head_a_code_on_one_page(
    client, world, officer, tmp_path
):
    unit = world.units["kdc1"]
    gone = add_user("thanhvien_nghi", "member", world.ward, unit, "Cao Thị Nghỉ")
    gone.active = False
    db.session.commit()
    response = client.post(f"/qr/units/{unit.id}/sheet")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    cards = re.findall(r'<li class="qr-card">(.*?)</li>', html, flags=re.S)
    names = [re.search(r'class="qr-name">(.*?)<', c).group(1) for c in cards]
    assert names == ["Phạm Văn Hùng", "Đỗ Văn Nam", "Lê Thị Mai"]  # group head first
    for card in cards:
        assert "Khu dân cư số 1" in card
        assert re.search(r"Hết hạn: " + DATETIME.pattern, card)
    urls = decode_page(html, tmp_path)
    assert len(set(urls)) == 3
    # Each card's code belongs to the person named on it.
    by_user = {u.full_name: u.id for u in world.users.values()}
    for name, url in zip(names, urls, strict=True):
        row = db.session.scalar(
            sa.select(EnrolmentCode).where(
                EnrolmentCode.code_hash == enrol.hash_secret(code_of(url))
            )
        )
        assert row.user_id == by_user[name]
    assert "@page { size: A4; margin: 12mm; }" in Path("static/css/print.css").read_text()
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "enrol_sheet_issued")
    )
    assert event.detail == {"codes": 3}


def test_sheet_of_a_unit_without_members_says_so_and_issues_nothing(client, world, officer):
    response = client.post(f"/qr/units/{world.units['agency'].id}/sheet")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Trạm Y tế phường: Đơn vị này chưa có thành viên hay tổ trưởng nào" in page
    assert count(EnrolmentCode) == 0


def test_qr_index_offers_sheets_and_posters_per_unit(client, world, officer):
    html = client.get("/qr/").get_data(as_text=True)
    assert f'action="/qr/units/{world.units["kdc1"].id}/sheet"' in html
    assert f'action="/qr/units/{world.units["agency"].id}/sheet"' not in html  # no members
    for key in ("kdc1", "kdc2", "agency", "school"):
        assert f'href="/qr/poster/{world.units[key].id}"' in html
    assert f'/qr/poster/{world.units["other1"].id}"' not in html
    assert 'href="/qr/contest.png"' in html and 'href="/qr/contest.svg"' in html


# ---------------------------------------------------------------- posters and contest images


def test_poster_has_the_contest_qr_dates_steps_and_whom_to_ask(client, world, officer, tmp_path):
    html = client.get(f"/qr/poster/{world.units['kdc1'].id}").get_data(as_text=True)
    assert decode_page(html, tmp_path) == [world.campaign.contest_url]
    assert "Công dân số Hải Phòng – sử dụng thông minh, sống an toàn" in html
    assert "<strong>11/10/2025</strong> đến hết ngày <strong>11/11/2025</strong>" in html
    steps = re.findall(r"<li>(.*?)</li>", html.split('class="poster-steps"')[1])
    assert steps == list(codes.POSTER_STEPS)
    assert "Mở camera điện thoại, quét mã QR" in steps[0]
    help_text = re.sub(r"\s+", " ", html.split('class="poster-help">')[1].split("</p>")[0])
    assert "Cần hỗ trợ? Liên hệ <strong>Tổ trưởng Phạm Văn Hùng</strong> – Khu dân cư số 1" in (
        help_text
    )
    school = client.get(f"/qr/poster/{world.units['school'].id}").get_data(as_text=True)
    assert "Cán bộ phụ trách Hoàng Văn Sơn" in school
    agency = client.get(f"/qr/poster/{world.units['agency'].id}").get_data(as_text=True)
    assert "<strong>Trạm Y tế phường</strong> hoặc cán bộ phường" in agency


@pytest.mark.parametrize(
    ("who", "own", "other"),
    [("head", "kdc1", "kdc2"), ("reporter", "school", "agency")],
)
def test_group_heads_and_reporters_print_the_poster_of_their_own_unit_only(
    client, world, who, own, other
):
    sign_in(client, world.users[who])
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert '<a href="/qr/">Mã QR, áp phích</a>' in home  # reachable from their own screen
    assert client.get(f"/qr/poster/{world.units[own].id}").status_code == 200
    assert client.get(f"/qr/poster/{world.units[other].id}").status_code == 404
    index = client.get("/qr/").get_data(as_text=True)
    assert f"/qr/poster/{world.units[own].id}" in index
    assert f"/qr/poster/{world.units[other].id}" not in index
    assert "/sheet" not in index


def test_members_cannot_issue_print_or_see_codes(client, world):
    sign_in(client, world.users["member"])
    assert issue_page(client, world.users["member2"]).status_code == 403
    assert client.post(f"/qr/units/{world.units['kdc1'].id}/sheet").status_code == 403
    assert client.get(f"/qr/poster/{world.units['kdc1'].id}").status_code == 403
    assert client.get("/qr/contest.png").status_code == 403
    assert count(EnrolmentCode) == 0


def test_group_head_cannot_issue_codes_even_for_their_own_members(client, world):
    sign_in(client, world.users["head"])
    assert issue_page(client, world.users["member"]).status_code == 403
    assert client.post(f"/qr/units/{world.units['kdc1'].id}/sheet").status_code == 403
    assert client.get(f"/admin/people/{world.users['member'].id}").status_code == 403
    assert count(EnrolmentCode) == 0


def test_other_wards_officer_cannot_issue_for_or_print_this_ward(client, world):
    sign_in(client, world.users["other_officer"])
    assert issue_page(client, world.users["member"]).status_code == 404
    assert client.post(f"/qr/units/{world.units['kdc1'].id}/sheet").status_code == 404
    assert client.get(f"/qr/poster/{world.units['kdc1'].id}").status_code == 404
    assert count(EnrolmentCode) == 0


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_contest_image_is_the_link_private_and_revalidated_by_etag(
    client, world, officer, tmp_path, kind
):
    response = client.get(f"/qr/contest.{kind}")
    assert response.status_code == 200
    assert response.mimetype == {"png": "image/png", "svg": "image/svg+xml"}[kind]
    assert response.headers["Cache-Control"].startswith("private")
    etag = response.headers["ETag"]
    assert etag
    if kind == "png":
        assert zbar(response.data, tmp_path) == [world.campaign.contest_url]
    else:
        root = ET.fromstring(response.data)  # valid XML
        assert root.tag == SVG_NS + "svg"
        svg = response.get_data(as_text=True).split("?>", 1)[1]
        assert zbar(svg_to_png(svg), tmp_path) == [world.campaign.contest_url]
    again = client.get(f"/qr/contest.{kind}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""


def test_contest_image_follows_a_changed_link(client, world, officer, tmp_path):
    first = client.get("/qr/contest.png").headers["ETag"]
    world.campaign.contest_url = "https://thi.example.vn/vong-2"
    db.session.commit()
    response = client.get("/qr/contest.png", headers={"If-None-Match": first})
    assert response.status_code == 200
    assert zbar(response.data, tmp_path) == ["https://thi.example.vn/vong-2"]


@pytest.mark.parametrize("link", ["", "javascript:alert(1)", "https://thi.example.vn/<a b>"])
def test_no_usable_contest_link_is_said_clearly(client, world, officer, link):
    world.campaign.contest_url = link
    db.session.commit()
    for path in ("/qr/contest.png", "/qr/contest.svg"):
        response = client.get(path)
        assert response.status_code == 404
        assert "chưa có đường dẫn hợp lệ" in response.get_data(as_text=True)
    poster = client.get(f"/qr/poster/{world.units['kdc1'].id}").get_data(as_text=True)
    assert "Cuộc thi chưa có đường dẫn" in poster
    assert "<svg" not in poster.split("<main")[1]
    assert "javascript:alert" not in poster and "<a b>" not in poster


def test_script_in_the_contest_link_is_text_on_the_poster(client, world, officer, tmp_path):
    link = "https://thi.example.vn/?q=<script>alert(1)</script>"
    world.campaign.contest_url = link
    db.session.commit()
    html = client.get(f"/qr/poster/{world.units['kdc1'].id}").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert decode_page(html, tmp_path) == [link]


def test_no_campaign_is_said_clearly(client, world, officer):
    world.campaign.active = False
    db.session.commit()
    poster = client.get(f"/qr/poster/{world.units['kdc1'].id}").get_data(as_text=True)
    assert "Chưa có Cuộc thi" in poster
    response = client.get("/qr/contest.png")
    assert response.status_code == 404
    assert "Phường chưa tạo Cuộc thi" in response.get_data(as_text=True)


# ---------------------------------------------------------------- flask enrol-link


def test_enrol_link_prints_a_fresh_url_that_enrols_once(app, runner, client, world):
    result = runner.invoke(args=["enrol-link", "ThanhVien1", "--base-url", "https://so.vn/"])
    assert result.exit_code == 0, result.output
    url = result.stdout.strip()
    assert re.fullmatch(r"https://so\.vn/e/[A-Za-z0-9_-]{22}", url)
    assert re.search(r"hết hạn lúc " + DATETIME.pattern, result.stderr)
    assert enrol_with(client, code_of(url)).status_code == 201
    assert enrol_with(client, code_of(url)).status_code == 400
    row = db.session.scalar(sa.select(EnrolmentCode))
    assert row.user_id == world.users["member"].id and row.created_by_id is None


def test_enrol_link_uses_the_public_url_and_defaults_to_localhost(app, runner, world):
    default = runner.invoke(args=["enrol-link", "thanhvien1"])
    assert default.exit_code == 0
    assert default.stdout.startswith("http://127.0.0.1:5000/e/")
    # Without the setting, the address is said to be a guess, with how to set the real one.
    assert "chưa đặt FIELDAPP_PUBLIC_URL nên địa chỉ trên chỉ là đoán" in default.stderr
    assert "FIELDAPP_PUBLIC_URL=https://cds.example.vn" in default.stderr
    assert "--base-url" in default.stderr
    given = runner.invoke(args=["enrol-link", "thanhvien1", "--base-url", "https://so.vn"])
    assert given.stdout.startswith("https://so.vn/e/") and "đoán" not in given.stderr
    app.config["FIELDAPP_PUBLIC_URL"] = "https://cds.thanhdong.example.vn"
    public = runner.invoke(args=["enrol-link", "totruong1", "--hours", "2"])
    assert public.exit_code == 0
    assert public.stdout.startswith("https://cds.thanhdong.example.vn/e/")
    assert "đoán" not in public.stderr
    row = db.session.scalars(sa.select(EnrolmentCode).order_by(EnrolmentCode.id.desc())).first()
    assert row.expires_at - row.created_at == timedelta(hours=2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["khongco"], "Không có tài khoản 'khongco'."),
        (["canbo"], "Chỉ cấp mã QR cho Thành viên Tổ CNSCĐ và Tổ trưởng."),
        (["truongthcs"], "Chỉ cấp mã QR cho Thành viên Tổ CNSCĐ và Tổ trưởng."),
        (["thanhvien_khoa"], "Tài khoản này đang bị khóa"),
        (["thanhvien1", "--base-url", "javascript:alert(1)//"], "phải bắt đầu bằng http://"),
        (["thanhvien1", "--hours", "0"], "0"),
    ],
)
def test_enrol_link_refuses_clearly_with_a_failing_exit_code(runner, world, args, message):
    locked = add_user("thanhvien_khoa", "member", world.ward, world.units["kdc2"], "Mạc Văn Khóa")
    locked.active = False
    db.session.commit()
    result = runner.invoke(args=["enrol-link", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert "/e/" not in result.output
    assert count(EnrolmentCode) == 0
