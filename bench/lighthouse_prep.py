"""Prepare a Chromium profile for bench/lighthouse.sh: enrol a phone, sign an officer in.

Opens the one-time enrolment link in a persistent profile (the device token lands in the
profile's IndexedDB, which Lighthouse then reuses), signs in as the demo officer, writes the
session cookie to <out>/cookie.txt (Chromium drops session cookies when it closes, so
Lighthouse gets it as a header) and takes 360 × 740 screenshots of the log form and dashboard.

    .venv/bin/python bench/lighthouse_prep.py BASE_URL ENROL_URL PROFILE_DIR OUT_DIR
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright


def main(base: str, enrol_url: str, profile: str, out: Path) -> None:
    """Enrol, sign in, save the cookie and the screenshots."""
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile,
            executable_path="/usr/bin/chromium",
            headless=True,
            args=["--no-sandbox"],
            viewport={"width": 360, "height": 740},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
        )
        page = ctx.new_page()
        page.goto(enrol_url)
        page.wait_for_url("**/app#/**", timeout=20000)
        page.wait_for_selector("#view-log form", timeout=20000)
        page.wait_for_timeout(1000)
        page.screenshot(path=out / "log.png")
        page.screenshot(path=out / "log_full.png", full_page=True)
        page.goto(base + "/login")
        page.fill("input[name=username]", "canbo")
        page.fill("input[name=password]", "canbo123")
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        page.goto(base + "/reports/")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=out / "reports.png")
        page.screenshot(path=out / "reports_full.png", full_page=True)
        cookies = ctx.cookies(base)
        (out / "cookie.txt").write_text("; ".join(f"{c['name']}={c['value']}" for c in cookies))
        ctx.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", help="the running app, e.g. http://127.0.0.1:5077")
    parser.add_argument("enrol_url", help="a member's one-time enrolment link")
    parser.add_argument("profile_dir", help="Chromium profile to create (Lighthouse reuses it)")
    parser.add_argument("out_dir", type=Path, help="where cookie.txt and the screenshots go")
    args = parser.parse_args()
    main(args.base_url, args.enrol_url, args.profile_dir, args.out_dir)
