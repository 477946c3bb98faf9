"""Sharing the progress card: the Web Share API with the PNG where the browser can share files,
a download otherwise (Chromium at 360 px, a real server)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from fieldapp.text import local_today
from tests.browser.pwa import WAIT_MS
from tests.world import PASSWORD

# A phone browser that can share files (Chrome on Android): what it was asked to share.
FAKE_SHARE = """
  window.__shared = [];
  navigator.canShare = (data) => Boolean(data && data.files && data.files.length);
  navigator.share = async (data) => {
    const file = data.files[0];
    const bytes = new Uint8Array(await file.arrayBuffer());
    window.__shared.push({ name: file.name, type: file.type, size: file.size,
                           png: bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47,
                           text: data.text });
  };
"""


def sign_in(page, live, username):
    page.goto(f"{live.url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_without_file_sharing_the_card_downloads_as_a_png(phone, live):
    page = phone.new_page()
    sign_in(page, live, "canbo")
    page.goto(f"{live.url}/reports/")
    link = page.locator("#chia-se a[href='/reports/card.png']")
    assert link.text_content() == "Tải ảnh kết quả"
    with page.expect_download(timeout=WAIT_MS) as download:
        link.click()
    assert download.value.suggested_filename == f"ket-qua-toan-phuong-{local_today()}.png"
    image = Image.open(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert (image.format, image.size, image.mode) == ("PNG", (1080, 1080), "RGB")


def test_with_file_sharing_the_group_head_shares_the_image_itself(phone, live):
    phone.add_init_script(FAKE_SHARE)
    page = phone.new_page()
    sign_in(page, live, "totruong1")
    page.goto(f"{live.url}/unit")
    link = page.locator("#chia-se a[href^='/unit/card.png']")
    link.wait_for(timeout=WAIT_MS)
    page.wait_for_function(
        "() => document.querySelector('#chia-se a').textContent.startsWith('Chia sẻ')"
    )
    assert link.text_content() == "Chia sẻ ảnh kết quả"
    link.click()
    page.wait_for_function("() => window.__shared.length === 1", timeout=WAIT_MS)
    [shared] = page.evaluate("() => window.__shared")
    assert shared["type"] == "image/png" and shared["png"] and shared["size"] > 10_000
    assert shared["name"].startswith("ket-qua-") and shared["name"].endswith(
        f"-{local_today()}.png"
    )
    assert shared["text"].startswith("Khu dân cư số 1: ")
    # The contest's QR code is shared the same way.
    page.click("#chia-se a[href='/qr/contest.png']")
    page.wait_for_function("() => window.__shared.length === 2", timeout=WAIT_MS)
    assert page.evaluate("() => window.__shared[1].name") == "ma-qr-cuoc-thi.png"
