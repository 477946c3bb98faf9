"""QR figures: code version and printed module size, image sizes, render time, cache speed-up.

Run: .venv/bin/python bench/qr_bench.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fieldapp.qr import codes  # noqa: E402

ENROL = "https://cds.thanhdong.example.vn/e/" + "A" * 22  # 22 characters, as field/enrol.py makes
CONTEST = "https://congdanso.example.vn/cuoc-thi"
PRINTED_MM = {"sheet card": 46, "poster": 125, "laptop screen (~360 CSS px)": 95}


def per_call(fn, *args, runs: int = 50) -> float:
    start = time.perf_counter()
    for _ in range(runs):
        fn(*args)
    return (time.perf_counter() - start) / runs * 1000


def main() -> None:
    for name, url in (("enrolment URL", ENROL), ("contest link", CONTEST)):
        code = codes._qr(url)
        side = code.modules_count + 2 * codes.QUIET_ZONE
        print(f"{name}: {len(url)} chars, version {code.version}, EC M, {side} modules in all")
        for where, mm in PRINTED_MM.items():
            print(
                f"  {where}: {mm} mm image -> {mm / side:.2f} mm per module,"
                f" symbol {mm * code.modules_count / side:.0f} mm"
            )
        print(
            f"  PNG {len(codes.png(url))} bytes, SVG {len(codes.svg_document(url))} bytes,"
            f" inline SVG {len(codes.svg_inline(url))} bytes"
        )
    print(
        f"render PNG {per_call(codes.png, ENROL):.2f} ms,"
        f" SVG {per_call(codes.svg_inline, ENROL):.2f} ms"
    )
    codes.cached_png.cache_clear()
    codes.cached_png(CONTEST)
    print(
        f"cached PNG: {per_call(codes.cached_png, CONTEST, runs=10000) * 1000:.2f} µs per request"
    )


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    main()
