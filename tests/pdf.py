"""Reading a PDF as a person reads paper: the lines of each page and where they sit (pypdf)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader

MM = 25.4 / 72  # one PDF point in millimetres


@dataclass
class Line:
    """A line of text on a page: its baseline and left edge in mm from the top-left corner."""

    top: float
    left: float
    text: str


def pdf_pages(pdf: bytes | Path) -> list[list[Line]]:
    """Every page's lines, top to bottom (runs on one baseline joined left to right)."""
    data = pdf.read_bytes() if isinstance(pdf, Path) else pdf
    pages = []
    for page in PdfReader(io.BytesIO(data)).pages:
        height = float(page.mediabox.height)
        runs: list[tuple[float, float, str]] = []

        def visit(text, cm, tm, _font, _size, runs=runs, height=height):
            if text.strip():
                # The text matrix placed by the current transformation (Chromium flips y).
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                runs.append(((height - y) * MM, x * MM, text.replace("\xa0", " ").strip()))

        page.extract_text(visitor_text=visit)
        groups: list[list[tuple[float, float, str]]] = []
        for run in sorted(runs):
            if groups and run[0] - groups[-1][0][0] < 1.0:  # the same baseline, within 1 mm
                groups[-1].append(run)
            else:
                groups.append([run])
        lines = []
        for group in groups:
            group.sort(key=lambda run: run[1])
            lines.append(Line(group[0][0], group[0][1], " ".join(run[2] for run in group)))
        pages.append(lines)
    return pages


def page_texts(pdf: bytes | Path) -> list[str]:
    """Every page's text, as pypdf reads it."""
    data = pdf.read_bytes() if isinstance(pdf, Path) else pdf
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]
