"""What a member does on the phone, as steps the browser tests share."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

WAIT_MS = 20000


def enrol(page, base_url: str, code: str) -> None:
    """Open the QR code's address; end on the log form, with the service worker in control."""
    page.goto(f"{base_url}/e/{code}")
    page.wait_for_url("**/app#/", timeout=WAIT_MS)
    ready(page)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=WAIT_MS)


def ready(page) -> None:
    page.wait_for_selector("html[data-ready]", timeout=WAIT_MS)


def go(page, hash_: str) -> None:
    page.evaluate("(h) => { location.hash = h; }", hash_)
    view = {"#/": "log", "#/mine": "mine", "#/difficulty": "difficulty"}.get(hash_)
    if view:
        page.wait_for_selector(f"#view-{view}:not([hidden])", timeout=WAIT_MS)


def log_resident(
    page,
    name: str,
    *,
    phone: str = "",
    birth_year: str = "",
    category: str = "elderly",
    steps: Iterable[str] = ("installed", "registered"),
    unit_id: int | None = None,
) -> None:
    """Fill the log form for one resident and save it."""
    go(page, "#/")
    page.fill("#f-full_name", name)
    page.fill("#f-birth_year", birth_year)
    page.fill("#f-phone", phone)
    if unit_id is not None:
        page.select_option("#f-unit_id", str(unit_id))
    page.check(f"input[name=category][value={category}]")
    for step in steps:
        page.check(f"input[name=steps][value={step}]")
    page.check("#f-consent")
    saved = notices(page)
    page.click("#log-save")
    page.wait_for_function("(n) => window.__notices > n", arg=saved, timeout=WAIT_MS)


def notices(page) -> int:
    """How many notices the page has shown (installs a counter on first use)."""
    return page.evaluate(
        """() => {
          if (window.__notices === undefined) {
            window.__notices = 0;
            const box = document.getElementById('notice');
            new MutationObserver(() => { if (!box.hidden) window.__notices += 1; })
              .observe(box, {attributes: true, childList: true, subtree: true});
          }
          return window.__notices;
        }"""
    )


def entries(page) -> list[dict]:
    """The entries of "Của tôi": name and the state words of each."""
    go(page, "#/mine")
    return page.evaluate(
        """() => [...document.querySelectorAll('#mine-list .fa-item')].map((a) => ({
             id: a.dataset.id,
             name: a.querySelector('.fa-item-name').textContent,
             states: [...a.querySelectorAll('.badge')].map((b) => b.textContent.trim()),
           }))"""
    )


def wait_for_states(page, expected: Callable[[list[dict]], bool], timeout_ms: int = WAIT_MS):
    """Poll "Của tôi" (without touching anything) until `expected(entries)` holds."""
    go(page, "#/mine")
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        found = page.evaluate(
            """() => [...document.querySelectorAll('#mine-list .fa-item')].map((a) => ({
                 id: a.dataset.id,
                 name: a.querySelector('.fa-item-name').textContent,
                 states: [...a.querySelectorAll('.badge')].map((b) => b.textContent.trim()),
               }))"""
        )
        if expected(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"entries never reached the expected states: {found}")
        page.wait_for_timeout(250)


def all_sent(count: int) -> Callable[[list[dict]], bool]:
    return lambda found: len(found) == count and all("Đã gửi" in e["states"] for e in found)
