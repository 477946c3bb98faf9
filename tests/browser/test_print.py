"""The printable report as Chromium prints it to A4, from a laptop and from a 360 px phone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldapp import create_app, demo
from fieldapp.extensions import db
from tests.browser.conftest import PHONE
from tests.browser.live import LiveServer
from tests.browser.pwa import WAIT_MS
from tests.browser.test_enrol_qr import keep
from tests.pdf import Line, pdf_pages

SIGNER = "Phạm Văn Thử"  # made up
TOP_MARGIN_MM = 15


@pytest.fixture(scope="module")
def demo_server(browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server over the demo ward, whose report runs onto a second page."""
    db_file = tmp_path_factory.mktemp("print") / "demo.sqlite"
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{db_file}",
            "SECRET_KEY": "print-tests-" + "k" * 32,
            "FIELDAPP_ENV": "development",
        }
    )
    with app.app_context():
        db.create_all()
        demo.build_demo()
        db.session.remove()
    server = LiveServer(db_file)
    server.start()
    yield server
    server.stop()


def _report(browser, server: LiveServer, viewport: dict[str, int]):
    context = browser.new_context(viewport=viewport, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{server.url}/login")
    page.fill("#username", demo.OFFICER[0])
    page.fill("#password", demo.OFFICER[1])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin.*"), timeout=WAIT_MS)
    page.goto(f"{server.url}/reports/print")
    return context, page


def _body(lines: list[Line]) -> list[Line]:
    """A page's lines without its number (a lone figure at the top, in the margin)."""
    return [line for line in lines if not (line.top < 20 and line.text.isdigit())]


def _assert_a4_pages(pdf: bytes) -> list[list[Line]]:
    pages = pdf_pages(pdf)
    assert len(pages) >= 2, "the demo's report runs onto a second page"
    for number, lines in enumerate(pages, 1):
        body = _body(lines)
        # Text baselines: the tops of the letters sit about 3 mm higher.
        assert body[0].top - 3 >= TOP_MARGIN_MM, (number, body[0])
        assert body[-1].top <= 297 - TOP_MARGIN_MM, (number, body[-1])
        assert min(line.left for line in body) >= 25, number  # the binding margin: 30 mm
        numbers = [line for line in lines if line not in body]
        if number == 1:
            assert numbers == []  # Decree 30/2020: the first page carries no number
        else:
            assert [n.text for n in numbers] == [str(number)]
            assert 100 < numbers[0].left < 125 and numbers[0].top < body[0].top  # top centre
    # A heading is never the last line of its page.
    for lines in pages:
        assert not re.match(r"^[IVX]+\. ", _body(lines)[-1].text), _body(lines)[-1]
    return pages


def test_the_printed_report_has_margins_on_every_page_and_the_signers_name(
    browser, demo_server, tmp_path: Path
) -> None:
    context, page = _report(browser, demo_server, {"width": 1280, "height": 900})
    try:
        page.fill("[data-signer-input]", SIGNER)
        pdf = page.pdf(format="A4", prefer_css_page_size=True)
        (tmp_path / "report.pdf").write_bytes(pdf)
        pages = _assert_a4_pages(pdf)
        text = [line.text for lines in pages for line in lines]
        assert SIGNER in text  # under the signature, on its own line
        assert text.index(SIGNER) > text.index("PHÓ CHỦ TỊCH")
        # The title breaks between phrases, never leaving the campaign's last word alone.
        # (The demo's running campaign is the contest's second round: "… an toàn (đợt 2)".)
        end = next(line for line in text if line.endswith("(đợt 2)”"))
        assert len(end.split()) >= 2, end
        # The name is remembered on this computer for the next report.
        page.reload()
        assert page.input_value("[data-signer-input]") == SIGNER
    finally:
        context.close()

    # Without a name typed, a dotted line is left to sign above and write on.
    context, page = _report(browser, demo_server, {"width": 1280, "height": 900})
    try:
        line = page.locator("[data-signer-name]")
        assert line.inner_text() == ""
        assert line.bounding_box()["width"] > 100
        assert (
            page.evaluate("el => getComputedStyle(el).borderBottomStyle", line.element_handle())
            == "dotted"
        )
    finally:
        context.close()


def test_at_360_px_the_header_blocks_stack_and_the_print_is_still_a4(
    browser, demo_server, tmp_path: Path
) -> None:
    context, page = _report(browser, demo_server, PHONE)
    try:
        shot = tmp_path / "print-report-360.png"
        page.screenshot(path=str(shot), full_page=True)
        keep(shot)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        org = page.get_by_text("ỦY BAN NHÂN DÂN", exact=True).bounding_box()
        motto = page.get_by_text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM").bounding_box()
        assert org["y"] + org["height"] <= motto["y"], (org, motto)  # one above the other
        for box in (org, motto):
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        # The wide table scrolls in its own box, and says so.
        assert page.get_by_text("kéo ngang để xem hết các cột").is_visible()
        # Printed from the phone: the A4 layout, the two blocks side by side again.
        pages = _assert_a4_pages(page.pdf(format="A4", prefer_css_page_size=True))
        first = {line.text: line for line in pages[0]}
        row = next(t for t in first if t.startswith("ỦY BAN NHÂN DÂN"))
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in row
    finally:
        context.close()
