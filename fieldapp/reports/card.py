"""The progress card: a square PNG of a group's or a ward's figures, to share in Zalo groups.

Only totals go on it (a unit or ward name, residents helped, people tested, the target, the
date), never a resident's data. Drawn with Pillow and the vendored DejaVu fonts (fonts/).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ..text import fmt_date, fmt_number

SIZE = 1080  # square: Zalo and other chats show it whole
MARGIN = 72
WIDTH = SIZE - 2 * MARGIN
FONTS = Path(__file__).parent / "fonts"
THEME = (11, 85, 99)  # the app's colour, #0b5563
INK = (27, 38, 44)
MUTED = (84, 99, 107)
BAR_BACK = (214, 228, 231)
BAR_DONE = (46, 139, 87)
MAX_TITLE_LINES = 2
MAX_CAMPAIGN_LINES = 3


@dataclass(frozen=True)
class Card:
    """What the card says. `title`: the unit's or ward's name; `place`: the ward's."""

    title: str
    place: str
    campaign: str
    residents: int
    tested: int
    target: int | None
    day: date

    def __post_init__(self) -> None:
        for name in ("residents", "tested"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number ≥ 0")
        if self.target is not None and (not isinstance(self.target, int) or self.target <= 0):
            raise ValueError("target must be a whole number > 0, or None")

    @property
    def percent(self) -> float | None:
        if not self.target:
            return None
        return 100.0 * self.tested / self.target


@dataclass(frozen=True)
class Line:
    """One line of text placed on the card."""

    text: str
    size: int
    bold: bool
    colour: tuple[int, int, int]
    x: int
    y: int


@cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONTS / name), size)


def wrap(text: str, size: int, bold: bool, width: int, max_lines: int) -> list[str]:
    """Words in lines no wider than `width`; the last line ends in "…" if words are left."""
    face = font(size, bold)
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if face.getlength(trial) <= width or not current:
            current = trial
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] += " …"
    # A single word longer than the card (rare): cut it to fit.
    fitted = []
    for line in lines:
        while face.getlength(line) > width and len(line) > 1:
            line = line[:-2] + "…"
        fitted.append(line)
    return fitted


def percent_text(value: float | None) -> str:
    """91,6% (Vietnamese decimal comma)."""
    if value is None:
        return ""
    return fmt_number(value, 1) + "%"


@dataclass(frozen=True)
class Layout:
    """The card's lines, the bottom of its coloured band, the top of its progress bar."""

    lines: list[Line]
    band: int
    bar: int | None


def layout(card: Card) -> Layout:
    """Every line of text and where it goes (tested: each fits inside the margins)."""
    out: list[Line] = []
    y = 56
    for text in wrap(card.place, 38, True, WIDTH, 1):
        out.append(Line(text, 38, True, (255, 255, 255), MARGIN, y))
        y += 50
    for text in wrap(card.campaign, 28, False, WIDTH, MAX_CAMPAIGN_LINES):
        out.append(Line(text, 28, False, (230, 242, 244), MARGIN, y))
        y += 38
    band = max(y, 200) + 18
    y = band + 38
    for text in wrap(card.title, 64, True, WIDTH, MAX_TITLE_LINES):
        out.append(Line(text, 64, True, THEME, MARGIN, y))
        y += 78
    y += 24
    figures = [(fmt_number(card.residents), "người dân được Tổ CNSCĐ hỗ trợ")]
    figures.append((fmt_number(card.tested), "người đã hoàn thành bài thi"))
    for number, label in figures:
        out.append(Line(number, 96, True, INK, MARGIN, y))
        out.append(Line(label, 34, False, MUTED, MARGIN, y + 110))
        y += 176
    bar = None
    if card.target:
        share = f"{percent_text(card.percent)} chỉ tiêu"
        out.append(Line(share, 56, True, BAR_DONE, MARGIN, y))
        detail = f"{fmt_number(card.tested)} / {fmt_number(card.target)} người đã thi"
        out.append(Line(detail, 32, False, MUTED, MARGIN, y + 70))
        bar = y + 122
    else:
        out.append(Line("Chưa có chỉ tiêu", 40, False, MUTED, MARGIN, y))
    out.append(Line(f"Số liệu ngày {fmt_date(card.day)}", 30, False, MUTED, MARGIN, SIZE - 84))
    return Layout(out, band, bar)


def draw(card: Card) -> bytes:
    """The card as PNG bytes (1080 × 1080, RGB)."""
    image = Image.new("RGB", (SIZE, SIZE), (255, 255, 255))
    pen = ImageDraw.Draw(image)
    placed = layout(card)
    pen.rectangle((0, 0, SIZE, placed.band), fill=THEME)
    for line in placed.lines:
        pen.text((line.x, line.y), line.text, font=font(line.size, line.bold), fill=line.colour)
    if placed.bar is not None:
        top = placed.bar
        pen.rounded_rectangle((MARGIN, top, SIZE - MARGIN, top + 28), radius=14, fill=BAR_BACK)
        done = min(1.0, (card.percent or 0) / 100)
        if done > 0:
            right = MARGIN + max(28, round(WIDTH * done))
            pen.rounded_rectangle((MARGIN, top, right, top + 28), radius=14, fill=BAR_DONE)
    out = io.BytesIO()
    image.save(out, "PNG")  # zlib level 6: a quarter of optimize=True's time, 5 % larger
    return out.getvalue()
