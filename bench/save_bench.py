"""How long a save takes on a slow phone: from the tap on "Lưu" to "Chờ gửi" on the screen.

    python bench/save_bench.py [--runs 15] [--throttle 4] [--root CHECKOUT]

The demo city is built in a temporary SQLite file and served by gunicorn; Chromium
(/usr/bin/chromium, 360 × 740) enrols the demo member `tv1a` by a one-time code (the phone
restores the member's history) and waits for its service worker. Then, with the CPU slowed
`--throttle` times (CDP Emulation.setCPUThrottlingRate), it logs `--runs` residents offline,
then `--runs` online (each after the previous one was sent), after one warm-up save each.
Each run is timed from the click event on "Lưu" to the first frame (requestAnimationFrame
after the change) in which the status bar counts one more entry "chờ gửi" (or a notice says
"Chờ gửi"); it also counts the IndexedDB transactions opened before that, whether the entry's
was complete by then, and whether a request to /api/v1/sync had started.

In the same browser and under the same throttling, a minimal page does one IndexedDB write
and shows "chờ gửi": the floor any save can reach here, so the ratio to it compares across
machines. `--root` serves another checkout's code (e.g. the commit before a change, from
`git archive`) over the same demo. Figures only: no test asserts a time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402

from fieldapp import create_app  # noqa: E402
from fieldapp.demo import build_demo  # noqa: E402
from fieldapp.extensions import db  # noqa: E402
from fieldapp.field.enrol import issue_code  # noqa: E402
from fieldapp.models import User  # noqa: E402
from tests.browser.conftest import ARGS, CHROMIUM, PHONE  # noqa: E402
from tests.browser.live import LiveServer  # noqa: E402
from tests.browser.pwa import enrol, go  # noqa: E402

MEMBER = "tv1a"

# Installed in every page: the click on "Lưu", the first frame showing one more "chờ gửi",
# each IndexedDB transaction's end and each request to /api/v1/sync, all on one clock.
PROBE = """
(() => {
  const marks = (window.__marks = { tx: [], sync: [] });
  document.addEventListener('click', (event) => {
    if (event.target.closest?.('[data-bench-save]')) marks.click = event.timeStamp;
  }, true);
  const transaction = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (...args) {
    const tx = transaction.apply(this, args);
    const entry = { mode: tx.mode, opened: performance.now() };
    marks.tx.push(entry);
    tx.addEventListener('complete', () => { entry.complete = performance.now(); });
    return tx;
  };
  const fetch_ = window.fetch;
  window.fetch = function (input, init) {
    const url = typeof input === 'string' ? input : input.url;
    if (url.includes('/api/v1/sync')) marks.sync.push(performance.now());
    return fetch_.call(this, input, init);
  };
  window.__waitFor = (before) => new Promise((resolve) => {
    const seen = () => {
      const wait = document.getElementById('wait');
      const found = wait && wait.textContent.match(/(\\d+) lượt chờ gửi/);
      const n = found ? parseInt(found[1], 10) : 0;
      const box = document.getElementById('notice');
      return n === before + 1 || (box && !box.hidden && box.textContent.includes('Chờ gửi'));
    };
    const done = () => {
      observer.disconnect();
      const changed = performance.now();
      requestAnimationFrame(() => resolve({ changed, frame: performance.now() }));
    };
    const observer = new MutationObserver(() => { if (seen()) done(); });
    const all = { subtree: true, childList: true, characterData: true, attributes: true };
    observer.observe(document.body, all);
  });
})();
"""

# The floor: one IndexedDB put in its own transaction, then the words on the screen.
BASELINE = """<!doctype html><html lang="vi"><meta charset="utf-8"><title>baseline</title>
<body><button id="save" data-bench-save>Lưu</button><p id="wait">0 lượt chờ gửi</p>
<script>
let n = 0;
const opening = new Promise((resolve) => {
  const request = indexedDB.open('baseline', 1);
  request.onupgradeneeded = () => request.result.createObjectStore('records', { keyPath: 'id' });
  request.onsuccess = () => resolve(request.result);
});
document.getElementById('save').addEventListener('click', async () => {
  const database = await opening;
  const tx = database.transaction('records', 'readwrite');
  tx.objectStore('records').put({ id: crypto.randomUUID(), data: { full_name: 'Người dân' } });
  await new Promise((resolve) => { tx.oncomplete = resolve; });
  n += 1;
  document.getElementById('wait').textContent = n + ' lượt chờ gửi';
});
</script></body></html>"""


# (store, key) -> the meta value of `key`, or the number of records when key is null.
READ_IDB = """((store, key) => new Promise((resolve) => {
  const open = indexedDB.open('fieldapp');
  open.onsuccess = () => {
    const os = open.result.transaction(store).objectStore(store);
    const request = key === null ? os.count() : os.get(key);
    request.onsuccess = () => { open.result.close(); resolve(request.result); };
  };
}))"""


def build_server(tmp: Path, root: Path = ROOT) -> tuple[LiveServer, str]:
    """The demo city in a temporary SQLite file, served; returns (server, an enrolment code)."""
    db_file = tmp / "demo.sqlite"
    app: Flask = create_app(
        {
            "DATABASE_URL": f"sqlite:///{db_file}",
            "SECRET_KEY": "save-bench-" + "k" * 32,
            "FIELDAPP_ENV": "development",
        }
    )
    with app.app_context():
        db.create_all()
        build_demo()
        member = db.session.scalar(sa.select(User).where(User.username == MEMBER))
        code, _row = issue_code(member, created_by=None)
        db.session.commit()
    server = LiveServer(db_file, root=root)
    server.start()
    return server, code


def waiting(page) -> int:
    text = page.text_content("#wait") or ""
    digits = text.split(" lượt chờ gửi")[0] if "lượt chờ gửi" in text else "0"
    return int(digits) if digits.isdigit() else 0


def all_sent(page) -> None:
    page.wait_for_function(
        "() => /Đã gửi hết/.test(document.getElementById('wait').textContent)", timeout=120000
    )


def fill(page, n: int) -> None:
    go(page, "#/")
    page.fill("#f-full_name", f"Người Dân Thử {n}")
    page.fill("#f-birth_year", "1956")
    page.check("input[name=category][value=elderly]")
    page.check("input[name=steps][value=installed]")
    page.check("input[name=steps][value=registered]")
    page.check("#f-consent")


def time_one(page, before: int, target: str) -> dict:
    """Click `target` and wait for the frame that shows one more entry waiting."""
    page.evaluate("() => { window.__marks.tx = []; window.__marks.sync = []; }")
    page.evaluate("(n) => { window.__result = window.__waitFor(n); }", before)
    page.click(target, no_wait_after=True)
    shown = page.evaluate("() => window.__result")
    marks = page.evaluate("() => window.__marks")
    click = marks["click"]
    before_screen = [t for t in marks["tx"] if t["opened"] < shown["changed"]]
    return {
        "ms": shown["frame"] - click,
        "change_ms": shown["changed"] - click,
        "transactions": len(before_screen),
        "durable": any(
            t["mode"] == "readwrite" and t.get("complete", 1e18) <= shown["changed"]
            for t in before_screen
        ),
        "sync_before": sum(1 for t in marks["sync"] if t < shown["changed"]),
    }


def summary(label: str, values: list[float]) -> str:
    values = sorted(values)
    return (
        f"{label}: median {statistics.median(values):.0f} ms, "
        f"min {values[0]:.0f}, max {values[-1]:.0f}, "
        f"p90 {values[int(0.9 * (len(values) - 1))]:.0f} (n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--throttle", type=float, default=4.0)
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp_name:
        server, code = build_server(Path(tmp_name), args.root.resolve())
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=ARGS, headless=True
                )
                context = browser.new_context(viewport=PHONE, locale="vi-VN", has_touch=True)
                context.add_init_script(PROBE)
                page = context.new_page()
                enrol(page, server.url, code)
                page.wait_for_function(
                    f"async () => (await {READ_IDB})('meta', 'restore_pending') === false"
                )
                history = page.evaluate(f"async () => (await {READ_IDB})('records', null)")
                page.evaluate(
                    "() => document.getElementById('log-save').setAttribute('data-bench-save', '')"
                )
                cdp = context.new_cdp_session(page)
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": args.throttle})
                runs = {"offline": [], "online": []}
                for mode in ("offline", "online"):
                    context.set_offline(mode == "offline")
                    for n in range(args.runs + 1):
                        if mode == "online":
                            all_sent(page)
                        fill(page, n)
                        result = time_one(page, waiting(page), "#log-save")
                        if n:  # the first one warms the code paths up
                            runs[mode].append(result)
                all_sent(page)

                base = context.new_page()
                # Another origin than the app's, so that no service worker answers it.
                floor_url = server.url.replace("127.0.0.1", "localhost") + "/baseline"
                base.route(
                    floor_url,
                    lambda route: route.fulfill(body=BASELINE, content_type="text/html"),
                )
                base.goto(floor_url)
                base_cdp = context.new_cdp_session(base)
                base_cdp.send("Emulation.setCPUThrottlingRate", {"rate": args.throttle})
                floor = []
                for n in range(args.runs + 1):
                    result = time_one(base, n, "#save")
                    if n:
                        floor.append(result["ms"])
                browser.close()
        finally:
            server.stop()

    print(f"{args.root.resolve()}: CPU slowed {args.throttle:g}×, 360 × 740, {history} entries")
    for mode, found in runs.items():
        app_ms = [r["ms"] for r in found]
        print(summary(f"{mode}: tap on Lưu → frame showing 'chờ gửi'", app_ms))
        print(summary("    the DOM change itself", [r["change_ms"] for r in found]))
        print(
            "    IndexedDB transactions opened before it: "
            + ", ".join(sorted({str(r["transactions"]) for r in found}))
            + f"; the entry committed before it in {sum(r['durable'] for r in found)}"
            + f"/{len(found)} runs; a send started before it in "
            + f"{sum(bool(r['sync_before']) for r in found)}/{len(found)}"
        )
        print(f"    ratio to the baseline (medians): {ratio(app_ms, floor):.2f}")
    print(summary("baseline page, one IndexedDB write", floor))


def ratio(values: list[float], floor: list[float]) -> float:
    return statistics.median(values) / statistics.median(floor)


if __name__ == "__main__":
    main()
