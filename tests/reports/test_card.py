"""The progress card: drawn from totals only, every line inside the card, a real PNG."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image

from fieldapp.reports import card
from fieldapp.sync import contract
from fieldapp.text import local_today
from tests.sync.test_contract import assist

DAY = date(2025, 11, 5)


def a_card(**changes):
    values = {
        "title": "Tổ dân phố số 3",
        "place": "Phường Thành Đông",
        "campaign": "Công dân số Hải Phòng – sử dụng thông minh, sống an toàn",
        "residents": 74,
        "tested": 61,
        "target": 95,
        "day": DAY,
    }
    values.update(changes)
    return card.Card(**values)


def texts(drawn):
    return [line.text for line in card.layout(drawn).lines]


def decoded(body: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(body))
    image.load()
    return image


def test_the_card_says_the_unit_its_figures_the_share_of_target_and_the_day():
    lines = texts(a_card())
    assert lines[:2] == [
        "Phường Thành Đông",
        "Công dân số Hải Phòng – sử dụng thông minh, sống an toàn",
    ]
    assert "Tổ dân phố số 3" in lines
    assert [line for line in lines if line[:1].isdigit() or line.startswith("người")][:4] == [
        "74",
        "người dân được Tổ CNSCĐ hỗ trợ",
        "61",
        "người đã hoàn thành bài thi",
    ]
    assert "64,2% chỉ tiêu" in lines and "61 / 95 người đã thi" in lines
    assert lines[-1] == "Số liệu ngày 05/11/2025"


def test_without_a_target_the_card_says_so_and_draws_no_bar():
    drawn = a_card(target=None)
    assert "Chưa có chỉ tiêu" in texts(drawn)
    assert card.layout(drawn).bar is None
    assert drawn.percent is None


def test_big_numbers_use_the_vietnamese_thousands_dot():
    lines = texts(a_card(residents=12345, tested=10000, target=9000))
    assert {"12.345", "10.000", "111,1% chỉ tiêu", "10.000 / 9.000 người đã thi"} <= set(lines)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"title": "Trường Trung học cơ sở Nguyễn Bỉnh Khiêm và các đơn vị liên kết của phường"},
        {"campaign": "Cuộc thi " * 60},
        {"title": "Tổ" + "Đ" * 200},  # one word longer than the card
        {"place": "Đặc khu " + "Bạch Long Vĩ " * 10},
    ],
)
def test_every_line_fits_inside_the_margins_and_above_the_date(changes):
    placed = card.layout(a_card(**changes))
    for line in placed.lines:
        width = card.font(line.size, line.bold).getlength(line.text)
        assert line.x >= card.MARGIN and line.x + width <= card.SIZE - card.MARGIN, line
        assert 0 < line.y < card.SIZE - line.size, line
    title_lines = [line for line in placed.lines if line.size == 64]
    assert 1 <= len(title_lines) <= card.MAX_TITLE_LINES
    body = placed.lines[:-1]
    assert max(line.y + line.size for line in body) < placed.lines[-1].y  # nothing over the date
    if placed.bar is not None:
        assert placed.bar + 28 < placed.lines[-1].y


@pytest.mark.parametrize(
    "changes",
    [{"residents": -1}, {"tested": 1.5}, {"tested": True}, {"target": 0}, {"target": -5}],
)
def test_impossible_figures_are_refused(changes):
    with pytest.raises(ValueError):
        a_card(**changes)


def test_the_png_decodes_square_rgb_in_the_apps_colour():
    image = decoded(card.draw(a_card()))
    assert image.format == "PNG"
    assert (image.size, image.mode) == ((card.SIZE, card.SIZE), "RGB")
    assert image.getpixel((5, 5)) == card.THEME  # the band
    assert image.getpixel((5, card.SIZE - 5)) == (255, 255, 255)
    # The bar: filled 64 % of the way, the rest its background.
    bar = card.layout(a_card()).bar + 14
    assert image.getpixel((card.MARGIN + 30, bar)) == card.BAR_DONE
    assert image.getpixel((card.SIZE - card.MARGIN - 30, bar)) == card.BAR_BACK


# --- the routes -------------------------------------------------------------------------------


def drawn_cards(monkeypatch):
    seen = []
    real = card.draw

    def spy(drawn):
        seen.append(drawn)
        return real(drawn)

    monkeypatch.setattr(card, "draw", spy)
    return seen


def test_the_group_heads_card_has_the_groups_totals_and_no_residents_data(
    client, auth, world, monkeypatch
):
    contract.sync_records([assist(world)], world.users["member"])  # Nguyễn Thị Hoa, tested
    seen = drawn_cards(monkeypatch)
    auth.login("totruong1")
    response = client.get("/unit/card.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["Cache-Control"] == "private, no-store"
    today = local_today()
    assert (
        f'filename="ket-qua-{world.units["kdc1"].id}-{today.isoformat()}.png"'
        in (response.headers["Content-Disposition"])
    )
    image = decoded(response.data)
    assert (image.size, image.mode) == ((1080, 1080), "RGB")
    [drawn] = seen
    assert (drawn.title, drawn.place) == ("Khu dân cư số 1", "Phường Thành Đông")
    assert (drawn.residents, drawn.tested, drawn.target, drawn.day) == (1, 1, 100, today)
    everything = " ".join(texts(drawn))
    for personal in ("Nguyễn Thị Hoa", "Hoa", "0912", "1954", "Mắt kém"):
        assert personal not in everything
    # Another group's card is not theirs to draw.
    other = client.get(f"/unit/card.png?unit_id={world.units['kdc2'].id}")
    assert other.status_code == 404


def test_the_officers_ward_card(client, auth, world, monkeypatch):
    contract.sync_records([assist(world)], world.users["member"])
    seen = drawn_cards(monkeypatch)
    auth.login("canbo")
    response = client.get("/reports/card.png")
    assert response.status_code == 200 and decoded(response.data).size == (1080, 1080)
    [drawn] = seen
    assert (drawn.title, drawn.place) == ("Phường Thành Đông", "Kết quả toàn phường")
    assert (drawn.residents, drawn.tested) == (1, 1)
    assert drawn.target == 710  # the ward's targets: 100 + 80 + 30 + 500
    unit = client.get(f"/unit/card.png?unit_id={world.units['kdc2'].id}")
    assert unit.status_code == 200 and seen[-1].title == "Khu dân cư số 2"


def test_the_dashboards_offer_to_share_the_card_and_the_contest_code(client, auth, world):
    auth.login("canbo")
    page = client.get("/reports/").get_data(as_text=True)
    assert 'href="/reports/card.png"' in page and "data-share" in page
    assert 'href="/qr/contest.png"' in page  # the campaign has a contest link
    assert "js/share.js" in page
    auth.logout()
    auth.login("totruong1")
    page = client.get("/unit").get_data(as_text=True)
    assert f'href="/unit/card.png?unit_id={world.units["kdc1"].id}"' in page
    assert 'download="ket-qua-' in page
