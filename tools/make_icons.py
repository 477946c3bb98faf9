"""Draw the PWA's PNG icons (192, 512 and a maskable 512) like static/icons/icon.svg.

Run: .venv/bin/python tools/make_icons.py   (writes static/icons/*.png)
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ICONS = Path(__file__).resolve().parent.parent / "static" / "icons"
TEAL = (11, 85, 99, 255)
WHITE = (255, 255, 255, 255)
SCREEN = (216, 238, 241, 255)
SUPERSAMPLE = 4


def draw(size: int, maskable: bool) -> Image.Image:
    """The icon on a 512-unit grid, drawn large and scaled down for smooth edges."""
    big = size * SUPERSAMPLE
    unit = big / 512
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    if maskable:
        # Full bleed; the drawing shrinks into the 80 % circle every mask keeps.
        pen.rectangle((0, 0, big, big), fill=TEAL)
        scale, offset = 0.72, 256 * (1 - 0.72)
    else:
        pen.rounded_rectangle((0, 0, big - 1, big - 1), radius=96 * unit, fill=TEAL)
        scale, offset = 1.0, 0.0

    def box(x0: float, y0: float, x1: float, y1: float) -> tuple[float, ...]:
        return tuple((offset + v * scale) * unit for v in (x0, y0, x1, y1))

    def point(x: float, y: float) -> tuple[float, float]:
        return ((offset + x * scale) * unit, (offset + y * scale) * unit)

    pen.rounded_rectangle(box(150, 96, 362, 416), radius=28 * scale * unit, fill=WHITE)
    pen.rounded_rectangle(box(176, 132, 336, 352), radius=8 * scale * unit, fill=SCREEN)
    width = round(26 * scale * unit)
    check = [point(206, 246), point(240, 280), point(310, 202)]
    pen.line(check, fill=TEAL, width=width, joint="curve")
    for x, y in (check[0], check[-1]):
        r = width / 2
        pen.ellipse((x - r, y - r, x + r, y + r), fill=TEAL)
    pen.ellipse(box(242, 370, 270, 398), fill=TEAL)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    for name, size, maskable in (
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("icon-maskable-512.png", 512, True),
    ):
        image = draw(size, maskable)
        if maskable:
            image = image.convert("RGB")  # a maskable icon must be opaque
        # Four flat colours and their edges: a small palette keeps the files small.
        image = image.quantize(colors=64, method=Image.Quantize.FASTOCTREE)
        image.save(ICONS / name, optimize=True)
        print(name, (ICONS / name).stat().st_size, "bytes")


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    main()
