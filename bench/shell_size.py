"""How heavy is the member's app on a phone? Bytes and requests of a cold and a repeat load.

Starts the app under gunicorn (temporary SQLite database), opens /app in a fresh headless
Chromium until the service worker has precached the shell, then loads it again. Bytes are
the response bodies as sent over the wire (gzip where the app compresses), counted from the
server's access log, so the service worker's own fetches are included.

    .venv/bin/python bench/shell_size.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.conftest import ARGS, CHROMIUM, PHONE  # noqa: E402
from tests.browser.live import LiveServer, ServerDb  # noqa: E402

LOG_FORMAT = "%(s)s %(B)s %(r)s"


def read_log(path: Path, start: int) -> tuple[list[tuple[str, int, int]], int]:
    """Access-log lines written since `start`: (request, status, body bytes)."""
    text = path.read_text()
    rows = []
    for line in text[start:].splitlines():
        parts = line.split()  # status, bytes, method, path, protocol
        if len(parts) == 5 and parts[3] != "/healthz":
            size = 0 if parts[1] == "-" else int(parts[1])
            rows.append((f"{parts[2]} {parts[3]}", int(parts[0]), size))
    return rows, len(text)


def show(title: str, rows: list[tuple[str, int, int]]) -> None:
    total = sum(size for _, _, size in rows)
    print(f"\n{title}: {len(rows)} requests, {total:,} bytes ({total / 1024:.1f} KiB)")
    for request, status, size in rows:
        print(f"  {status} {size:>7,}  {request}")


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="shell-size-"))
    db_file = tmp / "bench.sqlite"
    ServerDb(db_file)
    access = tmp / "access.log"
    server = LiveServer(
        db_file,
        extra_args=("--access-logfile", str(access), "--access-logformat", LOG_FORMAT),
    )
    server.start()
    try:
        _, start = read_log(access, 0)  # not the server's start-up health check
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            context = browser.new_context(viewport=PHONE)
            page = context.new_page()
            began = time.monotonic()
            page.goto(server.url + "/app")
            page.wait_for_selector("html[data-ready]")
            ready_at = time.monotonic() - began
            page.wait_for_function("() => navigator.serviceWorker.controller !== null")
            time.sleep(1)
            cold, start = read_log(access, start)
            page.reload()
            page.wait_for_selector("html[data-ready]")
            time.sleep(1)
            repeat, start = read_log(access, start)
            context.set_offline(True)
            page.reload()
            page.wait_for_selector("html[data-ready]")
            offline_ok = page.is_visible("#view-welcome")
            browser.close()
    finally:
        server.stop()

    show("Cold load of /app (page + service-worker precache)", cold)
    print(f"  ready (data-ready set) after {ready_at * 1000:.0f} ms on localhost")
    show("Repeat load of /app (online)", repeat)
    print(f"\nOffline reload shows the shell: {offline_ok}")


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()
    main()
